"""`python -m benchmarks perf`: ingest throughput, recall latency and memory at 1k-100k memories.

One user, synthetic chat messages (`benchmarks.synthetic`). Per size, on fresh stores:
- `add_per_s`: messages per second through `process(..., infer=False)` in calls of
  `BATCH` messages (raw turns; the embedder runs once per call);
- `add_p50_ms`: one message per `process` call (what mem0's `add` does), 50 calls;
- `add_extract_per_s`: the same with offline rule-based extraction (`infer=True`), on up
  to `extract_max` messages;
- `embed_per_s`: the embedder alone on the texts ingest embedded (each turn with the turn
  before it), in the same batches: the ceiling for raw-turn ingest;
  `embed_query_p50_ms`: the embedder alone on one query: the floor under recall latency;
- `recall_p50/p95/p99_ms`: `recall(query, limit=10)`, query embedding included, over
  distinct questions; `rss_mb`: resident memory of the process after the size's run
  (octomem's sizes run first and one after the other in one process, before mem0's);
- `recall_floor_p50_ms`: the floor of one recall, timed per question right after its
  recall: embedding the question (uncached) plus one nearest-neighbour query over the
  collection recall searches (the episodic type's, the user's records, current ones,
  `recall.candidates` of them, as recall's vector search asks); the `recall/floor` row
  is recall_p50 over it.
mem0 OSS (`infer=False`, Chroma, the same local embedder) gets the same messages,
in `add` calls of `BATCH` messages (it stores them one by one) and one message per `add`
for `add_p50_ms`, at sizes up to `mem0_max`; ratios (`mem0/octomem` rows) are how many
times faster octomem is: mem0's time over octomem's, octomem's rate over mem0's.
"""

from __future__ import annotations

import asyncio
import gc
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.report import bar_chart, machine, markdown_table, write_json
from benchmarks.synthetic import memories, questions
from octomem.models import MemoryType, embedding_text
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.lifecycle import build_embedder
from octomem.scopes import scope_filter
from octomem.settings import load_settings

BATCH = 20
USER = "perf-user"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def rss_mb() -> float:
    """Resident set size of this process, MB (Linux /proc; peak RSS elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def ingest(orch: Orchestrator, texts: Sequence[str], *, infer: bool, desc: str) -> float:
    """Store `texts` as one user's chat messages, `BATCH` per `process` call; messages per
    second."""
    started = time.perf_counter()
    with tqdm(total=len(texts), desc=desc, unit="mem", leave=False) as bar:
        for start in range(0, len(texts), BATCH):
            chunk = texts[start : start + BATCH]
            when = T0 + timedelta(minutes=start)
            messages = [
                {"role": "user", "content": t, "timestamp": when + timedelta(seconds=i)}
                for i, t in enumerate(chunk)
            ]
            orch.process(messages, user_id=USER, session_id=f"s{start // 200}", infer=infer)
            bar.update(len(chunk))
    return len(texts) / (time.perf_counter() - started)


def latencies(fn: Callable[[str], Any], items: Sequence[str], desc: str) -> list[float]:
    out = []
    for item in tqdm(items, desc=desc, unit="call", leave=False):
        started = time.perf_counter()
        fn(item)
        out.append(1000 * (time.perf_counter() - started))
    return out


def recall_and_floor(
    orch: Orchestrator, embedder: Any, asked: Sequence[str], desc: str
) -> tuple[list[float], list[float]]:
    """Per question, the latency of `recall(q, limit=10)` and, right after it, of its floor:
    embedding q with the uncached embedder plus one nearest-neighbour query over the
    episodic collection (the user's current records, as many as recall's vector search
    asks for). Interleaved, so that load on the machine weighs on both alike."""
    vector = services_of(orch).vector
    where, limit = scope_filter(USER), orch.settings.recall.candidates

    async def floor(q: str) -> None:
        [embedding] = await embedder.embed([q])
        await vector.query(
            MemoryType.EPISODIC, embedding, where=where, live_at=datetime.now(UTC), limit=limit
        )

    recalls, floors = [], []
    for q in tqdm(asked, desc=desc, unit="call", leave=False):
        started = time.perf_counter()
        orch.recall(q, user_id=USER, limit=10)
        recalls.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        orch.run_sync(floor(q))
        floors.append(1000 * (time.perf_counter() - started))
    return recalls, floors


def _stats(system: str, size: int, name: str, values: Sequence[float]) -> list[dict[str, Any]]:
    return [
        {
            "system": system,
            "size": size,
            "metric": f"{name}_p{q}_ms",
            "value": round(percentile(values, q), 2),
        }
        for q in (50, 95, 99)
    ]


def run_octomem(
    size: int, root: Path, embedder: Any, *, queries: int, extract_max: int
) -> list[dict[str, Any]]:
    texts = memories(size)
    rows: list[dict[str, Any]] = []

    def row(metric: str, value: float) -> None:
        rows.append({"system": "octomem", "size": size, "metric": metric, "value": round(value, 2)})

    settings = load_settings(data_dir=root / f"octomem-{size}")
    with Orchestrator(settings, embedder=embedder) as orch:
        row("add_per_s", ingest(orch, texts, infer=False, desc=f"octomem add {size}"))
        extra = [f"{t} (single add {i})" for i, t in enumerate(memories(50, seed=99))]
        adds = latencies(
            lambda t: orch.process(t, user_id=USER, session_id="single", infer=False),
            extra,
            f"octomem single adds {size}",
        )
        row("add_p50_ms", percentile(adds, 50))
        asked = questions(queries)
        orch.recall(asked[0] + " warm-up", user_id=USER)
        inner = getattr(embedder, "inner", embedder)  # uncached
        times, floors = recall_and_floor(orch, inner, asked, f"octomem recall {size}")
        rows += _stats("octomem", size, "recall", times)
        row("recall_floor_p50_ms", percentile(floors, 50))
        row("rss_mb", rss_mb())
        stored = orch.get_all(user_id=USER, memory_types=["episodic"], limit=extract_max)
        stored_texts = [embedding_text(record) for record in stored]
    n_extract = min(size, extract_max)
    settings = load_settings(data_dir=root / f"octomem-{size}-extract")
    with Orchestrator(settings, embedder=embedder) as orch:
        sample = [f"{t} ." for t in texts[:n_extract]]  # new texts: no embedder cache hits
        row("add_extract_per_s", ingest(orch, sample, infer=True, desc=f"extract {n_extract}"))
    started = time.perf_counter()  # exactly what ingest embedded, in the same batches
    for start in range(0, len(stored_texts), BATCH):
        asyncio.run(inner.embed(stored_texts[start : start + BATCH]))
    row("embed_per_s", len(stored_texts) / (time.perf_counter() - started))
    embeds = latencies(
        lambda q: asyncio.run(inner.embed([f"{q} ?"])), questions(queries), "query embedding"
    )
    row("embed_query_p50_ms", percentile(embeds, 50))  # the floor under recall latency
    return rows


def run_mem0(size: int, root: Path, *, queries: int) -> list[dict[str, Any]]:
    from benchmarks.mem0_adapter import make_memory

    memory = make_memory(root / f"mem0-{size}")
    texts = memories(size)
    batches = [texts[start : start + BATCH] for start in range(0, len(texts), BATCH)]
    started = time.perf_counter()
    for batch in tqdm(batches, desc=f"mem0 add {size}", unit="call", leave=False):
        messages = [{"role": "user", "content": t} for t in batch]
        memory.add(messages, user_id=USER, infer=False)
    add_per_s = len(texts) / (time.perf_counter() - started)
    extra = [f"{t} (single add {i})" for i, t in enumerate(memories(50, seed=99))]
    adds = latencies(
        lambda t: memory.add([{"role": "user", "content": t}], user_id=USER, infer=False),
        extra,
        f"mem0 single adds {size}",
    )
    asked = questions(queries)
    memory.search(asked[0] + " warm-up", top_k=10, filters={"user_id": USER})
    times = latencies(
        lambda q: memory.search(q, top_k=10, filters={"user_id": USER}),
        asked,
        f"mem0 search {size}",
    )
    rows = [
        {
            "system": "mem0",
            "size": size,
            "metric": "add_per_s",
            "value": round(add_per_s, 2),
        },
        {
            "system": "mem0",
            "size": size,
            "metric": "add_p50_ms",
            "value": round(percentile(adds, 50), 2),
        },
    ]
    return rows + _stats("mem0", size, "recall", times)


def run_perf(
    sizes: Sequence[int],
    *,
    queries: int = 200,
    with_mem0: bool = True,
    mem0_max: int = 1000,
    extract_max: int = 2000,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    embedder = build_embedder(load_settings())
    mem0_reason = None
    if with_mem0:
        from benchmarks.mem0_adapter import mem0_missing

        mem0_reason = mem0_missing()
        if mem0_reason:
            log(f"mem0 skipped: {mem0_reason}")
    rows: list[dict[str, Any]] = []
    mem0_sizes = [s for s in sizes if s <= mem0_max] if with_mem0 and not mem0_reason else []
    with tempfile.TemporaryDirectory(prefix="octomem-perf-") as tmp:
        # every octomem size first: its RSS is measured before mem0 loads torch
        for size in tqdm(sizes, desc="octomem sizes", unit="size"):
            rows += run_octomem(size, Path(tmp), embedder, queries=queries, extract_max=extract_max)
            rows += _floor_ratio(rows, size)
            gc.collect()
        for size in tqdm(mem0_sizes, desc="mem0 sizes", unit="size"):
            rows += run_mem0(size, Path(tmp), queries=queries)
            rows += _ratios(rows, size)
            gc.collect()
    return rows


def _floor_ratio(rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """recall p50 over the floor of one recall (1 would be recall at the floor's cost)."""
    value = {
        r["metric"]: r["value"] for r in rows if r["size"] == size and r["system"] == "octomem"
    }
    recall, floor = value.get("recall_p50_ms"), value.get("recall_floor_p50_ms")
    if not (recall and floor):
        return []
    ratio = round(recall / floor, 2)
    return [{"system": "recall/floor", "size": size, "metric": "recall_p50_ms", "value": ratio}]


def _ratios(rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    value = {(r["system"], r["metric"]): r["value"] for r in rows if r["size"] == size}
    out = []
    for metric in ("add_per_s", "add_p50_ms", "recall_p50_ms", "recall_p95_ms"):
        octo, mem0 = value.get(("octomem", metric)), value.get(("mem0", metric))
        if octo and mem0:
            # times: mem0's over octomem's; a rate: octomem's over mem0's (above 1: faster)
            ratio = octo / mem0 if metric.endswith("_per_s") else mem0 / octo
            out.append(
                {"system": "mem0/octomem", "size": size, "metric": metric, "value": round(ratio, 1)}
            )
    return out


def report_perf(
    rows: list[dict[str, Any]], *, json_path: Path | None, echo: Callable[[str], None] = print
) -> None:
    sizes = sorted({r["size"] for r in rows})
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    systems = list(dict.fromkeys(r["system"] for r in rows))
    value = {(r["system"], r["size"], r["metric"]): r["value"] for r in rows}
    table_rows = [
        [system, metric, *(value.get((system, s, metric), "") for s in sizes)]
        for system in systems
        for metric in metrics
        if any((system, s, metric) in value for s in sizes)
    ]
    table = markdown_table(["system", "metric", *(f"{s:,}" for s in sizes)], table_rows)
    echo(table)
    if json_path is None:
        return
    write_json(json_path, rows, benchmark="perf", machine=machine())
    json_path.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    series = {
        f"{system} {metric}": [float(value.get((system, s, metric), 0) or 0) for s in sizes]
        for system in systems
        if system != "mem0/octomem"
        for metric in ("recall_p50_ms", "recall_p95_ms", "add_p50_ms")
        if any((system, s, metric) in value for s in sizes)
    }
    note = bar_chart(
        json_path.with_suffix(".png"),
        "octomem vs mem0: latency (ms, log scale)",
        [f"{s:,}" for s in sizes],
        series,
        "ms",
        log_scale=True,
    )
    echo(
        f"wrote {json_path}, {json_path.with_suffix('.md')}"
        + (f" ({note})" if note else f", {json_path.with_suffix('.png')}")
    )
