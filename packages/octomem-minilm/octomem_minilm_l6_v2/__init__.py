"""all-MiniLM-L6-v2's files for octomem's torch-free embedder (see README.md)."""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
# model.safetensors of the official sentence-transformers/all-MiniLM-L6-v2 release
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
