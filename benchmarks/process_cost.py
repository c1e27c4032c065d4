"""The cost of one large `process` call, and the stall it causes another user's recall.

`python -m benchmarks.process_cost [--sizes 250,500,1000,2000] [--json PATH]`

Per size N, on fresh stores: a second user ("other") first gets `--other` synthetic
messages (raw turns) and recalls once to warm up; then one `process()` of N short
fact-bearing chat messages (`synthetic.facts`: "My friend Nora Lopez works at Intel.",
"I live in Porto."; offline extraction: every agent's rules, reconcile and the journaled
writes) runs for the user "big" in a thread, while the main thread recalls for "other"
in a loop, on the same Orchestrator (so on the same event loop and stores), with distinct
questions. Reports, per N:

- `call_s`: seconds for the one `process` call; `ms_per_msg`: that over N (flat when
  the cost is linear in N);
- `idle_p50_ms`: the other user's recall with nothing else running (before the call);
- `recall_p50_ms`, `recall_p95_ms`, `recall_max_ms`: the other user's recall while the
  call runs, and `recalls`: how many completed during it.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.perf import percentile
from benchmarks.report import machine, markdown_table, write_json
from benchmarks.synthetic import facts, memories, questions
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
IDLE_RECALLS = 30
COLUMNS = (
    "call_s",
    "ms_per_msg",
    "idle_p50_ms",
    "recall_p50_ms",
    "recall_p95_ms",
    "recall_max_ms",
    "recalls",
)


def messages(texts: list[str]) -> list[dict[str, Any]]:
    """User messages a minute apart."""
    return [
        {"role": "user", "content": text, "timestamp": T0 + timedelta(minutes=i)}
        for i, text in enumerate(texts)
    ]


def _timed_recall(orch: Orchestrator, query: str) -> float:
    started = time.perf_counter()
    orch.recall(query, user_id="other", limit=10)
    return 1000 * (time.perf_counter() - started)


def measure(size: int, root: Path, *, other: int = 200) -> dict[str, float]:
    """One `process` of `size` messages while another user recalls in a loop."""
    settings = load_settings(data_dir=root / f"size-{size}")
    with Orchestrator(settings) as orch:
        orch.process(messages(memories(other, seed=5)), user_id="other", infer=False)
        asked = iter(questions(IDLE_RECALLS + 100_000, seed=13))
        _timed_recall(orch, "warm-up: what did I do last weekend?")
        idle = [_timed_recall(orch, next(asked)) for _ in range(IDLE_RECALLS)]
        batch = messages(facts(size))
        done = threading.Event()
        elapsed: list[float] = []
        failed: list[BaseException] = []

        def big_call() -> None:
            started = time.perf_counter()
            try:
                orch.process(batch, user_id="big", session_id="one-call")
            except BaseException as exc:  # reported by the main thread
                failed.append(exc)
            finally:
                elapsed.append(time.perf_counter() - started)
                done.set()

        worker = threading.Thread(target=big_call, name="big-process")
        worker.start()
        during: list[float] = []
        while not done.is_set():
            latency = _timed_recall(orch, next(asked))
            if not done.is_set():  # only recalls that overlapped the call count
                during.append(latency)
        worker.join()
        if failed:
            raise failed[0]
    during = during or [0.0]
    return {
        "call_s": round(elapsed[0], 2),
        "ms_per_msg": round(1000 * elapsed[0] / size, 2),
        "idle_p50_ms": round(percentile(idle, 50), 1),
        "recall_p50_ms": round(percentile(during, 50), 1),
        "recall_p95_ms": round(percentile(during, 95), 1),
        "recall_max_ms": round(max(during), 1),
        "recalls": len(during),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,500,1000,2000", help="comma-separated N")
    parser.add_argument("--other", type=int, default=200, help="the other user's messages")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here too")
    options = parser.parse_args(argv)
    sizes = [int(s) for s in options.sizes.split(",") if s.strip()]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="octomem-process-cost-") as root:
        for size in sizes:
            figures = measure(size, Path(root), other=options.other)
            print(f"N={size}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
            rows += [
                {"system": "octomem", "size": size, "metric": k, "value": v}
                for k, v in figures.items()
            ]
    value = {(r["size"], r["metric"]): r["value"] for r in rows}
    print(
        markdown_table(
            ["N", *COLUMNS], [[f"{s:,}", *(value[(s, c)] for c in COLUMNS)] for s in sizes]
        )
    )
    if options.json is not None:
        write_json(options.json, rows, benchmark="process_cost", machine=machine())


if __name__ == "__main__":
    main()
