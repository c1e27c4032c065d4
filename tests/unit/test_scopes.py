"""Whose records a scope filter selects: the user always, the agent and the session when
named, and - named as None - only the records that have none."""

from __future__ import annotations

from datetime import UTC, datetime

from octomem import filters
from octomem.models import SemanticMemory
from octomem.scopes import ANY, given, scope_filter

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def fact(user: str | None, agent: str | None, session: str | None = None) -> SemanticMemory:
    return SemanticMemory(
        id=f"sem_{user}_{agent}_{session}",
        user_id=user,
        agent_id=agent,
        session_id=session,
        content="Alice lives in Paris",
        subject="user",
        attribute="city",
        value="Paris",
        created_at=T0,
    )


RECORDS = [
    fact("alice", None),
    fact("alice", "bot"),
    fact("alice", "bot", "s1"),
    fact("alice", "other"),
    fact("bob", "bot"),
    fact(None, "bot"),
]


def selected(where: dict[str, object]) -> list[tuple[str | None, str | None, str | None]]:
    test = filters.predicate(where)
    return [(r.user_id, r.agent_id, r.session_id) for r in RECORDS if test(r)]


def test_the_user_alone_selects_every_agent_and_session_of_that_user() -> None:
    assert selected(scope_filter("alice")) == [
        ("alice", None, None),
        ("alice", "bot", None),
        ("alice", "bot", "s1"),
        ("alice", "other", None),
    ]
    assert selected(scope_filter(None)) == [(None, "bot", None)]


def test_an_agent_named_as_none_selects_only_records_without_an_agent() -> None:
    assert selected(scope_filter("alice", None)) == [("alice", None, None)]
    assert selected(scope_filter("alice", "bot")) == [
        ("alice", "bot", None),
        ("alice", "bot", "s1"),
    ]
    assert selected(scope_filter("alice", "bot", None)) == [("alice", "bot", None)]
    assert selected(scope_filter("alice", ANY, "s1")) == [("alice", "bot", "s1")]


def test_an_optional_argument_of_none_leaves_the_agent_open() -> None:
    assert given(None) is ANY
    assert selected(scope_filter("alice", given(None))) == selected(scope_filter("alice"))
    assert selected(scope_filter("alice", given("other"))) == [("alice", "other", None)]


def test_further_filters_narrow_and_empty_ones_are_skipped() -> None:
    where = scope_filter("alice", "bot", ANY, None, {}, {"session_id": {"exists": True}})
    assert selected(where) == [("alice", "bot", "s1")]
