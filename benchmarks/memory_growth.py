"""Resident memory over many `process` calls: does it level off, and what holds it?

One Orchestrator on a fresh temporary data dir with the default settings (embedded
Chroma and graph, local embedder, offline extraction): `--calls` calls of `process`
(`--per-call` short fact-bearing messages from `benchmarks.synthetic`) round-robin over
`--users` users, and a `recall` every `--recall-every` calls. With `--repeat-after N` the
calls after the N-th resend the messages (and questions) of calls 1..N, so nothing new is
stored: what still grows then grows per call, not with the data. Every `--every` calls
it prints one row: resident memory (VmRSS), the entries in the vector store, the
in-process caches (record cache and embedding cache: entries and MB), glibc's malloc
heap (bytes in use, and held from the OS: the difference is free memory glibc keeps,
i.e. fragmentation), seconds per 100 calls, and with `--tracemalloc` Python's traced heap
and, at the end, the allocation sites that grew most since the second row.

    python -m benchmarks.memory_growth                         # 1,000 calls, 20 users
    python -m benchmarks.memory_growth --repeat-after 500      # then 500 calls again
    MALLOC_ARENA_MAX=2 python -m benchmarks.memory_growth      # fewer glibc arenas
    python -m benchmarks.memory_growth --tracemalloc           # slower; Python heap sites

A benchmark, not a test: compare runs side by side (docs/benchmarks.md#memory-over-many-calls).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.perf import rss_mb
from benchmarks.synthetic import memories, questions
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.internals import services_of

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
MB = 1024 * 1024


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
        "keepcost".split()
    ]


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None:
            libc.mallinfo2.restype = _Mallinfo2
        return libc
    except (OSError, AttributeError):  # not glibc, or older than 2.33
        return None


_LIBC = _libc()


def malloc_mb() -> tuple[float, float]:
    """glibc malloc: (bytes in use, bytes held from the OS) in MB; (nan, nan) elsewhere."""
    if _LIBC is None:
        return float("nan"), float("nan")
    info = _LIBC.mallinfo2()
    return (info.uordblks + info.hblkhd) / MB, (info.arena + info.hblkhd) / MB


# The two caches' sizes; where a cache has no `nbytes` (before their byte bounds: run this
# script against an older checkout to compare) it is estimated.


def record_cache_stats(orch: Orchestrator) -> tuple[int, float]:
    """(records, MB) in the record cache of the Orchestrator's embedded Chroma."""
    cache = getattr(services_of(orch).vector, "_cache", None)
    if cache is None:
        return 0, 0.0
    nbytes = getattr(cache, "nbytes", None)
    records = cache._records
    if nbytes is None:
        nbytes = sum(sys.getsizeof(v) for v in records.values())
    return len(records), nbytes / MB


def embed_cache_stats(orch: Orchestrator) -> tuple[int, float]:
    """(entries, MB) in the embedding cache."""
    embedder = orch.embedder
    cache = getattr(embedder, "_cache", None)
    if cache is None:
        return 0, 0.0
    nbytes = getattr(embedder, "nbytes", None)
    if nbytes is None:
        nbytes = sum(sys.getsizeof(k) + sys.getsizeof(v) + 24 * len(v) for k, v in cache.items())
    return len(cache), nbytes / MB


def stored(orch: Orchestrator) -> int:
    """Entries in the vector store, over every agent (memories and raw turns)."""

    async def count() -> int:
        services = services_of(orch)
        return sum([await services.vector.count(memory_type) for memory_type in services.agents])

    return orch.run_sync(count())


def messages_for(texts: list[str], call: int) -> list[dict[str, Any]]:
    when = T0 + timedelta(minutes=call)
    return [
        {"role": "user", "content": t, "timestamp": when + timedelta(seconds=i)}
        for i, t in enumerate(texts)
    ]


def row(orch: Orchestrator, call: int, seconds: float, every: int, traced: bool) -> str:
    gc.collect()
    used, held = malloc_mb()
    records, records_mb = record_cache_stats(orch)
    vectors, vectors_mb = embed_cache_stats(orch)
    heap = f"{tracemalloc.get_traced_memory()[0] / MB:.1f}" if traced else "-"
    return (
        f"| {call} | {rss_mb():.0f} | {stored(orch)} | {records} | {records_mb:.1f} | "
        f"{vectors} | {vectors_mb:.1f} | {used:.0f} | {held:.0f} | "
        f"{heap} | {seconds * 100 / every:.1f} |"
    )


HEADER = (
    "| calls | rss MB | stored | record cache | record cache MB | embedding cache | "
    "embedding cache MB | malloc in use MB | malloc held MB | py heap MB | s/100 calls |"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--per-call", type=int, default=3, help="messages per process call")
    parser.add_argument("--recall-every", type=int, default=5, help="0: no recall")
    parser.add_argument(
        "--repeat-after",
        type=int,
        default=0,
        help="calls after this many resend the messages (and questions) of earlier calls, "
        "so nothing new is stored: what still grows then grows per call",
    )
    parser.add_argument("--every", type=int, default=100, help="calls between rows")
    parser.add_argument("--tracemalloc", action="store_true", help="slow; Python heap sites")
    parser.add_argument("--config", default=None, help="a YAML config (default: defaults)")
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="om-memgrowth-") as data_dir,
        Orchestrator.from_config(args.config, data_dir=data_dir) as orch,
    ):
        run(orch, args)


def run(orch: Orchestrator, args: argparse.Namespace) -> None:
    fresh = args.repeat_after or args.calls
    texts = memories(fresh * args.per_call)
    asks = questions(fresh // args.recall_every + 1 if args.recall_every else 1)
    orch.recall("warm up", user_id="u00")  # load the model and open the stores
    gc.collect()
    print(
        f"start: rss {rss_mb():.0f} MB with the model and stores loaded; {args.calls} calls "
        f"of {args.per_call} messages over {args.users} users, a recall every "
        f"{args.recall_every or 'never'}"
        + (f", repeating calls 1-{fresh} after {fresh}" if args.repeat_after else ""),
        flush=True,
    )
    if args.tracemalloc:
        tracemalloc.start(8)
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1), flush=True)
    first: tracemalloc.Snapshot | None = None
    started = time.perf_counter()
    for call in range(1, args.calls + 1):
        source = (call - 1) % fresh + 1  # the call whose messages this one sends
        user = f"u{source % args.users:02d}"
        chunk = texts[(source - 1) * args.per_call : source * args.per_call]
        orch.process(messages_for(chunk, source), user_id=user, session_id=f"s{source // 50}")
        if args.recall_every and source % args.recall_every == 0:
            orch.recall(asks[source // args.recall_every], user_id=user)
        if call % args.every == 0:
            took = time.perf_counter() - started
            print(row(orch, call, took, args.every, args.tracemalloc), flush=True)
            if args.tracemalloc and call == 2 * args.every:
                first = tracemalloc.take_snapshot()
            started = time.perf_counter()
    if first is not None:
        print_growth(first, tracemalloc.take_snapshot(), 2 * args.every)


def print_growth(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot, since: int) -> None:
    print(f"\ntracemalloc: the allocation sites that grew most from call {since} to the end")
    for stat in last.compare_to(first, "traceback")[:12]:
        print(f"  {stat.size_diff / 1024:+9.0f} KB {stat.count_diff:+8d} blocks")
        for frame in list(reversed(stat.traceback))[:4]:  # the most recent frames first
            print(f"        {frame.filename}:{frame.lineno}")


if __name__ == "__main__":
    main()
