"""bge-small-en-v1.5 (int8 ONNX) and its tokenizer for octomem's local embedder (see README.md)."""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
ONNX_FILE = "model_quantized.onnx"
# Xenova/bge-small-en-v1.5 onnx/model_quantized.onnx (Hugging Face's int8 conversion of
# BAAI's weights) at revision ea104dacec62c0de699686887e3f920caeb4f3e3
ONNX_SHA256 = "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4"
# BAAI/bge-small-en-v1.5 tokenizer.json at revision 5c38ec7c405ec4b44b94cc5a9bb96e735b38267a
TOKENIZER_SHA256 = "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66"
