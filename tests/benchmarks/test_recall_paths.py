"""`python -m benchmarks.recall_paths`: both calls timed both ways on tiny numbers, each
message processed once (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.recall_paths import measure


def test_recall_and_process_are_timed_through_the_graph_and_directly(tmp_path: Path) -> None:
    measured = measure(size=20, queries=3, adds=2, root=tmp_path)
    assert {
        call: {path: len(times) for path, times in paths.items()}
        for call, paths in measured.items()
    } == {
        "recall": {"graph": 3, "direct": 3},
        "process": {"graph": 2, "direct": 2},
    }
    assert all(t > 0 for paths in measured.values() for times in paths.values() for t in times)
