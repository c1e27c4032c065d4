"""Time in questions: hits from the period a query names rank higher.

"What did I buy 10 days ago?", "Who did I go with last Saturday?", "What did I watch in
January?": the period is resolved against the recall's time (`as_of`, else `now`) with
`language.dates`, and a hit whose event time (when it happened, else when it became
valid) falls in it, widened by a margin for loose wording ("10 days ago" is rarely exact),
has the part of its score above the lowest fused score multiplied by the boost - as
`fusion.boost_named_actors` does for people - so the boost never lifts a hit that no
retriever liked and never drops one. A query naming no period, or a period in which no
hit falls, keeps its ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from octomem.language.dates import TimeRef, find_times
from octomem.models import MemoryBase
from octomem.orchestrator.fusion import Fused, rescaled

# how far past each end of a named period an event still counts as in it
MARGIN = {
    "day": timedelta(days=3),
    "weekend": timedelta(days=3),
    "week": timedelta(days=4),
    "month": timedelta(days=7),
    "season": timedelta(days=14),
    "year": timedelta(days=30),
}


def query_periods(query: str, at: datetime) -> list[tuple[datetime, datetime]]:
    """The periods the query names, resolved against `at`, each widened by its margin:
    (start, exclusive end)."""
    return [_widened(ref) for ref in find_times(query, at, "past")]


def _widened(ref: TimeRef) -> tuple[datetime, datetime]:
    margin = MARGIN.get(ref.granularity, timedelta(days=3))
    return ref.start - margin, ref.end() + margin


def event_time(record: MemoryBase) -> datetime:
    """When what a memory says happened: its `occurred_at` (events, turns), else the start
    of its validity."""
    occurred = getattr(record, "occurred_at", None)
    return occurred if isinstance(occurred, datetime) else record.valid_from


def boost_in_period(
    fused: Fused,
    records: Mapping[str, MemoryBase],
    periods: Sequence[tuple[datetime, datetime]],
    boost: float,
) -> Fused:
    """Raise the hits whose event time falls in one of `periods` (see the module)."""
    if boost == 1.0 or not periods:
        return fused

    def factor(memory_id: str) -> float:
        record = records.get(memory_id)
        if record is None:
            return 1.0
        when = event_time(record)
        return boost if any(start <= when < end for start, end in periods) else 1.0

    return rescaled(fused, factor)
