"""`python -m benchmarks.train_ranker`: what it fits is a model octomem's ranker loads."""

from __future__ import annotations

import pytest

from benchmarks.train_ranker import train
from octomem.orchestrator.learned_rank import Ranker, feature_names


def test_a_trained_model_loads_and_ranks_what_it_learned_first() -> None:
    pytest.importorskip("sklearn")
    names = feature_names()
    length = names.index("log_length")

    def row(long: bool) -> list[float]:
        values = [0.0] * len(names)
        values[length] = 5.0 if long else 1.0
        return values

    X = [row(n % 2 == 0) for n in range(40)]
    y = [int(n % 2 == 0) for n in range(40)]  # long hits hold the evidence
    ranker = Ranker(train(X, y))
    short, long = ranker.scores([row(False), row(True)])
    assert long > short
