"""What a new process pays before its first memory is written: importing the Orchestrator,
opening an empty data directory, the first `process()` (the embedder loads, then the
write). Run it in a fresh process, several times in a row (the first run after a boot
reads the libraries from disk):

    python -m benchmarks.cold_start
"""

from __future__ import annotations

import tempfile
import time


def main() -> None:
    t0 = time.perf_counter()
    from octomem import Orchestrator  # the package's names are imported on first use

    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as data_dir:
        orch = Orchestrator.from_config(data_dir=data_dir)
        t2 = time.perf_counter()
        orch.process("I live in Lisbon and my sister is Ingrid.", user_id="u1")
        t3 = time.perf_counter()
        orch.close()
    print(
        f"import {t1 - t0:.2f} s, open {t2 - t1:.2f} s, first process {t3 - t2:.2f} s, "
        f"together {t3 - t0:.2f} s"
    )


if __name__ == "__main__":
    main()
