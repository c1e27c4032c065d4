"""`python -m benchmarks scale --latency-ms 1,5`: server mode with the servers a network hop
away. A delaying TCP proxy (`benchmarks.tcp_proxy`, one-way delay in both directions, on
127.0.0.1) goes in front of the Chroma server and the Bolt server; at each delay, and at
0 ms through the same proxies first, the same user (on top of part 1's data) gets
`ingest` more memories, `adds` single adds and `queries` recalls - texts and questions of
each delay's own, and an empty embedder cache - with what each operation sent the
servers counted as part 1 counts it; then `adds` adds from which a fact is taken (its
rivals read, its views written: the core block, a knowledge edge)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.perf import USER, latencies, percentile
from benchmarks.scale import Meter, per_op, run_mode
from benchmarks.servers import BoltServer, ChromaServer
from benchmarks.synthetic import facts
from benchmarks.tcp_proxy import proxy_to
from octomem.embeddings import CachedEmbedder, Embedder
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings

SHOWN = ("chroma_requests", "bolt_round_trips", "graph_transactions")


def run_latencies(
    data_dir: Path,
    chroma: ChromaServer,
    bolt: BoltServer,
    overrides: dict[str, Any],
    embedder: Embedder,
    delays_ms: Sequence[float],
    *,
    ingest: int,
    adds: int,
    queries: int,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """One row per one-way delay (0 first): latencies, rates, and per-operation counts."""
    rows: list[dict[str, Any]] = []
    chroma_host, chroma_port = chroma.host_port
    bolt_host, _, bolt_port = bolt.uri.split("://", 1)[1].rpartition(":")
    inner = getattr(embedder, "inner", embedder)
    for variant, delay in enumerate([0.0, *(d for d in delays_ms if d > 0)], start=1):
        log(f"at {delay:g} ms one way: {ingest} memories, {adds} adds, {queries} recalls")
        with ExitStack() as stack:
            to_chroma = stack.enter_context(proxy_to(chroma_host, chroma_port, "delay", delay))
            to_bolt = stack.enter_context(proxy_to(bolt_host, int(bolt_port), "delay", delay))
            vector = {**overrides["vector"], "host": "127.0.0.1", "port": to_chroma.port}
            graph = {**overrides["graph"], "uri": f"bolt://127.0.0.1:{to_bolt.port}"}
            settings = load_settings(
                data_dir=data_dir, **{**overrides, "vector": vector, "graph": graph}
            )
            meter = Meter({})
            fresh = CachedEmbedder(inner, max_bytes=getattr(embedder, "max_bytes", 0))
            with meter.counting(to_chroma.port), Orchestrator(settings, embedder=fresh) as orch:
                numbers, costs, _ = run_mode(
                    f"{delay:g} ms",
                    orch,
                    meter,
                    size=ingest,
                    adds=adds,
                    queries=queries,
                    variant=variant,
                )
                said = facts(adds, seed=23 + 1000 * variant)
                before = meter.read()
                times = latencies(lambda t: orch.process(t, user_id=USER), said, "fact add")
                costs["fact_add"] = per_op(before, meter.read(), adds)
                numbers |= {
                    "fact_add_p50_ms": round(percentile(times, 50), 2),
                    "fact_add_p95_ms": round(percentile(times, 95), 2),
                }
        row: dict[str, Any] = {"one_way_ms": delay, **numbers}
        for op in ("recall", "add", "fact_add"):
            row |= {f"{op}_{key}": round(costs[op].get(key, 0.0), 2) for key in SHOWN}
        rows.append(row)
    base = rows[0]
    for row in rows:
        for key in ("recall_p50_ms", "add_p50_ms", "fact_add_p50_ms"):
            row[f"{key}_vs_0"] = round(row[key] / base[key], 2) if base[key] else None
    return rows
