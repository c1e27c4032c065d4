"""Compare the shipped model.onnx with the graph octomem built at first start before, and
with sentence-transformers: the max abs difference of their vectors on a fixed set of texts;
and the vectors of model_int8.onnx, the graph octomem runs, with sentence-transformers'.

    python packages/octomem-minilm/check_export.py [--before COMMIT]

Run from octomem's repository, in its dev environment (`make install-dev`: torch and
sentence-transformers) with the `onnx` package added (`pip install onnx`: the old builder
needs it), and the octomem-minilm-l6-v2 wheel built from this folder installed. `--before`
names a commit whose octomem built the graph at first start (default: the last one); its
octomem package is taken out with `git archive` into a temp dir and run there, in a
process of its own, with an empty cache dir - the builder never enters the wheel.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BEFORE = "e4cc58ce1d57f42af5c6ffcb434d193fd031f2f6"  # the last commit with embeddings_bert.py
LONG = " ".join(f"Sentence {i} says something about topic {i % 7}." for i in range(60))
TEXTS = [
    "hello",
    "",
    "   ",
    "\n\t",
    ".",
    "Alice moved to Paris in 2023.",
    "I'm allergic to peanuts!!! (don't forget) — 100% sure; email: a@b.co",
    LONG,  # > 256 tokens: truncated
    LONG[:500],
    "word " * 255,  # just under, at and over the truncation length
    "word " * 256,
    "word " * 400,
    "x" * 3000,
    "Café, naïve, 東京 🙂",
    "Привет, как дела? Я переехал в Берлин.",
    "مرحبا، انتقلت إلى القاهرة الشهر الماضي",
    "मैं अगले साल मुंबई जा रहा हूँ",
    "東京タワーの近くに住んでいます。ラーメンが好きです。",
    "서울에서 커피를 마셨어요",
    "Ελληνικά: Η Αθήνα είναι όμορφη",
    "🙂🙂🙂 😀 👍🏽",
]
# run in the octomem package's folder: argv = texts.json, out.npy, backend[, onnx_cache_dir]
EMBED = """
import asyncio, json, sys
import numpy as np
from octomem.embeddings import LocalEmbedder
texts = json.loads(open(sys.argv[1], encoding="utf-8").read())
cache = {"onnx_cache_dir": sys.argv[4]} if len(sys.argv) > 4 else {}
if sys.argv[3] == "float32":  # the package's float32 graph, which octomem does not run
    import octomem_minilm_l6_v2 as package
    from octomem.embeddings_onnx import OnnxEncoder
    encoder = OnnxEncoder(package.MODEL_DIR / package.ONNX_FILE, package.MODEL_DIR)
    batched = encoder.encode(texts)
    singles = [encoder.encode([text])[0] for text in texts]
else:
    embedder = LocalEmbedder(backend=sys.argv[3], **cache)
    batched = asyncio.run(embedder.embed(texts))
    singles = [asyncio.run(embedder.embed([text]))[0] for text in texts]
    assert embedder.active_backend == sys.argv[3], embedder.active_backend
np.save(sys.argv[2], np.array([batched, singles], dtype=np.float32))
"""


def embed(octomem_root: Path, backend: str, tmp: Path, *cache: str) -> np.ndarray:
    """[batched, one text a call] vectors of TEXTS by the octomem package in octomem_root,
    in a process of its own."""
    texts, out = tmp / "texts.json", tmp / f"{backend}-{octomem_root.name}.npy"
    texts.write_text(json.dumps(TEXTS), "utf-8")
    command = [sys.executable, "-c", EMBED, str(texts), str(out), backend, *cache]
    subprocess.run(command, check=True, cwd=octomem_root)
    return np.load(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="a commit that built the graph")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old_root = Path(tmp) / "before"
        old_root.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.before, "octomem"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_root)], input=archive, check=True)
        cache = Path(tmp) / "cache"
        built = embed(old_root, "onnx", Path(tmp), str(cache))  # today's graph, built
        assert list(cache.glob("*.onnx")), "the old octomem built no graph"
        shipped = embed(REPO, "float32", Path(tmp))
        int8 = embed(REPO, "onnx", Path(tmp))
        torch = embed(REPO, "torch", Path(tmp))
    tokens = _token_count(LONG)
    print(f"{len(TEXTS)} texts (the longest {tokens} tokens, truncated at 256)")
    print("max abs difference of the vectors (batched / one text a call):")
    for name, a, b in [
        ("shipped model.onnx vs the graph built at first start", shipped, built),
        ("shipped model.onnx vs sentence-transformers (torch)", shipped, torch),
        ("the graph built at first start vs sentence-transformers", built, torch),
    ]:
        batched, single = (float(np.abs(a[i] - b[i]).max()) for i in (0, 1))
        print(f"  {name}: {batched:.3g} / {single:.3g}")
    cosines = np.sum(int8[0] * torch[0], axis=1)
    print(
        f"model_int8.onnx vs sentence-transformers: max abs difference "
        f"{float(np.abs(int8[0] - torch[0]).max()):.3g}, cosine min {cosines.min():.4f}, "
        f"mean {cosines.mean():.4f}; batched vs one text a call "
        f"{float(np.abs(int8[0] - int8[1]).max()):.3g}"
    )


def _token_count(text: str) -> int:
    import octomem_minilm_l6_v2
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(octomem_minilm_l6_v2.MODEL_DIR / "tokenizer.json"))
    tokenizer.no_truncation()
    return len(tokenizer.encode(text).ids)


if __name__ == "__main__":
    main()
