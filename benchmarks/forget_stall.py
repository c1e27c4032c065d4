"""What a forget costs, and how long it holds up another user's recall.

`python -m benchmarks.forget_stall [--turns 1000] [--other 200]`: a user who said
`turns` messages and another who said `other` (both processed offline) on one embedded
Orchestrator;
the other user's recall runs in a loop in a second thread while the first is forgotten.
Prints the forget's duration, and the other user's recall latency (p50, max) before and
during it.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.perf import percentile
from benchmarks.synthetic import memories
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings


def measure(turns: int, other: int, root: Path) -> dict[str, float]:
    with Orchestrator(load_settings(data_dir=root / "octomem")) as orch:
        for user, texts in (("zoe", memories(turns, seed=3)), ("bob", memories(other, seed=7))):
            for start in range(0, len(texts), 100):
                chunk = texts[start : start + 100]
                orch.process([{"role": "user", "content": t} for t in chunk], user_id=user)
        latencies: list[tuple[float, float]] = []  # (start, ms)
        stop = threading.Event()

        def recall_loop() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                orch.recall("where do I live?", user_id="bob")
                latencies.append((started, 1000 * (time.perf_counter() - started)))

        thread = threading.Thread(target=recall_loop)
        thread.start()
        time.sleep(2.0)
        began = time.perf_counter()
        orch.forget(user_id="zoe")
        ended = time.perf_counter()
        time.sleep(0.5)
        stop.set()
        thread.join()
        before = [ms for at, ms in latencies if at + ms / 1000 < began]
        during = [ms for at, ms in latencies if at < ended and at + ms / 1000 > began]
        return {
            "forget_s": ended - began,
            "recall_p50_before_ms": percentile(before, 50),
            "recall_max_before_ms": max(before),
            "recall_p50_during_ms": percentile(during, 50) if during else 0.0,
            "recall_max_during_ms": max(during, default=0.0),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--other", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        result = measure(options.turns, options.other, Path(root))
    for name, value in result.items():
        print(f"{name:24} {value:10.2f}")


if __name__ == "__main__":
    main()
