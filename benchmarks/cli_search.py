"""`octomem search` against its import floor, side by side: the wall time of the command
on a small data directory, and of a Python that only imports what it cannot do without
(chromadb, onnxruntime, tokenizers), alternating, medians of `--runs`:

    python -m benchmarks.cli_search [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

FLOOR = "import chromadb, onnxruntime, tokenizers"


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run(runs: int = 7, *, echo: Callable[[str], Any] = print) -> dict[str, float]:
    """Median seconds of each, and their ratio."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTOMEM_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled once, then read
    octomem = [sys.executable, "-m", "octomem"]
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "om")
        said = "I live in Lisbon and work at Acme; my sister Ingrid lives in Oslo."
        subprocess.run(  # a conversation on stdin
            [*octomem, "process", "-", "-u", "ana", "--data-dir", data],
            input=said.encode(),
            env=env,
            check=True,
            capture_output=True,
        )
        search = [*octomem, "search", "where does ana live?", "-u", "ana", "--data-dir", data]
        floor = [sys.executable, "-c", FLOOR]
        _timed(search, env), _timed(floor, env)  # warm: compiled, read from disk once
        times: dict[str, list[float]] = {"search": [], "floor": []}
        for n in range(runs):
            order = [("search", search), ("floor", floor)]
            for name, cmd in order if n % 2 == 0 else order[::-1]:
                times[name].append(_timed(cmd, env))
    result = {name: statistics.median(values) for name, values in times.items()}
    result["ratio"] = result["search"] / result["floor"]
    echo(
        f"octomem search {result['search']:.2f} s, import floor {result['floor']:.2f} s "
        f"({FLOOR}), ratio {result['ratio']:.2f} (medians of {runs})"
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    run(parser.parse_args(argv).runs)


if __name__ == "__main__":
    main()
