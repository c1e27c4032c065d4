"""all-MiniLM-L6-v2's files for octomem's torch-free embedder (see README.md)."""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
# model.safetensors of the official sentence-transformers/all-MiniLM-L6-v2 release
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# model.onnx, the graph export_onnx.py writes at build time (its weights: model.safetensors)
ONNX_FILE = "model.onnx"
ONNX_SHA256 = "851e2c0b6602e1178588134547a2adcf6f900ebd610a7017e0780a706ec6c1ff"
# model_int8.onnx, the same graph with its linear layers' weights quantized to int8 (in the
# file; its other weights: model.safetensors), the one octomem runs on ONNX Runtime
INT8_FILE = "model_int8.onnx"
INT8_SHA256 = "4ec05c9dab012644b132dc2a38010d1f4d084ea50277ee3d46c94992a1d2674e"
