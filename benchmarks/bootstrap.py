"""Paired bootstrap: is one system's recall higher than another's on the same questions?

Resampling questions (with replacement) keeps each question's pair of scores together, so
the interval reflects how the difference varies over questions, not how hard they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from octomem.errors import InvalidInputError


@dataclass(frozen=True)
class PairedDifference:
    """mean(first - second) over the questions, and its percentile bootstrap interval."""

    mean: float
    low: float
    high: float
    questions: int

    @property
    def above_zero(self) -> bool:
        return self.low > 0


def paired_bootstrap(
    first: Sequence[float],
    second: Sequence[float],
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """The mean of `first[i] - second[i]` and its `confidence` interval from `resamples`
    resamples of the questions (fixed `seed`: the same inputs give the same interval)."""
    if len(first) != len(second):
        raise InvalidInputError(f"paired scores differ in length: {len(first)} vs {len(second)}")
    if not first:
        raise InvalidInputError("no paired scores to compare")
    if not 0 < confidence < 1:
        raise InvalidInputError(f"confidence must be between 0 and 1, got {confidence}")
    diffs = np.asarray(first, dtype=float) - np.asarray(second, dtype=float)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // len(diffs))  # bounded memory for many questions
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        picks = rng.integers(0, len(diffs), size=(size, len(diffs)))
        means[start : start + size] = diffs[picks].mean(axis=1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return PairedDifference(float(diffs.mean()), float(low), float(high), len(diffs))
