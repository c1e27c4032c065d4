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


@pytest.mark.parametrize("ranking", ["hybrid", "vector"])
def test_a_tiny_run_writes_its_json_where_no_directory_was(tmp_path: Path, ranking: str) -> None:
    """`make bench-store` on a fresh clone: bench-results/ does not exist yet."""
    out = tmp_path / "bench-results" / "store.json"
    rows = run(8, 4, "async", out, ranking=ranking, echo=lambda _: None)  # type: ignore[arg-type]
    written = json.loads(out.read_text())
    assert (written["mode"], written["ranking"]) == ("async", ranking)
    assert written["rows"] == rows
    assert {row["op"] for row in rows} >= {"put", "search"}
    assert len(written["ms"]["put"]["octomem"]) == 8


def test_store_quality_reports_recall_of_each_ranking(tmp_path: Path) -> None:
    """`python -m benchmarks.store_quality` on a hand-made conversation: each ranking finds
    the one evidence turn of a question that names it."""
    from benchmarks.store_quality import run as quality

    turns = [
        {"speaker": "Ann", "dia_id": f"D1:{n}", "text": text}
        for n, text in enumerate(
            ["I adopted a cat named Miso.", "We hiked in the Alps.", "Lunch was ramen."], 1
        )
    ]
    sample = {
        "sample_id": "conv-x",
        "conversation": {"session_1_date_time": "1:56 pm on 8 May, 2023", "session_1": turns},
        "qa": [{"question": "What is the cat called?", "evidence": ["D1:1"], "category": 4}],
    }
    data = tmp_path / "locomo.json"
    data.write_text(json.dumps([sample]))
    lines: list[str] = []
    recall = quality(data, k=1, echo=lines.append)
    assert recall == {"hybrid": 100.0, "vector": 100.0}
    assert lines[-2:] == ["| hybrid | 100.0 |", "| vector | 100.0 |"]


def test_chroma_sync_reports_each_threshold() -> None:
    """`python -m benchmarks.chroma_sync`, tiny: one row per threshold (no timing asserted)."""
    from benchmarks.chroma_sync import run as chroma_sync

    lines: list[str] = []
    results = chroma_sync(300, [1000, 100], singles=20, echo=lines.append)
    assert list(results) == [1000, 100] and len(lines) == 5
    assert all(row["bulk_s"] > 0 and row["single_ms"] > 0 for row in results.values())
