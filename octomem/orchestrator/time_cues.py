"""Time in questions: hits from the period a query names rank higher.

"What did I buy 10 days ago?": the period is resolved against the recall's time (`as_of`,
else `now`), widened by a margin for loose wording ("10 days ago" is rarely exact); a hit
whose event time falls in it is raised as `fusion.rescaled` raises, so the boost never
lifts a hit that no retriever liked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from octomem.language.dates import find_times
from octomem.models import MemoryBase
from octomem.orchestrator.fusion import Applied, Fused, rescaled

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
    refs = find_times(query, at, "past")
    margins = [MARGIN.get(ref.granularity, timedelta(days=3)) for ref in refs]
    return [(ref.start - m, ref.end() + m) for ref, m in zip(refs, margins, strict=True)]


def boost_in_period(
    fused: Fused,
    records: Mapping[str, MemoryBase],
    periods: Sequence[tuple[datetime, datetime]],
    boost: float,
    applied: Applied | None = None,
) -> Fused:
    """Raise the hits whose event time falls in one of `periods` (see the module)."""
    if boost == 1.0 or not periods:
        return fused

    def factor(memory_id: str) -> float:
        record = records.get(memory_id)
        if record is None:
            return 1.0
        # when what it says happened (events, turns), else the start of its validity
        occurred = getattr(record, "occurred_at", None)
        when = occurred if isinstance(occurred, datetime) else record.valid_from
        return boost if any(start <= when < end for start, end in periods) else 1.0

    return rescaled(fused, factor, "time", applied)
