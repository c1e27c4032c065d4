"""`python -m benchmarks scale --latency-ms`: server mode with each server behind the
delaying proxy, on the test's Chroma and Bolt servers: each row counts the requests and
round trips of its operations, and the delay is in force (every operation at 20 ms one
way waits for at least one round trip); no timing beyond that."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.scale_latency import run_latencies
from benchmarks.scale_report import latency_table
from benchmarks.servers import BoltServer, ChromaServer
from octomem.embeddings import Embedder

pytestmark = pytest.mark.integration


def test_the_latency_rows_count_the_same_work_at_every_delay(
    tmp_path: Path,
    chroma_server_url: str,
    arcadedb_server: BoltServer,
    server_stores: dict[str, Any],
    embedder: Embedder,
) -> None:
    rows = run_latencies(
        tmp_path / "app",
        ChromaServer(chroma_server_url),
        arcadedb_server,
        server_stores,
        embedder,
        [20.0],
        ingest=20,
        adds=3,
        queries=4,
        log=lambda line: None,
    )
    base, far = rows
    assert (base["one_way_ms"], far["one_way_ms"]) == (0.0, 20.0)
    for op in ("recall", "add", "fact_add"):
        assert base[f"{op}_chroma_requests"] > 0 and base[f"{op}_bolt_round_trips"] > 0
        # each waits at least one round trip of 2 x 20 ms
        assert far[f"{op}_p50_ms"] >= 40
        assert far[f"{op}_p50_ms_vs_0"] == round(far[f"{op}_p50_ms"] / base[f"{op}_p50_ms"], 2)
    # each delay asks questions of its own, whose hits take more or fewer record reads:
    # the counts are compared across runs, not asserted equal
    # a fact add reads what it reconciles with and writes its views: more than a plain add
    assert base["fact_add_chroma_requests"] > base["add_chroma_requests"]
    text = "\n".join(latency_table(rows))
    assert "| 20.00 |" in text or "| 20 |" in text
