"""Recall and process latency through the LangGraph graphs and through the direct path.

`python -m benchmarks.recall_paths [--size 1000] [--queries 200] [--adds 200]`: one user
with `size` synthetic memories (raw turns, as `python -m benchmarks perf` stores them),
then every question recalled both ways, alternating which goes first, on the same loop and
stores: `Orchestrator.recall_graph.ainvoke` (what LangGraph Studio runs) and
`Orchestrator.arecall` (the same steps without the graph runtime); then `adds` new
messages processed both ways the same way (`process_graph.ainvoke` and `aprocess`,
offline extraction). Prints p50/p95 in ms per path.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from benchmarks.perf import USER, ingest, percentile
from benchmarks.synthetic import memories, questions
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings

Path_ = Callable[[str], Coroutine[Any, Any, Any]]


def measure(size: int, queries: int, adds: int, root: Path) -> dict[str, dict[str, list[float]]]:
    """Per call ("recall", "process"), per path ("graph", "direct"), the times in ms."""
    with Orchestrator(load_settings(data_dir=root / "octomem")) as orch:
        ingest(orch, memories(size), infer=False, desc="ingest")
        recall_graph, process_graph = orch.recall_graph, orch.process_graph

        async def recall_through_graph(query: str) -> Any:
            return await recall_graph.ainvoke({"query": query, "user_id": USER, "limit": 10})

        async def recall_direct(query: str) -> Any:
            return await orch.arecall(query, user_id=USER, limit=10)

        async def process_through_graph(text: str) -> Any:
            return await process_graph.ainvoke({"messages": text, "user_id": USER})

        async def process_direct(text: str) -> Any:
            return await orch.aprocess(text, user_id=USER)

        new = memories(size + 2 * adds)[size:]
        return {
            "recall": _alternating(
                orch, {"graph": recall_through_graph, "direct": recall_direct}, questions(queries)
            ),
            "process": _alternating(
                orch, {"graph": process_through_graph, "direct": process_direct}, new, shared=False
            ),
        }


def _alternating(
    orch: Orchestrator, paths: dict[str, Path_], texts: list[str], *, shared: bool = True
) -> dict[str, list[float]]:
    """Each path timed on each text (`shared`), or on texts of its own (a message processed
    twice would store nothing the second time), alternating which goes first, after one
    warm-up call each."""
    names = list(paths)
    rounds = len(texts) if shared else len(texts) // len(names)
    times: dict[str, list[float]] = {name: [] for name in names}
    for name, run in paths.items():  # warm-up, each on a text of its own
        orch.run_sync(run(f"{texts[0]} warm-up {name}"))
    for i in range(rounds):
        order = names if i % 2 == 0 else list(reversed(names))
        for name in order:
            text = texts[i] if shared else texts[len(names) * i + names.index(name)]
            started = time.perf_counter()
            orch.run_sync(paths[name](text))
            times[name].append(1000 * (time.perf_counter() - started))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--adds", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        measured = measure(options.size, options.queries, options.adds, Path(root))
    for call, times in measured.items():
        for name, values in times.items():
            p50, p95 = percentile(values, 50), percentile(values, 95)
            print(f"{name:>6}: {call} p50 {p50:.2f} ms, p95 {p95:.2f} ms ({len(values)} calls)")


if __name__ == "__main__":
    main()
