"""Time in questions: a question that names a period ("10 days ago", "last Saturday", "on
1 May, 2022") ranks what happened then above look-alikes from other times, resolved
against the recall's `now` (or `as_of`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.fusion import Fused
from octomem.orchestrator.time_cues import boost_in_period, query_periods

JAN = datetime(2023, 1, 3, 18, 0, tzinfo=UTC)
MAR = datetime(2023, 3, 15, 18, 0, tzinfo=UTC)


def say(orch: Orchestrator, user: str, text: str, at: datetime) -> None:
    orch.process([{"role": "user", "content": text}], user_id=user, timestamp=at, infer=False)


def purchases(orch: Orchestrator, user: str) -> None:
    say(orch, user, "I bought a new toaster for the kitchen today.", JAN)
    say(orch, user, "My sister is visiting from Porto next spring.", JAN)
    say(orch, user, "I bought a new blender for the kitchen today.", MAR)
    say(orch, user, "The garden needs more sun than it gets.", MAR)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (MAR + timedelta(days=10), "blender"),
        (JAN + timedelta(days=10), "toaster"),
    ],
)
def test_a_period_named_in_the_question_ranks_what_happened_then_first(
    shared_orch: Orchestrator, uid: Callable[[str], str], now: datetime, expected: str
) -> None:
    orch, u = shared_orch, uid("u")
    purchases(orch, u)
    result = orch.recall("What kitchen appliance did I buy 10 days ago?", user_id=u, now=now)
    assert expected in result.hits[0].memory.content
    # each hit says what raised it: what was said then, by the time boost, and not the
    # turns of the other period
    said_then = {"blender": ("blender", "garden"), "toaster": ("toaster", "sister")}[expected]
    for hit in result.hits:
        boosted = hit.boosts == {"time": orch.settings.recall.time_boost}
        assert boosted == any(word in hit.memory.content for word in said_then), hit


def test_a_question_naming_no_period_keeps_its_ranking(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, u = shared_orch, uid("u")
    purchases(orch, u)
    question = "Which kitchen appliance did I buy?"
    plain = [h.memory.id for h in orch.recall(question, user_id=u, now=MAR).hits]
    later = [h.memory.id for h in orch.recall(question, user_id=u, now=JAN).hits]
    assert plain == later


def test_a_date_in_the_question_is_its_own_period() -> None:
    [(start, end)] = query_periods("What movie did Joanna watch on 1 May, 2022?", MAR)
    assert start <= datetime(2022, 5, 1, 20, tzinfo=UTC) < end
    assert not start <= datetime(2022, 6, 1, tzinfo=UTC) < end


def test_the_boost_never_lifts_a_hit_no_retriever_liked(make_record: Callable[..., object]) -> None:
    fused: Fused = [("a", 0.9, []), ("b", 0.5, []), ("c", 0.2, [])]
    records = {
        "a": make_record(MAR),
        "b": make_record(JAN),
        "c": make_record(JAN),
    }
    period = [(JAN - timedelta(days=1), JAN + timedelta(days=1))]
    boosted = boost_in_period(fused, records, period, 3.0)  # type: ignore[arg-type]
    assert [i for i, _, _ in boosted] == ["b", "a", "c"]  # b: 0.2 + 0.3 * 3 = 1.1
    assert dict((i, s) for i, s, _ in boosted)["c"] == 0.2  # the floor stays the floor
    assert boost_in_period(fused, records, [], 3.0) == fused  # type: ignore[arg-type]


@pytest.fixture
def make_record() -> Callable[[datetime], object]:
    from octomem.models import EpisodicMemory

    def make(at: datetime) -> object:
        return EpisodicMemory(
            id=f"m{at.month}",
            content="an event",
            summary="an event",
            actor="user",
            occurred_at=at,
            valid_from=at,
            user_id="u",
            event_type="event",
        )

    return make
