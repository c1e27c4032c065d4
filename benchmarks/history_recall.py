"""Recall on a store whose facts have a history: offline extraction of one user's chat,
where facts change (the old versions stay, superseded), then recall latency and what
each memory type's vector query costs alone.

    python -m benchmarks.history_recall [--messages 3000] [--queries 100] [--adds 0]
        [--data-dir DIR]

The store is built once in DIR (kept there; a later run with the same DIR measures it
again, so two checkouts can be compared on the same store). Messages are the perf bench's
chat messages and fact-bearing messages, alternating, through `process(infer=True)` in
calls of 20. Recall is `recall(q, limit=10)` over distinct questions after 10 warm-ups;
the per-type rows time each vector query recall made for the first 10 questions, replayed
alone (30 times each, p50). `--adds N` then times N more fact-bearing messages, one a
call, and `get_all` of the user (limit 1000, 10 times) on a copy of the closed store, so
DIR stays as built. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.perf import BATCH, T0, USER
from benchmarks.synthetic import facts, memories, questions
from octomem.models import MemoryType
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.lifecycle import build_embedder
from octomem.settings import load_settings

MARK = ".history-recall"  # written once the store is whole


def build(orch: Orchestrator, count: int) -> None:
    texts = [t for pair in zip(memories(count // 2), facts(count // 2), strict=True) for t in pair]
    with tqdm(total=len(texts), desc="extract", unit="msg", leave=False) as bar:
        for start in range(0, len(texts), BATCH):
            when = T0 + timedelta(minutes=start)
            messages = [
                {"role": "user", "content": text, "timestamp": when + timedelta(seconds=i)}
                for i, text in enumerate(texts[start : start + BATCH])
            ]
            orch.process(messages, user_id=USER, session_id=f"s{start // 200}", infer=True)
            bar.update(len(messages))


def measure(orch: Orchestrator, queries: int) -> dict[str, Any]:
    vector = services_of(orch).vector
    asked = questions(queries + 10)
    for q in asked[:10]:
        orch.recall(q, user_id=USER, limit=10)
    seen: dict[MemoryType, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    real = vector.query

    async def spy(*args: Any, **kwargs: Any) -> Any:
        seen.setdefault(args[0], (args, kwargs))
        return await real(*args, **kwargs)

    vector.query = spy  # type: ignore[method-assign]
    for q in asked[10:20]:
        orch.recall(q, user_id=USER, limit=10)
    vector.query = real  # type: ignore[method-assign]
    alone = {}
    for memory_type, (args, kwargs) in sorted(seen.items()):
        times = []
        for _ in range(30):
            started = time.perf_counter()
            orch.run_sync(real(*args, **kwargs))
            times.append(1000 * (time.perf_counter() - started))
        alone[memory_type.value] = round(statistics.median(times), 2)
    wall, cpu = _p50_ms(lambda q: orch.recall(q, user_id=USER, limit=10), asked[10:])
    counts = {t.value: orch.run_sync(vector.count(t)) for t in MemoryType if t.value in alone}
    return {
        "entries": counts,
        "recall_p50_ms": wall,
        "recall_cpu_p50_ms": cpu,
        "vector_query_alone_p50_ms": alone,
    }


def _p50_ms(call: Any, args: list[Any]) -> tuple[float, float]:
    """p50 wall and CPU ms of `call(arg)` over `args`."""
    wall, cpu = [], []
    for arg in args:
        started, used = time.perf_counter(), time.process_time()
        call(arg)
        wall.append(1000 * (time.perf_counter() - started))
        cpu.append(1000 * (time.process_time() - used))
    return round(statistics.median(wall), 1), round(statistics.median(cpu), 1)


def measure_adds(data_dir: Path, embedder: Any, count: int) -> dict[str, Any]:
    """Fact adds and `get_all` on a copy of the closed store in `data_dir`."""
    with tempfile.TemporaryDirectory(prefix="octomem-history-adds-") as scratch:
        copy = Path(scratch) / "store"
        shutil.copytree(data_dir, copy)
        with Orchestrator(load_settings(data_dir=copy), embedder=embedder) as orch:
            texts = facts(count + 5, seed=99)

            def add(text: str) -> None:
                orch.process([{"role": "user", "content": text}], user_id=USER, infer=True)

            _p50_ms(add, texts[:5])  # warm-up
            add_ms = _p50_ms(add, texts[5:])
            get_all_ms = _p50_ms(lambda _: orch.get_all(user_id=USER, limit=1000), [0] * 10)
    return {
        "add_p50_ms": add_ms[0],
        "add_cpu_p50_ms": add_ms[1],
        "get_all_p50_ms": get_all_ms[0],
        "get_all_cpu_p50_ms": get_all_ms[1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--adds", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="octomem-history-"))
    embedder = build_embedder(load_settings())
    with Orchestrator(load_settings(data_dir=data_dir), embedder=embedder) as orch:
        if not (data_dir / MARK).exists():
            build(orch, args.messages)
            (data_dir / MARK).write_text("whole\n")
        result = measure(orch, args.queries)
    if args.adds:
        result |= measure_adds(data_dir, embedder, args.adds)
    print(json.dumps({"data_dir": str(data_dir), **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
