"""What the retry policies around every store call cost (`octomem/retries.py`), in one
process: a call through a policy against the `asyncio.to_thread` every Chroma call makes
anyway (a coroutine that returns at once, `--calls` times), then recall with the
shipped Chroma policy against a pass-through, alternating per round (`--memories` raw
turns of one user, 200 recalls a round, the first round a warm-up).

    python -m benchmarks.retry_cost [--calls 20000] [--memories 5000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from typing import Any

from benchmarks.synthetic import memories, questions
from octomem import Orchestrator, retries


async def _returns() -> int:
    return 1


async def per_call(n: int) -> None:
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            await retries.chroma_call(15.0, lambda e: False, print)(_returns)
        policy = (time.perf_counter() - started) / n * 1e6
        started = time.perf_counter()
        for _ in range(n):
            await asyncio.to_thread(int)
        thread = (time.perf_counter() - started) / n * 1e6
        print(f"through a policy {policy:.1f} us a call, one to_thread {thread:.1f} us")


class _Direct:
    async def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await fn(*args, **kwargs)


def recall_ab(size: int, rounds: int) -> None:
    shipped = retries.chroma_call
    with tempfile.TemporaryDirectory() as data_dir:
        orch = Orchestrator.from_config(data_dir=data_dir)
        texts = memories(size)
        for i in range(0, len(texts), 250):
            batch = [{"role": "user", "content": t} for t in texts[i : i + 250]]
            orch.process(batch, user_id="u", infer=False)
        qs = questions(200)
        try:
            for rnd in range(1, rounds + 1):
                for label, policy in (("policy", shipped), ("direct", lambda *a, **k: _Direct())):
                    retries.chroma_call = policy  # type: ignore[assignment]
                    ms = []
                    for q in qs:
                        started = time.perf_counter()
                        orch.recall(q, user_id="u", limit=10)
                        ms.append(1000 * (time.perf_counter() - started))
                    print(f"round {rnd} {label}: recall p50 {statistics.median(ms):.2f} ms")
        finally:
            retries.chroma_call = shipped
            orch.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--memories", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(per_call(args.calls))
    recall_ab(args.memories, args.rounds)
