"""Peak memory and elapsed time of importing a large export (issue 45's target: a 100 MB
export under 200 MB of peak RSS growth). A script, not a test: no bound is asserted.

    python tests/import_memory.py --mb 100 [--embedder hash|local] [--work DIR]

It writes a synthetic export of about `--mb` MB - episodic memories of 50 users, each
line with its record and history as `export_jsonl` writes them, made from the lines of
a real export of a small store - then imports it into fresh stores in a child process.
The child opens its Orchestrator and imports a small file first (stores, model and code
warmed up), resets its peak resident set (/proc/self/clear_refs), imports the export and
prints, as JSON, its resident set before (VmRSS), its peak during the import (VmHWM),
the growth between the two and the elapsed seconds. Linux only.

`--embedder hash` (the default) embeds with a hash of the text, so that a run takes
minutes rather than the local model's hour on a busy machine; `local` uses the model
the settings name (and its embedding cache, `embedder.cache_mb`, which the import's
texts fill). `--cache-mb 0` turns off the vector store's recall cache: an import does
not put its records in it, but its checks and the views it renders read some.

It imports the `octomem` of the checkout it lies in (run two checkouts' copies to
compare them).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's octomem

USERS = 50
WORDS = (
    "garden tomatoes north bed kitchen recipe lentils cumin train Lisbon Berlin Kyoto "
    "quarterly report onboarding migration birthday party apartment interview marathon "
    "sister brother colleague Maria Tom Priya Omar concert pottery camping lake kitten "
    "chess bookshelf bees documentary flights station ramen sushi tacos deadline Friday"
).split()


class HashEmbedder:
    """Vectors from a hash of the text: the import's own memory, not a model's."""

    dimension = 384
    name = "hash"

    async def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()
            out.append([(digest[i % 32] - 127.5) / 127.5 for i in range(self.dimension)])
        return out


def _open(data_dir: Path, embedder: str, cache_mb: int | None = None) -> Any:
    from octomem import Orchestrator
    from octomem.settings import load_settings

    vector = {} if cache_mb is None else {"vector": {"mode": "embedded", "cache_mb": cache_mb}}
    settings = load_settings(data_dir=data_dir, **vector)
    if embedder == "hash":
        return Orchestrator(settings, embedder=HashEmbedder())
    return Orchestrator(settings)


def _seed(work: Path, embedder: str) -> list[dict[str, Any]]:
    """The lines of a real export of one small store."""
    orch = _open(work / "seed", embedder)
    orch.process("I cooked lentils with cumin for Maria on Friday.", user_id="seed", infer=False)
    out = io.StringIO()
    orch.export_jsonl(out, user_id="seed")
    orch.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _text(rng: random.Random, number: int) -> str:
    said = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 60)))
    return f"user: note {number}: {said}."


def _line(template: dict[str, Any], number: int, rng: random.Random) -> dict[str, Any]:
    line = copy.deepcopy(template)
    prefix = line["id"].split("_")[0]
    memory_id = f"{prefix}_{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}"
    user_id, text = f"user{number % USERS}", _text(rng, number)
    record = line["record"]
    record.update(id=memory_id, user_id=user_id, content=text, content_hash="")
    line["id"] = memory_id
    for event in line["history"]:
        event.update(
            id=f"evt_{uuid.UUID(int=rng.getrandbits(128)).hex}",
            memory_id=memory_id,
            user_id=user_id,
            new_value=text,
            record=copy.deepcopy(record),
        )
    return line


def write_export(path: Path, megabytes: float, work: Path, embedder: str, seed: int) -> int:
    """A synthetic export of about `megabytes` MB (its ids and texts drawn from `seed`);
    how many memory lines it holds."""
    lines = _seed(work, embedder)
    header = lines[0] | {"user_id": None}
    template = next(
        line
        for line in lines
        if line["type"] == "memory" and line["record"] and line["record"]["internal"].get("raw")
    )
    rng = random.Random(seed)
    size, count = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header) + "\n")
        while size < megabytes * 1e6:
            raw = json.dumps(_line(template, count, rng), sort_keys=True) + "\n"
            fh.write(raw)
            size += len(raw.encode())
            count += 1
    return count


def _status(field: str) -> int:
    """A field of /proc/self/status in bytes."""
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(data_dir: Path, export: Path, warm: Path, embedder: str, cache_mb: int | None) -> None:
    orch = _open(data_dir, embedder, cache_mb)
    orch.import_jsonl(warm)  # stores open, model loaded, code imported
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    started = time.perf_counter()
    summary = orch.import_jsonl(export)
    elapsed = time.perf_counter() - started
    peak = _status("VmHWM")
    orch.close()
    mb = 1 << 20
    print(
        json.dumps(
            {
                "export_mb": round(export.stat().st_size / 1e6, 1),
                "memories": summary.memories,
                "rss_before_mb": round(before / mb),
                "peak_mb": round(peak / mb),
                "growth_mb": round((peak - before) / mb),
                "seconds": round(elapsed, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--embedder", choices=("hash", "local"), default="hash")
    parser.add_argument(
        "--cache-mb", type=int, help="vector.cache_mb: the recall cache written records fill"
    )
    parser.add_argument("--work", type=Path, help="keeps the export (made once) there")
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, embedder=args.embedder, cache_mb=args.cache_mb)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="octomem-import-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    export, warm = work / f"export-{args.mb:g}mb.jsonl", work / "warm.jsonl"
    if not export.exists():
        count = write_export(export, args.mb, work, args.embedder, seed=45)
        print(f"wrote {export} ({count} memories)", file=sys.stderr)
    if not warm.exists():
        write_export(warm, 0.05, work / "warm-seed", args.embedder, seed=0)
    data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    command = [sys.executable, __file__, "--embedder", args.embedder]
    if args.cache_mb is not None:
        command += ["--cache-mb", str(args.cache_mb)]
    command.append("--child")
    done = subprocess.run(
        [*command, str(data_dir), str(export), str(warm)], capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(done.stderr)
    print(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
