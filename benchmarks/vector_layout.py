"""One nearest-neighbour query over all memory types against one per type's collection
(issues 26 and 49), on the same vectors, side by side in one run.

    python -m benchmarks.vector_layout --entries 9000,90000 [--mix 41,31,28] [--queries 200]

Recall searches each memory type's Chroma collection for its candidates
(`recall.candidates`, 50), the queries side by side. The alternative is one collection of
every type, searched once for as many candidates in all; a type with fewer than its
candidates among them (a small type) is then searched again, filtered to its entries, as
it must be to find what the per-type search finds. Both layouts are built in one embedded
Chroma (temporary) from the same vectors: real MiniLM embeddings of 2,000 synthetic chat
turns, perturbed per entry (N(0, 0.02), renormalised) to fill `entries` entries of
three types shared as `--mix` says, one user. Each question (embedded once, beforehand)
is asked both ways, the first alternating; what is timed is Chroma's queries alone (in
worker threads, as recall runs them), asking for ids and distances only, as octomem does
(records come from its record cache; an id names its memory's type).
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


def measure(entries: int, mix: list[float], query_count: int) -> dict[str, float]:
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
        sizes = {t: round(entries * share / sum(mix)) for t, share in zip(TYPES, mix, strict=True)}
        for kind, size in sizes.items():
            vectors = _fill(base, size, rng)
            for start in range(0, size, BATCH):
                ids = [f"{kind}_{i}" for i in range(start, min(start + BATCH, size))]
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

        searched_again = [0]

        async def one_query(query: np.ndarray) -> None:
            found = await asyncio.to_thread(
                together.query,
                query_embeddings=[query],
                n_results=CANDIDATES * len(TYPES),
                include=["distances"],
            )
            hits = {t: 0 for t in TYPES}
            for entry_id in found["ids"][0]:
                hits[entry_id.rsplit("_", 1)[0]] += 1
            short = [t for t in TYPES if hits[t] < min(CANDIDATES, sizes[t])]
            searched_again[0] += len(short)
            await asyncio.gather(
                *(
                    asyncio.to_thread(
                        together.query,
                        query_embeddings=[query],
                        n_results=CANDIDATES,
                        where={"memory_type": t},
                        include=["distances"],
                    )
                    for t in short
                )
            )

        result = asyncio.run(_time(asked, per_type_queries, one_query))
        result["searched_again_per_query"] = searched_again[0] / (len(asked) + WARM_UP)
        return result


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
    parser.add_argument("--entries", default="9000,90000", help="entries of all types")
    parser.add_argument(
        "--mix", default="1,1,1", help=f"the shares of {', '.join(TYPES)} (e.g. 41,31,28)"
    )
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    mix = [float(n) for n in args.mix.split(",")]
    if len(mix) != len(TYPES) or min(mix) <= 0:
        parser.error(f"--mix: {len(TYPES)} positive shares, of {', '.join(TYPES)}")
    for entries in (int(n) for n in args.entries.split(",")):
        found = measure(entries, mix, args.queries)
        print(
            f"{entries} entries, mix {args.mix}: "
            + ", ".join(f"{key} {value:.2f}" for key, value in found.items())
        )


if __name__ == "__main__":
    main()
