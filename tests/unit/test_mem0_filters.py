"""Which scopes a mem0 v2 filter reaches (`octomem.mem0_filters.translate`): every
user it can match is read, none it cannot, and a pinned key reaches its user only."""

from __future__ import annotations

from typing import Any

import pytest

from octomem.errors import InvalidInputError
from octomem.mem0_filters import MAX_SCOPES, Scope, translate
from octomem.service.auth import Forbidden, Principal
from octomem.service.deps import Caller


def who(pinned: str | None = None) -> Caller:
    principal = Principal("k1", "default", ("read",), pinned, None)
    return Caller(principal, state=None)  # type: ignore[arg-type]  # scopes need no state


def scopes(filters: dict[str, Any] | None, pinned: str | None = None) -> list[Scope]:
    return translate(filters, reach=who(pinned).user)[0]


@pytest.mark.parametrize(
    ("filters", "reached"),
    [
        ({"user_id": "a"}, [Scope("a")]),
        ({"user_id": {"in": ["b", "a"]}}, [Scope("a"), Scope("b")]),
        (
            {"$or": [{"user_id": "a"}, {"AND": [{"user_id": "b"}, {"x": 1}]}]},
            [Scope("a"), Scope("b")],
        ),
        ({"AND": [{"user_id": {"in": ["a", "b"]}}, {"user_id": "b"}]}, [Scope("b")]),
        ({"AND": [{"user_id": "a"}, {"user_id": "b"}]}, []),  # no record is both
        ({"agent_id": "bot"}, [Scope(None, "bot")]),  # memories stored without a user
        ({"agent_id": {"in": ["x", "y"]}, "run_id": "r1"}, [Scope(None, "x"), Scope(None, "y")]),
    ],
)
def test_a_project_key_reads_exactly_the_users_named(
    filters: dict[str, Any], reached: list[Scope]
) -> None:
    assert scopes(filters) == reached


@pytest.mark.parametrize(
    "filters",
    [
        None,
        {},
        {"user_id": "*"},
        {"user_id": {"ne": "a"}},
        {"NOT": {"user_id": "a"}},
        {"OR": [{"user_id": "a"}, {"agent_id": "bot"}]},  # the bot's memories of any user
        {"metadata": {"topic": "food"}},
        {"user_id": {"in": [f"u{i}" for i in range(MAX_SCOPES + 1)]}},
    ],
)
def test_a_filter_that_cannot_say_whom_it_reads_is_refused(filters: Any) -> None:
    with pytest.raises(InvalidInputError):
        scopes(filters)


@pytest.mark.parametrize("field", ["app_id", "keywords", "timestamp"])
def test_fields_octomem_cannot_honour_are_refused(field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        scopes({"user_id": "a", field: "x"})


def test_run_id_reads_octomem_session_id() -> None:
    _, where = translate({"user_id": "a", "run_id": "r1"}, reach=who().user)
    assert {"session_id": {"eq": "r1"}} in where["AND"]


def test_a_run_id_is_compared_as_given_as_session_ids_are() -> None:
    # cleaned like text, "r\u200b1" would read session "r1", another session of the user
    _, where = translate({"user_id": "a", "run_id": {"in": ["r\u200b1", "r2"]}}, reach=who().user)
    assert {"session_id": {"in": ["r\u200b1", "r2"]}} in where["AND"]
    with pytest.raises(InvalidInputError, match="control character"):
        translate({"user_id": "a", "NOT": {"run_id": "r\x001"}}, reach=who().user)


@pytest.mark.parametrize(
    "filters",
    [
        {"user_id": "bob"},
        {"OR": [{"user_id": "alice"}, {"user_id": "bob"}]},
        {"user_id": {"in": ["alice", "bob"]}},
        {"AND": [{"metadata": {"x": 1}}, {"OR": [{"user_id": "bob"}, {"user_id": "bob"}]}]},
    ],
)
def test_a_pinned_key_naming_another_user_anywhere_is_forbidden(filters: Any) -> None:
    with pytest.raises(Forbidden):
        scopes(filters, pinned="alice")


@pytest.mark.parametrize(
    "filters",
    [
        None,
        {},
        {"user_id": "alice"},
        {"user_id": "*"},
        {"user_id": {"ne": "bob"}},
        {"agent_id": "x"},
    ],
)
def test_a_pinned_key_reads_its_own_user_only(filters: Any) -> None:
    assert scopes(filters, pinned="alice") == [Scope("alice")]
