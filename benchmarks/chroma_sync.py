"""Chroma's cost of a write by how many entries its vector index takes between syncs to
disk (`hnsw.sync_threshold`; octomem's `stores.chroma.SYNC_THRESHOLD`): a collection of
`--entries` random 384-dimensional vectors written in batches of 128, then single writes,
then nearest-neighbour queries, for each threshold in turn.

    python -m benchmarks.chroma_sync [--entries 100000] [--thresholds 1000,300,100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import chromadb
import numpy as np

BATCH = 128


def measure(entries: int, threshold: int, path: str, singles: int = 1000) -> dict[str, float]:
    """Seconds for the bulk writes; ms per single write and per query."""
    rng = np.random.default_rng(0)
    client = chromadb.PersistentClient(path=path)
    hnsw: Any = {"space": "cosine", "sync_threshold": threshold}
    collection = client.get_or_create_collection("bench", configuration={"hnsw": hnsw})
    started = time.perf_counter()
    for start in range(0, entries, BATCH):
        ids = [f"b{n}" for n in range(start, min(start + BATCH, entries))]
        vectors = rng.random((len(ids), 384)).tolist()
        metadatas: Any = [{"k": "v", "a": "b" * 500}] * len(ids)  # a record's JSON, about
        collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas)
    bulk = time.perf_counter() - started
    single = []
    for n in range(singles):
        started = time.perf_counter()
        vector, metadata = rng.random(384).tolist(), {"k": "v", "a": "b" * 2000}
        collection.upsert(ids=[f"s{n}"], embeddings=[vector], metadatas=[metadata])
        single.append(1000 * (time.perf_counter() - started))
    query = []
    for _ in range(100):
        started = time.perf_counter()
        collection.query(query_embeddings=[rng.random(384).tolist()], n_results=10)
        query.append(1000 * (time.perf_counter() - started))
    return {
        "bulk_s": bulk,
        "single_ms": statistics.fmean(single),
        "query_ms": statistics.fmean(query),
    }


def run(
    entries: int,
    thresholds: Sequence[int],
    *,
    singles: int = 1000,
    echo: Callable[[str], Any] = print,
) -> dict[int, dict[str, float]]:
    results = {}
    echo(f"Chroma, {entries} entries: bulk writes (s), a single write (ms), a query (ms)")
    echo("| sync_threshold | bulk s | single write ms | query ms |")
    echo("|---|---|---|---|")
    for threshold in thresholds:
        with tempfile.TemporaryDirectory() as tmp:  # a client per path: one per threshold
            row = results[threshold] = measure(entries, threshold, tmp, singles)
        echo(
            f"| {threshold} | {row['bulk_s']:.1f} | {row['single_ms']:.2f} | "
            f"{row['query_ms']:.2f} |"
        )
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--thresholds", default="1000,300,100")
    args = parser.parse_args(argv)
    run(args.entries, [int(t) for t in args.thresholds.split(",")])


if __name__ == "__main__":
    main()
