"""`python -m benchmarks.cli_search`: one round, its shape (no timing asserted)."""

from __future__ import annotations

from benchmarks.cli_search import run


def test_one_round_reports_search_floor_and_their_ratio() -> None:
    lines: list[str] = []
    result = run(1, echo=lines.append)
    assert set(result) == {"search", "floor", "ratio"} and all(v > 0 for v in result.values())
    assert result["ratio"] == result["search"] / result["floor"]
    assert lines and "octomem search" in lines[0] and "ratio" in lines[0]
