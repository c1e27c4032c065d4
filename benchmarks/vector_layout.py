"""One nearest-neighbour query over all memory types against one per type's collection
(issue 26's lever), on the same vectors, side by side in one run.

    python -m benchmarks.vector_layout --per-type 3000,30000 [--queries 200]

Recall searches each memory type's Chroma collection for its candidates, the queries side
by side. The alternative is one collection of every type, searched once for as many
candidates in all. Both layouts are built in one embedded Chroma (temporary) from the
same vectors: real MiniLM embeddings of 2,000 synthetic chat turns, perturbed per entry
(N(0, 0.02), renormalised) to fill `per_type` entries of each of three types, one user.
Each question (embedded once, beforehand) is asked both ways, the first alternating;
what is timed is Chroma's query alone (in a worker thread, as recall runs it), asking for
ids and distances only, as octomem does (records come from its record cache; an id names
its memory's type).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

import numpy as np

from benchmarks.synthetic import memories, questions
from octomem.orchestrator.lifecycle import build_embedder
from octomem.settings import load_settings

TYPES = ("semantic", "knowledge", "episodic")
CANDIDATES = 50  # per type: recall.candidates
BATCH = 4_000
WARM_UP = 20


def _fill(base: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    picked = base[rng.integers(0, len(base), count)]
    noisy = picked + rng.normal(0, 0.02, picked.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def measure(per_type: int, query_count: int) -> dict[str, float]:
    import chromadb
    from chromadb.config import Settings

    embedder = build_embedder(load_settings())
    base = np.array(asyncio.run(embedder.embed(memories(2_000))), dtype=np.float32)
    asked = np.array(asyncio.run(embedder.embed(questions(query_count))), dtype=np.float32)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as path:
        client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
        space = {"hnsw:space": "cosine"}
        apart = {t: client.create_collection(f"per_{t}", metadata=space) for t in TYPES}
        together = client.create_collection("all_types", metadata=space)
        for kind in TYPES:
            vectors = _fill(base, per_type, rng)
            for start in range(0, per_type, BATCH):
                ids = [f"{kind}_{i}" for i in range(start, min(start + BATCH, per_type))]
                meta: list = [{"user_id": "bench-user", "memory_type": kind} for _ in ids]
                part = vectors[start : start + len(ids)]
                apart[kind].add(ids=ids, embeddings=part, metadatas=meta)
                together.add(ids=ids, embeddings=part, metadatas=meta)

        async def per_type_queries(query: np.ndarray) -> None:
            await asyncio.gather(
                *(
                    asyncio.to_thread(
                        apart[t].query,
                        query_embeddings=[query],
                        n_results=CANDIDATES,
                        include=["distances"],
                    )
                    for t in TYPES
                )
            )

        async def one_query(query: np.ndarray) -> None:
            await asyncio.to_thread(
                together.query,
                query_embeddings=[query],
                n_results=CANDIDATES * len(TYPES),
                include=["distances"],
            )

        return asyncio.run(_time(asked, per_type_queries, one_query))


async def _time(
    asked: np.ndarray,
    per_type: Callable[[np.ndarray], Awaitable[None]],
    one: Callable[[np.ndarray], Awaitable[None]],
) -> dict[str, float]:
    for query in asked[:WARM_UP]:
        await per_type(query)
        await one(query)
    took: dict[str, list[float]] = {"per_type": [], "one": []}
    for n, query in enumerate(asked):
        ways = [("per_type", per_type), ("one", one)]
        for name, way in ways if n % 2 == 0 else reversed(ways):
            start = time.perf_counter()
            await way(query)
            took[name].append((time.perf_counter() - start) * 1000)
    result = {f"{name}_p50_ms": statistics.median(ms) for name, ms in took.items()}
    result |= {f"{name}_mean_ms": statistics.mean(ms) for name, ms in took.items()}
    result["one/per_type_p50"] = result["one_p50_ms"] / result["per_type_p50_ms"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-type", default="3000,30000", help="entries of each type")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    for per_type in (int(n) for n in args.per_type.split(",")):
        found = measure(per_type, args.queries)
        print(
            f"{per_type} per type ({3 * per_type} in all): "
            + ", ".join(f"{key} {value:.2f}" for key, value in found.items())
        )


if __name__ == "__main__":
    main()
