"""A worker process for the server-mode tests: opens octomem on a Chroma server and a Bolt
graph server, waits for a start signal, then moves each user to several cities at once.

    python tests/server_worker.py '{"data_dir": ..., "vector": {...}, "graph": {...},
        "go": "/path/of/the/start/signal", "work": [["user", ["Lisbon", ...]], ...]}'
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from octomem import Orchestrator


def main() -> None:
    spec = json.loads(sys.argv[1])
    settings = {k: v for k, v in spec.items() if k not in ("go", "work")}
    orch = Orchestrator.from_config(**settings)
    orch.get_all(user_id="warm-up")  # open every store before the start signal
    print("ready", flush=True)
    go = Path(spec["go"])
    while not go.exists():
        time.sleep(0.01)
    for user, cities in spec["work"]:
        with ThreadPoolExecutor(len(cities)) as pool:
            moves = [pool.submit(orch.process, f"I moved to {c}.", user_id=user) for c in cities]
            for move in moves:
                move.result()
    orch.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
