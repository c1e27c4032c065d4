"""The phrasing corpus, offline (the rules' reading) and `llm-plumbing` (the LLM path fed
the gold answers by a scripted model: plumbing, not extraction quality - that is `make
test-llm`'s): each category's pass rate stays at or above its floor. `pytest -s
tests/scenarios/test_talk_corpus.py` (or `make talk-report`) prints the table and every
failing case with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.data.talk_corpus import CATEGORIES, FLOORS
from tests.scenarios.talk_runner import MODES, Outcome, failures, pass_rates, run_mode, table

_RESULTS: dict[str, list[Outcome]] = {}


def test_corpus_has_enough_phrasings_per_category() -> None:
    small = {c.name: len(c.cases) for c in CATEGORIES if len(c.cases) < 6}
    assert not small, f"categories with fewer than 6 phrasings: {small}"


@pytest.mark.parametrize("mode", MODES)
def test_pass_rates_stay_at_their_floors(make_orch: Any, mode: str) -> None:
    outcomes = run_mode(make_orch, mode)
    _RESULTS[mode] = outcomes
    rates = pass_rates(outcomes)
    print(f"\n{mode}:\n{failures(outcomes)}")
    if len(_RESULTS) == len(MODES):
        print("\n" + table({m: _RESULTS[m] for m in MODES}))
    below = {
        name: (round(rate), FLOORS[mode][name])
        for name, rate in rates.items()
        if rate < FLOORS[mode][name]
    }
    assert not below, f"{mode}: categories below their floor (rate, floor): {below}"
