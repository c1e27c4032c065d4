"""`python -m benchmarks.cli_search`: one round, its shape (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.cli_search import REPO, run


def test_one_round_reports_search_floor_and_their_ratio() -> None:
    lines: list[str] = []
    result = run(1, echo=lines.append)
    assert set(result) == {"search", "floor", "ratio", "search_ratio"}
    assert all(v > 0 for v in result.values())
    assert result["ratio"] == result["search"] / result["floor"]
    assert lines and "search" in lines[0] and "import floor" in lines[0]


def test_against_another_tree_runs_both_in_one_rotation() -> None:
    result = run(1, against=Path(REPO), echo=lambda line: None)
    assert {"search", "against", "floor", "against_ratio"} <= set(result)
    assert result["against_ratio"] == result["against"] / result["floor"]
