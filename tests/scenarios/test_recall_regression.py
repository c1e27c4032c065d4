"""Recall on the project's own fixture (`tests/data/recall_fixture.py`) stays at its
floors: a change to ranking, extraction or storage that loses answers fails here.
`pytest -s -n 0 tests/scenarios/test_recall_regression.py` (or `make recall-report`) prints
the table and the questions whose answers are missed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data.recall_fixture import CATEGORIES, FLOORS, KS, MODES, QUESTIONS
from tests.scenarios.recall_regression import Answer, misses, recall_by_category, run_mode, table

_RESULTS: dict[str, list[Answer]] = {}


def test_fixture_asks_enough_in_every_category() -> None:
    counts = {c: sum(q.category == c for q in QUESTIONS) for c in CATEGORIES}
    assert min(counts.values()) >= 5, counts


@pytest.mark.parametrize("mode", MODES)
def test_recall_stays_at_its_floors(make_orch: Any, mode: str) -> None:
    answers = run_mode(make_orch, mode)
    _RESULTS[mode] = answers
    print(f"\n{mode} misses:\n{misses(answers)}")
    if len(_RESULTS) == len(MODES):
        print("\n" + table({m: _RESULTS[m] for m in MODES}))
    below = {
        (category, f"R@{k}"): (round(values[k]), FLOORS[mode][category][k])
        for category, values in recall_by_category(answers).items()
        for k in KS
        if values[k] < FLOORS[mode][category][k]
    }
    assert not below, f"{mode}: recall below its floor (measured, floor): {below}"
