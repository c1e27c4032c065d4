"""`octomem search` against its import floor, side by side: the wall time of the command
on a small data directory, and of a Python that only imports what it cannot do without
(chromadb, onnxruntime, tokenizers), alternating, medians of `--runs`; with `--against
DIR`, also the same command run from another source tree (a checkout of an older commit),
in the same rotation:

    python -m benchmarks.cli_search [--runs 7] [--against /path/to/older/checkout]
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
REPO = Path(__file__).resolve().parents[1]


def _timed(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - started


def run(
    runs: int = 7, *, against: Path | None = None, echo: Callable[[str], Any] = print
) -> dict[str, float]:
    """Median seconds of each, and each command's ratio to the floor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTOMEM_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled once, then read
    octomem = [sys.executable, "-m", "octomem"]
    trees = {"search": REPO, **({"against": against.resolve()} if against else {})}
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "om")
        said = "I live in Lisbon and work at Acme; my sister Ingrid lives in Oslo."
        subprocess.run(  # a conversation on stdin
            [*octomem, "process", "-", "-u", "ana", "--data-dir", data],
            input=said.encode(),
            env={**env, "PYTHONPATH": str(REPO)},
            check=True,
            capture_output=True,
            cwd=tmp,
        )
        search = [*octomem, "search", "where does ana live?", "-u", "ana", "--data-dir", data]
        commands = {
            name: (search, {**env, "PYTHONPATH": str(tree)}) for name, tree in trees.items()
        }
        commands["floor"] = ([sys.executable, "-c", FLOOR], env)
        for cmd, cmd_env in commands.values():  # warm: compiled, read from disk once
            _timed(cmd, cmd_env, tmp)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for n in range(runs):
            order = list(commands) if n % 2 == 0 else list(commands)[::-1]
            for name in order:
                times[name].append(_timed(*commands[name], tmp))
    result = {name: statistics.median(values) for name, values in times.items()}
    for name in trees:
        result[f"{name}_ratio"] = result[name] / result["floor"]
    result["ratio"] = result["search_ratio"]
    shown = ", ".join(
        f"{name} {result[name]:.2f} s ({result[f'{name}_ratio']:.2f}x)" for name in trees
    )
    echo(f"{shown}; import floor {result['floor']:.2f} s ({FLOOR}); medians of {runs}")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another source tree, run alike")
    args = parser.parse_args(argv)
    run(args.runs, against=args.against)


if __name__ == "__main__":
    main()
