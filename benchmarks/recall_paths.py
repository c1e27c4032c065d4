"""Recall latency through the LangGraph recall graph and through the direct path.

`python -m benchmarks.recall_paths [--size 1000] [--queries 200]`: one user with
`size` synthetic memories (raw turns, as `python -m benchmarks perf` stores them), then every
question recalled both ways, alternating which goes first, on the same loop and stores:
`Orchestrator.recall_graph.ainvoke` (what LangGraph Studio runs) and `Orchestrator.arecall`
(the same steps without the graph runtime). Prints p50/p95 in ms per path.
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


def measure(size: int, queries: int, root: Path) -> dict[str, list[float]]:
    with Orchestrator(load_settings(data_dir=root / "octomem")) as orch:
        ingest(orch, memories(size), infer=False, desc="ingest")
        graph = orch.recall_graph

        async def through_graph(query: str) -> Any:
            return await graph.ainvoke({"query": query, "user_id": USER, "limit": 10})

        async def direct(query: str) -> Any:
            return await orch.arecall(query, user_id=USER, limit=10)

        paths: dict[str, Callable[[str], Coroutine[Any, Any, Any]]] = {
            "graph": through_graph,
            "direct": direct,
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        asked = questions(queries)
        for run in paths.values():  # warm-up
            orch.run_sync(run(asked[0] + " warm-up"))
        for i, query in enumerate(asked):
            order = list(paths) if i % 2 == 0 else list(reversed(paths))
            for name in order:
                started = time.perf_counter()
                orch.run_sync(paths[name](query))
                times[name].append(1000 * (time.perf_counter() - started))
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        times = measure(options.size, options.queries, Path(root))
    for name, values in times.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"{name:>6}: recall p50 {p50:.2f} ms, p95 {p95:.2f} ms ({len(values)} queries)")


if __name__ == "__main__":
    main()
