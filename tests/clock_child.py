"""A host on the test's Chroma and Bolt servers whose clock the test shifts (run under
libfaketime: FAKETIME="+1d" or "-1d"). It says what its clock reads, then runs one
`process()` per line it is given until the line "quit".

    python tests/clock_child.py '{"data_dir": ..., "settings": {...}}'

Each line is JSON: {"text": ..., "user_id": ..., "timestamp": <ISO, optional>}; the child
prints "done" after each (or "error <type>: <message>" and exits 3).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

from octomem import Orchestrator
from octomem.errors import OctomemError


def main() -> None:
    spec = json.loads(sys.argv[1])
    orch = Orchestrator.from_config(data_dir=spec["data_dir"], **spec["settings"])
    orch.open()
    print(f"clock {datetime.now(UTC).isoformat()}", flush=True)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        step = json.loads(line)
        try:
            orch.process(
                step["text"],
                user_id=step["user_id"],
                timestamp=datetime.fromisoformat(step["timestamp"])
                if step.get("timestamp")
                else None,
            )
        except OctomemError as exc:
            print(f"error {type(exc).__name__}: {exc}", flush=True)
            os._exit(3)
        print("done", flush=True)
    orch.close()
    print("finished", flush=True)


if __name__ == "__main__":
    main()
