"""`python -m benchmarks.browse_pages --memories 100000 --data-dir D`: what a page of a
large user costs - the inspector's user page, `Orchestrator.browse`, beside `get_all`.

One user ("bulk") gets `--memories` raw turns (`process(..., infer=False)`, 1,000 a call)
in `--data-dir` unless it holds them already (a second run reuses them). Then each read
runs `--repeat` times and the best time is printed: browse's first, second, middle and
last page of 50 (current, then all), the user's counts alone (`users()`), and
`get_all` of the user's episodic memories (what the page read before). Default
settings, embedded stores.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

USER = "bulk"
BATCH = 1000


def seed(orch: Any, memories: int) -> None:
    have = orch.browse(user_id=USER, memory_type="episodic", limit=1).total
    started = time.perf_counter()
    for start in range(have, memories, BATCH):
        turns = [
            {"role": "user", "content": f"Garden log {n}: watered bed {n % 37}."}
            for n in range(start, min(memories, start + BATCH))
        ]
        orch.process(turns, user_id=USER, infer=False)
        done = min(memories, start + BATCH)
        print(f"\rseeded {done:,} of {memories:,} ({time.perf_counter() - started:.0f} s)", end="")
    if have < memories:
        print()


def best(repeat: int, call: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from octomem import Orchestrator

    with Orchestrator.from_config(data_dir=args.data_dir) as orch:
        seed(orch, args.memories)
        total = orch.browse(user_id=USER, memory_type="episodic", limit=1).total
        pages = max(1, -(-total // 50))
        print(f"user {USER!r}: {total:,} episodic memories, {pages:,} pages of 50")
        for status in ("current", "all"):
            for number in sorted({1, 2, pages // 2, pages}):

                def page(number: int = number, status: Any = status) -> None:
                    orch.browse(
                        user_id=USER,
                        memory_type="episodic",
                        status=status,
                        offset=(number - 1) * 50,
                        limit=50,
                    )

                print(
                    f"browse {status:7} page {number:>6,}: {best(args.repeat, page) * 1000:8.0f} ms"
                )
        print(f"users() (every user's count): {best(args.repeat, orch.users) * 1000:8.0f} ms")

        def everything() -> None:
            orch.get_all(user_id=USER, memory_types=["episodic"], include_superseded=True)

        print(f"get_all of the user's episodic: {best(args.repeat, everything) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
