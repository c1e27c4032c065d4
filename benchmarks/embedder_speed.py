"""The local embedders side by side in one process: per model and backend, the load and
first call, then per round one query at a time (p50 of `--queries` distinct questions)
and the same questions as memory texts in batches of 20; with `--data` (LoCoMo's JSON)
also 400 of its turns in one call, and one padded batch against the length groups the
ONNX backend runs (LoCoMo's turns, each with the turn before it as stored, in batches
of 20; `embeddings_onnx.CALL_COST` set out of reach pads a batch to its longest text).

    python -m benchmarks.embedder_speed                                  # onnx and torch
    python -m benchmarks.embedder_speed --backends onnx --rounds 3 \\
        --models all-MiniLM-L6-v2,bge-small-en-v1.5 --data ../shared/bench/locomo_dev.json
    python -m benchmarks.embedder_speed --backends onnx --threads auto,1 --rounds 3
    python -m benchmarks.embedder_speed --backends onnx,onnx-float32 --rounds 3

`--threads`: `embedder.threads` values to compare (auto: unset); each query's CPU time
(every thread of the process) is reported beside its wall time. Backend `onnx-float32`:
all-MiniLM-L6-v2's float32 graph (`model.onnx` of its package) where `onnx` runs its int8
graph.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import octomem.embeddings_onnx as onnx
from benchmarks.synthetic import questions
from octomem.embeddings import LocalEmbedder


def _turns(data: Path) -> list[str]:
    conv = json.loads(data.read_text())[0]["conversation"]
    return [
        f"{t['speaker']}: {t['text']}"
        for key, value in conv.items()
        if key.startswith("session_") and isinstance(value, list)
        for t in value
    ]


def _float32_dir(into: Path) -> Path:
    """The MiniLM package's files linked into `into`, but for its int8 graph: a model
    directory whose ONNX file is the float32 `model.onnx`."""
    import octomem_minilm_l6_v2 as package

    for file in package.MODEL_DIR.rglob("*"):
        if file.is_file() and file.name != package.INT8_FILE:
            link = into / file.relative_to(package.MODEL_DIR)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file)
    return into


async def _per_s(embedder: LocalEmbedder, texts: list[str], batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        await embedder.embed(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    qs = questions(args.queries)
    texts = [f"{q} and some more words to make a longer memory text" for q in qs]
    turns = _turns(args.data) if args.data else []
    embedders = {}
    for model in args.models.split(","):
        for backend in args.backends.split(","):
            for threads in args.threads.split(","):
                label = f"{model} {backend}" + (
                    f" threads={threads}" if "," in args.threads else ""
                )
                own: dict[str, Any] = {}
                if backend == "onnx-float32":
                    import octomem_minilm_l6_v2 as package

                    folder = _float32_dir(Path(tempfile.mkdtemp()))
                    own = {"model_dir": folder, "expected_sha256": package.ONNX_SHA256}
                embedder = LocalEmbedder(
                    model,
                    backend=backend.removesuffix("-float32"),  # type: ignore[arg-type]
                    threads=None if threads == "auto" else int(threads),
                    **own,
                )
                started = time.perf_counter()
                await embedder.embed(["warm up"] * 3)
                print(f"{label}: load + first call {time.perf_counter() - started:.2f} s")
                embedders[label] = embedder
    for rnd in range(1, args.rounds + 1):
        for label, embedder in embedders.items():
            ms, cpu = [], time.process_time()
            for q in qs:
                started = time.perf_counter()
                await embedder.embed([f"{q} ({rnd})"])  # new to the model's caches
                ms.append(1000 * (time.perf_counter() - started))
            cpu_ms = 1000 * (time.process_time() - cpu) / len(qs)
            line = (
                f"round {rnd} {label}: query p50 {statistics.median(ms):.2f} ms "
                f"(CPU {cpu_ms:.2f} ms), "
                f"batches of 20 {await _per_s(embedder, texts, 20):.0f} texts/s"
            )
            if turns:
                line += f", 400 turns in one call {await _per_s(embedder, turns[:400], 400):.0f}"
            print(line)
    if turns and "onnx" in args.backends.split(","):
        pairs = [f"{a}\n{b} " for a, b in zip(turns, turns[1:], strict=False)]  # no cache hits
        embedder = next(e for label, e in embedders.items() if label.endswith(" onnx"))
        shipped = onnx.CALL_COST
        for label, cost in (("one padded batch", 10**9), ("length groups", shipped)) * 2:
            onnx.CALL_COST = cost
            pairs = [f"{t} " for t in pairs]
            print(f"LoCoMo turns, {label}: {await _per_s(embedder, pairs, 20):.0f} texts/s")
        onnx.CALL_COST = shipped


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="all-MiniLM-L6-v2")
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument("--threads", default="auto", help="e.g. auto,1")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", type=Path, default=None, help="LoCoMo's JSON (its turns)")
    asyncio.run(main(parser.parse_args()))
