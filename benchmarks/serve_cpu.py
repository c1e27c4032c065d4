"""`python -m benchmarks.serve_cpu`: the CPU of the serve bench's requests, in process.

An Orchestrator of its own (default settings, a temporary data directory) gets
`benchmarks.serve`'s 1,000 memories over its users, then `--requests` calls one at a
time, the serve bench's mix (`--add-share` adds, the rest searches); the first 20 warm
up. It prints the CPU per request and per add and search (`time.process_time`: every
thread of the process, so the embedder's and the stores' worker threads count too). One
caller, so the CPU of a call is the process's while it runs. Side by side with another
tree: the same command with `PYTHONPATH` set to that tree, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from benchmarks.serve import USERS, LocalTarget, fact, seed_memories
from benchmarks.synthetic import questions

WARM = 20


async def measure(requests: int, add_share: float, seed: int = 1) -> dict[str, float]:
    from octomem.orchestrator.engine import Orchestrator
    from octomem.settings import load_settings

    rng = random.Random(seed)
    asked = questions(500)
    ops = [
        ("add", f"bench-u{rng.randrange(USERS)}", fact("cpu", i))
        if rng.random() < add_share
        else ("search", f"bench-u{rng.randrange(USERS)}", rng.choice(asked))
        for i in range(requests + WARM)
    ]
    spent = {"add": [0.0, 0], "search": [0.0, 0]}
    with (
        tempfile.TemporaryDirectory(prefix="octomem-serve-cpu-") as tmp,
        Orchestrator(load_settings(data_dir=Path(tmp))) as orch,
    ):
        target = LocalTarget(orch)
        await seed_memories(target, 1000)
        for n, (op, user, text) in enumerate(ops):
            began = time.process_time()
            if op == "add":
                await target.add(user, text)
            else:
                await target.search(user, text)
            if n >= WARM:
                spent[op][0] += time.process_time() - began
                spent[op][1] += 1
    total = spent["add"][0] + spent["search"][0]
    return {
        "cpu_ms_per_request": round(1000 * total / requests, 1),
        **{f"{op}_cpu_ms": round(1000 * s / max(c, 1), 1) for op, (s, c) in spent.items()},
        "adds": spent["add"][1],
        "searches": spent["search"][1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--add-share", type=float, default=0.2)
    args = parser.parse_args()
    print(asyncio.run(measure(args.requests, args.add_share)))


if __name__ == "__main__":
    main()
