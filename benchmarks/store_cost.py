"""The LangGraph store adapter against LangGraph's own `InMemoryStore`, in one run: what a
put and a search cost in each, with the same MiniLM embedder, and the ratios.

    python -m benchmarks store [--items 300] [--queries 100] [--mode async|sync]
                               [--ranking hybrid|vector] [--json out.json]
    python -m benchmarks.store_cost [same options]

`OctomemStore` runs on a fresh embedded Orchestrator; `InMemoryStore` gets
``index={"embed": <octomem's embedder>, "dims": 384}``. Each store has an embedder cache of
its own over the one loaded model, so neither profits from the other's embeddings; every
text and query is new to both. Items are short chat-like documents
(``{"text": ..., "kind": ..., "n": ...}``) spread over four namespaces, three of them one
user's (``("memories", user)``) and one shared (``("docs", "team")``); then searches with a
query under one namespace, without and with a filter, and under ``("memories",)`` (three
users at once). Each op is timed on both stores back to back, which one goes first
alternating, so that noise on a shared machine hits both alike. Only the ratios are meant
to be compared across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from benchmarks.perf import percentile
from benchmarks.synthetic import memories, questions
from octomem.embeddings import CachedEmbedder, Embedder
from octomem.langgraph import OctomemStore
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.lifecycle import build_embedder
from octomem.settings import load_settings

USERS = ("ana", "ben", "cy")
KINDS = ("note", "event", "preference")
NAMESPACES = [("memories", u) for u in USERS] + [("docs", "team")]
SYSTEMS = ("octomem", "langgraph")


class SameEmbeddings(Embeddings):
    """octomem's embedder as LangChain `Embeddings`, for `InMemoryStore(index=...)`."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return asyncio.run(self.embedder.embed(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await self.embedder.embed(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.embedder.embed([text]))[0]


def workload(items: int, queries: int) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """The puts (namespace, key, value) and the searches (keyword arguments of `search`)."""
    texts = memories(items, seed=23)
    puts = [
        (NAMESPACES[n % len(NAMESPACES)], f"item-{n}", {"text": t, "kind": KINDS[n % 3], "n": n})
        for n, t in enumerate(texts)
    ]
    searches: list[dict[str, Any]] = []
    for n, query in enumerate(questions(queries, seed=29)):
        shape = n % 4
        if shape == 3:
            searches.append({"prefix": ("memories",), "query": query, "limit": 10})
            continue
        search: dict[str, Any] = {"prefix": NAMESPACES[n % len(NAMESPACES)], "query": query}
        if shape == 1:
            search["filter"] = {"kind": KINDS[n % 3]}
        searches.append({**search, "limit": 10})
    return puts, searches


class Runner:
    """One store through its async methods, or its sync ones run off the event loop."""

    def __init__(self, store: BaseStore, mode: str) -> None:
        self.store, self.mode = store, mode

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(getattr(self.store, name), *args, **kwargs)
        return await getattr(self.store, f"a{name}")(*args, **kwargs)


async def _pair(
    n: int, stores: dict[str, Runner], call: tuple[Any, ...], out: dict[str, list[float]]
) -> None:
    """`call` (method name, arguments, keyword arguments) on both stores, the first of them
    alternating with `n`; milliseconds each into `out`."""
    name, args, kwargs = call
    order = SYSTEMS if n % 2 == 0 else SYSTEMS[::-1]
    for system in order:
        started, cpu = time.perf_counter(), time.process_time()
        await stores[system].call(name, *args, **kwargs)
        out[system].append(1000 * (time.perf_counter() - started))
        out[f"{system}_cpu"].append(1000 * (time.process_time() - cpu))


async def measure(
    orch: Orchestrator,
    embedder: Embedder,
    *,
    items: int,
    queries: int,
    mode: str,
    ranking: Literal["hybrid", "vector"] = "hybrid",
) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per op, per kind of op ("put", "search", "search_filter",
    "search_users") and system (`ranking`: the OctomemStore's)."""
    inner = getattr(embedder, "inner", embedder)
    theirs = SameEmbeddings(CachedEmbedder(inner))
    stores = {
        "octomem": Runner(OctomemStore(orch, ranking=ranking), mode),
        "langgraph": Runner(InMemoryStore(index={"embed": theirs, "dims": inner.dimension}), mode),
    }
    # warm-up, outside the sample: the model, the stores' first writes and reads
    for system, runner in stores.items():
        await runner.call("put", ("warm",), system, {"text": f"warm-up {system}"})
        await runner.call("search", ("warm",), query=f"a warm-up query for {system}")
    puts, searches = workload(items, queries)
    times: dict[str, dict[str, list[float]]] = {}

    def sample(kind: str) -> dict[str, list[float]]:
        return times.setdefault(kind, {s: [] for s in (*SYSTEMS, *(f"{s}_cpu" for s in SYSTEMS))})

    for n, (namespace, key, value) in enumerate(puts):
        await _pair(n, stores, ("put", (namespace, key, value), {}), sample("put"))
    for n, search in enumerate(searches):
        kw = dict(search)
        prefix = kw.pop("prefix")
        kind = "search_filter" if "filter" in kw else "search"
        if len(prefix) == 1:
            kind = "search_users"
        await _pair(n, stores, ("search", (prefix,), kw), sample(kind))
    return times


def summary(times: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    rows = []
    for kind, per_system in times.items():
        mine, theirs = per_system["octomem"], per_system["langgraph"]
        p50 = percentile(mine, 50) / percentile(theirs, 50)
        mean = statistics.fmean(mine) / statistics.fmean(theirs)
        cpu = statistics.fmean(per_system["octomem_cpu"]) / statistics.fmean(
            per_system["langgraph_cpu"]
        )
        rows.append(
            {"op": kind, "n": len(mine), "p50_ratio": p50, "mean_ratio": mean, "cpu_ratio": cpu}
        )
    return rows


def run(
    items: int,
    queries: int,
    mode: str,
    json_path: Path | None = None,
    *,
    ranking: Literal["hybrid", "vector"] = "hybrid",
    echo: Callable[[str], Any] = print,
) -> list[dict[str, Any]]:
    """Measure (`measure`) on a fresh Orchestrator in a temporary directory; print the
    ratios (octomem / LangGraph) as a table."""
    embedder = build_embedder(load_settings())
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "om")
        ours = CachedEmbedder(getattr(embedder, "inner", embedder))
        with Orchestrator(settings, embedder=ours) as orch:
            work = measure(orch, ours, items=items, queries=queries, mode=mode, ranking=ranking)
            times = asyncio.run(work)
    rows = summary(times)
    echo(
        f"OctomemStore (ranking={ranking}) / InMemoryStore, {mode} API, {items} puts, "
        f"{queries} searches"
    )
    echo("| op | n | p50 ratio | mean ratio | CPU ratio |")
    echo("|---|---|---|---|---|")
    for row in rows:
        ratios = " | ".join(f"{row[k]:.2f}" for k in ("p50_ratio", "mean_ratio", "cpu_ratio"))
        echo(f"| {row['op']} | {row['n']} | {ratios} |")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)  # bench-results/ on a fresh clone
        out = {"mode": mode, "ranking": ranking, "rows": rows, "ms": times}
        json_path.write_text(json.dumps(out, indent=1))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--mode", choices=("async", "sync"), default="async")
    parser.add_argument("--ranking", choices=("hybrid", "vector"), default="hybrid")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    run(args.items, args.queries, args.mode, args.json, ranking=args.ranking)


if __name__ == "__main__":
    main()
