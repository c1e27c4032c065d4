"""`python -m benchmarks scale`'s arithmetic and the stop of the processes a bench starts. The
bench itself (servers, loads) is not started here; no timing is asserted."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.scale import chroma_kind, load_ratio, mode_rows, per_op, ratio
from benchmarks.scale_report import breakdown, cell, sizing
from benchmarks.servers import descendants, stop


def test_ratios_are_over_under_and_none_without_a_base() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 3.0) == 0.33
    assert ratio(None, 2.0) is None and ratio(2.0, None) is None and ratio(2.0, 0.0) is None
    rows = mode_rows(
        {
            "embedded": {"ingest_per_s": 200.0, "recall_p50_ms": 10.0},
            "server": {"ingest_per_s": 50.0, "recall_p50_ms": 25.0},
        }
    )
    assert [(r["metric"], r["server/embedded"]) for r in rows] == [
        ("ingest_per_s", 0.25),
        ("recall_p50_ms", 2.5),
    ]
    one = {"req_per_s": 10.0, "p50_ms": 100.0, "p95_ms": 400.0, "app_cpu_ms_per_request": 50.0}
    two = {"req_per_s": 15.0, "p50_ms": 80.0, "p95_ms": 400.0, "app_cpu_ms_per_request": None}
    assert load_ratio([one, two]) == {
        "app_processes": "2/1",
        "req_per_s": 1.5,
        "p50_ms": 0.8,
        "p95_ms": 1.0,
        "app_cpu_ms_per_request": None,
    }


def test_costs_per_operation_count_what_grew_and_what_appeared() -> None:
    before = {"app_cpu_ms": 1000.0, "chroma_requests": 4.0}
    after = {"app_cpu_ms": 1090.0, "chroma_requests": 10.0, "chroma_requests: POST query": 6.0}
    assert per_op(before, after, 3) == {
        "app_cpu_ms": 30.0,
        "chroma_requests": 2.0,
        "chroma_requests: POST query": 2.0,
    }
    assert per_op({}, {"bolt_round_trips": 5.0}, 0) == {"bolt_round_trips": 5.0}  # no op: as 1
    shown = breakdown(
        {
            "chroma_requests": 3.0,
            "chroma_requests: POST get": 1.0,
            "chroma_requests: POST query": 2.0,
            "graph_transactions: search": 1.0,
        }
    )
    assert shown == "Chroma POST query 2.00, POST get 1.00; graph search 1.00"
    assert [cell(v) for v in (None, 0.456, 1234.5, 12000)] == ["-", "0.46", "1,234", "12,000"]


def test_chroma_requests_are_named_by_what_they_do() -> None:
    base = "/api/v2/tenants/default_tenant/databases/default_database/collections"
    assert chroma_kind("POST", f"{base}/0b5e/query") == "POST query"
    assert chroma_kind("GET", f"{base}/octomem-d-bench_episodic") == "GET collection"
    assert chroma_kind("POST", base) == "POST collections"
    assert chroma_kind("GET", "/api/v2/heartbeat") == "GET heartbeat"


def test_stop_ends_the_process_and_every_process_it_started(tmp_path: Path) -> None:
    # a parent whose child ignores SIGTERM and outlives it
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)'])\n"
        f"open({str(tmp_path / 'child')!r}, 'w').write(str(child.pid))\n"
        f"open({str(tmp_path / 'started')!r}, 'w').close()\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int((tmp_path / "child").read_text())
    assert [pid for pid, _ in descendants(proc.pid)] == [child]
    stop(proc, timeout_s=10)
    assert proc.returncode is not None
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_the_sizing_is_the_arithmetic_on_the_measured_costs() -> None:
    costs = {
        "recall": {"app_cpu_ms": 40.0, "chroma_cpu_ms": 60.0, "arcadedb_cpu_ms": 30.0}
        | {"chroma_requests": 9.0, "graph_transactions": 2.0},
        "add": {"app_cpu_ms": 20.0, "chroma_cpu_ms": 30.0, "arcadedb_cpu_ms": 90.0}
        | {"chroma_requests": 5.0, "graph_transactions": 4.0, "graph_transactions: erasures": 1},
        "disk_bytes_per_1k_memories": {"chroma": 10_000_000, "arcadedb": 8_000_000},
    }
    intro, table, arithmetic = sizing(costs)
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    # 1,000 users: 10 recalls and 10 adds a second; cores at 60% busy
    assert rows[0][1:7] == ["10", "1", "1.5", "2", "140", "30"]
    assert rows[0][8] == "10GB / 1.54GB" and rows[0][9].startswith("8GB")
    assert rows[2][0] == "| 10,000,000" and rows[2][1] == "100k" and rows[2][2] == "10k"
    assert "rate x 3" in arithmetic and "1,000 memories a user" in intro
    assert sizing({"recall": costs["recall"]}) == []
