"""The paired bootstrap on synthetic scores: a clear difference, none, and noise."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bootstrap import paired_bootstrap
from octomem.errors import InvalidInputError


def test_a_clear_difference_has_an_interval_above_zero() -> None:
    rng = np.random.default_rng(1)
    baseline = rng.uniform(0, 0.6, 200)
    better = np.minimum(1.0, baseline + 0.3)
    found = paired_bootstrap(list(better), list(baseline))
    assert found.low > 0.2 and found.above_zero
    assert found.low <= found.mean <= found.high
    assert found.questions == 200


def test_identical_systems_give_an_interval_of_zero() -> None:
    scores = [0.0, 0.5, 1.0, 1.0, 0.25]
    found = paired_bootstrap(scores, scores)
    assert (found.mean, found.low, found.high) == (0.0, 0.0, 0.0)
    assert not found.above_zero


def test_noise_alone_straddles_zero() -> None:
    rng = np.random.default_rng(2)
    first = rng.integers(0, 2, 300).astype(float)  # hit or miss at random, both systems
    second = rng.integers(0, 2, 300).astype(float)
    found = paired_bootstrap(list(first), list(second))
    assert found.low < 0 < found.high


def test_the_same_inputs_give_the_same_interval() -> None:
    first, second = [1.0, 0.0, 1.0, 0.5, 1.0], [0.0, 0.0, 1.0, 1.0, 0.5]
    assert paired_bootstrap(first, second) == paired_bootstrap(first, second)


def test_unpaired_or_empty_scores_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="differ in length"):
        paired_bootstrap([1.0], [1.0, 0.0])
    with pytest.raises(InvalidInputError, match="no paired scores"):
        paired_bootstrap([], [])
