"""Another user's recall while one user's large message is processed on the same
Orchestrator: `--chars` characters of synthetic sentences in one message (offline
extraction), and the other user (200 memories) recalling in a loop until it is done.

    python -m benchmarks.recall_during_call [--chars 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time

from benchmarks.synthetic import memories
from octomem import Orchestrator


def main(chars: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        orch = Orchestrator.from_config(data_dir=data_dir)
        orch.process([{"role": "user", "content": t} for t in memories(200)], user_id="b")
        text = " ".join(memories(2000, seed=3))[:chars]
        done, ms = threading.Event(), []

        def large() -> None:
            orch.process(text, user_id="a")
            done.set()

        started_all = time.perf_counter()
        worker = threading.Thread(target=large)
        worker.start()
        while not done.is_set():
            started = time.perf_counter()
            orch.recall("what did I do last weekend?", user_id="b")
            ms.append(1000 * (time.perf_counter() - started))
        worker.join()
        print(
            f"large message {time.perf_counter() - started_all:.1f} s; recall during it: "
            f"p50 {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms ({len(ms)} recalls)"
        )
        orch.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=100_000)
    main(parser.parse_args().chars)
