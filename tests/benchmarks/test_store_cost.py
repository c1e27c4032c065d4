"""`python -m benchmarks store`: its workload and how it reports (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.store_cost import NAMESPACES, run, summary, workload


def test_workload_spreads_puts_and_has_every_kind_of_search() -> None:
    puts, searches = workload(40, 16)
    assert len(puts) == 40 and len({key for _, key, _ in puts}) == 40
    assert {namespace for namespace, _, _ in puts} == set(NAMESPACES)
    assert all(isinstance(value["text"], str) and value["text"] for _, _, value in puts)
    assert len(searches) == 16 and len({s["query"] for s in searches}) == 16  # no cache hits
    assert any("filter" in s for s in searches)
    assert any(s["prefix"] == ("memories",) for s in searches)
    assert any(len(s["prefix"]) == 2 and "filter" not in s for s in searches)


def test_summary_gives_ratios_of_octomem_to_langgraph() -> None:
    times = {
        "octomem": [2.0, 4.0, 6.0],
        "langgraph": [1.0, 2.0, 3.0],
        "octomem_cpu": [3.0, 3.0, 3.0],
        "langgraph_cpu": [1.0, 1.0, 1.0],
    }
    [row] = summary({"put": times})
    assert row == {
        "op": "put",
        "n": 3,
        "p50_ratio": 2.0,
        "mean_ratio": pytest.approx(2.0),
        "cpu_ratio": pytest.approx(3.0),
    }


def test_a_tiny_run_writes_its_json_where_no_directory_was(tmp_path: Path) -> None:
    """`make bench-store` on a fresh clone: bench-results/ does not exist yet."""
    out = tmp_path / "bench-results" / "store.json"
    rows = run(8, 4, "async", out, echo=lambda _: None)
    written = json.loads(out.read_text())
    assert written["mode"] == "async" and written["rows"] == rows
    assert {row["op"] for row in rows} >= {"put", "search"}
    assert len(written["ms"]["put"]["octomem"]) == 8
