"""Bad input gets a clear octomem error and leaves what is stored untouched."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from octomem import InvalidInputError, NotFoundError, Orchestrator


@pytest.fixture
def seeded(shared_orch: Orchestrator, uid: Callable[[str], str]) -> Orchestrator:
    """The shared store, where the test's user `uid("alice")` said where she lives."""
    shared_orch.process("I'm Alice. I live in Paris.", user_id=uid("alice"))
    return shared_orch


def _snapshot(orch: Orchestrator, user: str) -> list[tuple[str, str]]:
    return [(r.id, r.content_hash) for r in orch.get_all(user_id=user, include_superseded=True)]


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ([], "empty list"),
        ([{"role": "robot", "content": "hi"}], "role 'robot'"),
        ([{"role": "user", "content": 42}], "content"),
        ([{"role": "user", "content": None}], "content"),
        ([{"role": "user"}], "content"),
        ([{"role": "user", "content": "x" * 1_000_000}], "limit"),
        ([{"role": "user", "content": "bad \ud800 surrogate"}], "surrogate"),
        ([{"role": "user", "content": "fine"}, {"role": "user", "content": " "}], "messages[1]"),
        (12345, "messages"),
        (  # one message id for two turns: one raw turn would hide the other
            [
                {"role": "user", "content": "I play chess.", "id": "m1"},
                {"role": "user", "content": "And I like tea.", "id": "m1"},
            ],
            "messages[1]: id 'm1' is also the id of messages[0]",
        ),
    ],
)
def test_bad_messages_are_rejected_and_nothing_changes(
    seeded: Orchestrator, uid: Callable[[str], str], messages: object, says: str
) -> None:
    alice = uid("alice")
    before = _snapshot(seeded, alice)
    with pytest.raises(InvalidInputError) as caught:
        seeded.process(messages, user_id=alice)
    assert says.lower() in str(caught.value).lower()
    assert _snapshot(seeded, alice) == before


def test_missing_user_id(seeded: Orchestrator) -> None:
    with pytest.raises(InvalidInputError, match="user_id"):
        seeded.process("I live in Rome.")
    with pytest.raises(InvalidInputError, match="user_id"):
        seeded.recall("where do I live?")
    with pytest.raises(InvalidInputError, match="user_id"):
        seeded.process("I live in Rome.", user_id="  ")


def test_bad_recall_arguments(seeded: Orchestrator, uid: Callable[[str], str]) -> None:
    alice = uid("alice")
    with pytest.raises(InvalidInputError, match="query"):
        seeded.recall("  ", user_id=alice)
    with pytest.raises(InvalidInputError, match="limit"):
        seeded.recall("paris", user_id=alice, limit=0)
    with pytest.raises(InvalidInputError, match="memory type"):
        seeded.recall("paris", user_id=alice, memory_types=["dreams"])
    with pytest.raises(InvalidInputError, match="operator"):
        seeded.recall("paris", user_id=alice, filters={"city": {"near": "x"}})


def test_unknown_memory_ids(seeded: Orchestrator, uid: Callable[[str], str]) -> None:
    alice = uid("alice")
    before = _snapshot(seeded, alice)
    for bad in ("sem_doesnotexist", "no-such-id", "kg_"):
        with pytest.raises(NotFoundError):
            seeded.get(bad)
        with pytest.raises(NotFoundError):
            seeded.delete(bad)
        with pytest.raises(NotFoundError):
            seeded.update(bad, "new text")
        with pytest.raises(NotFoundError):
            seeded.history(bad)
    with pytest.raises(InvalidInputError):
        seeded.get("")
    # a lone surrogate (a command line's undecodable byte): the id's error, not a store's
    for call in (seeded.get, seeded.delete, seeded.history, lambda i: seeded.update(i, "x")):
        with pytest.raises(InvalidInputError, match="memory id contains a lone surrogate"):
            call("sem_\udcff")
    assert _snapshot(seeded, alice) == before


def test_closed_orchestrator_says_so(make_orch) -> None:
    orch = make_orch()
    orch.close()
    with pytest.raises(InvalidInputError, match="closed"):
        orch.recall("x", user_id="alice")


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"messages": [{"role": "user", "content": "today", "timestamp": "9999-12-31"}]}, "range"),
        ({"messages": "I live in Rome today.", "timestamp": datetime(9999, 12, 31)}, "range"),
        ({"messages": [{"role": "user", "content": "x", "timestamp": -1e11}]}, "range"),
        ({"memory_types": 5}, "memory_types"),
        ({"memory_types": [None]}, "memory type"),
        ({"memory_types": {"semantic": 1}}, "memory_types"),
        ({"metadata": {"when": datetime(2026, 1, 1)}}, "JSON"),
        ({"metadata": {"tags": {"a", "b"}}}, "JSON"),
        ({"metadata": {"score": float("nan")}}, "finite"),
        ({"metadata": {1: "one"}}, "keys must be strings"),
        ({"metadata": "source=chat"}, "dict"),
        ({"messages": [{"role": "user", "content": "hi", "metadata": {"x": object()}}]}, "JSON"),
        ({"timestamp": "2026-01-01"}, "datetime"),
        ({"infer": "yes"}, "infer"),
    ],
)
def test_bad_process_arguments_write_nothing(
    seeded: Orchestrator, uid: Callable[[str], str], kwargs: dict[str, Any], says: str
) -> None:
    alice = uid("alice")
    before = _snapshot(seeded, alice)
    kwargs = {"messages": "I moved to Rome.", **kwargs}
    with pytest.raises(InvalidInputError) as caught:
        seeded.process(kwargs.pop("messages"), user_id=alice, **kwargs)
    assert says.lower() in str(caught.value).lower()
    assert _snapshot(seeded, alice) == before


def test_bad_read_and_update_arguments(seeded: Orchestrator, uid: Callable[[str], str]) -> None:
    alice = uid("alice")
    limit = seeded.settings.input.max_message_chars
    memory_id = seeded.get_all(user_id=alice)[0].id
    before = _snapshot(seeded, alice)
    for bad in (-1, 0, True, "5", 2.5):
        with pytest.raises(InvalidInputError, match="limit"):
            seeded.get_all(user_id=alice, limit=bad)
        with pytest.raises(InvalidInputError, match="limit"):
            seeded.recall("paris", user_id=alice, limit=bad)
    with pytest.raises(InvalidInputError, match="limit is"):
        seeded.recall("paris " * limit, user_id=alice)
    with pytest.raises(InvalidInputError, match="surrogate"):
        seeded.recall("bad \ud800 query", user_id=alice)
    with pytest.raises(InvalidInputError, match="now"):
        seeded.recall("paris", user_id=alice, now="2026-01-01")
    with pytest.raises(InvalidInputError, match="include_superseded"):
        seeded.get_all(user_id=alice, include_superseded="no")
    with pytest.raises(InvalidInputError, match="limit is"):
        seeded.update(memory_id, "x" * (limit + 1))
    with pytest.raises(InvalidInputError, match="JSON"):
        seeded.update(memory_id, "Alice lives in Rome.", metadata={"at": datetime.now()})
    with pytest.raises(InvalidInputError, match="update text"):
        seeded.update(memory_id, "   ")
    with pytest.raises(InvalidInputError, match="repair"):
        seeded.check(repair="yes")
    assert _snapshot(seeded, alice) == before
    assert seeded.get_all(user_id=alice, limit=1) == seeded.get_all(user_id=alice)[:1]


# --- values Python itself cannot handle: each is octomem's error, and nothing is written

HUGE = 10**5000  # str() of it raises ValueError (Python's 4,300-digit limit)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


DEEP = _nested(100_000)  # repr() or json of it raises RecursionError
# in datetime's range, but not in UTC: astimezone raises OverflowError
EDGE = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
EDGE_TEXT = "9999-12-31T23:59:59-12:00"

Call = Callable[[Orchestrator, str], object]
FOREIGN: dict[str, tuple[Call, str]] = {
    "metadata int": (
        lambda o, u: o.process("I like tea.", user_id=u, metadata={"n": HUGE}),
        "out of range",
    ),
    "a message's extra key": (
        lambda o, u: o.process([{"role": "user", "content": "I like tea.", "n": HUGE}], user_id=u),
        "out of range",
    ),
    "a message key": (
        lambda o, u: o.process([{"role": "user", "content": "I like tea.", HUGE: 1}], user_id=u),
        "out of range",
    ),
    "a message id": (
        lambda o, u: o.process([{"role": "user", "content": "I like tea.", "id": HUGE}], user_id=u),
        "out of range",
    ),
    "a message role": (
        lambda o, u: o.process([{"role": DEEP, "content": "I like tea."}], user_id=u),
        "role",
    ),
    "an epoch timestamp": (
        lambda o, u: o.process(
            [{"role": "user", "content": "I like tea.", "timestamp": HUGE}], user_id=u
        ),
        "out of range",
    ),
    "a timestamp at the edge of datetime's range": (
        lambda o, u: o.process("I like tea.", user_id=u, timestamp=EDGE),
        "out of range",
    ),
    "a message timestamp at the edge of datetime's range": (
        lambda o, u: o.process(
            [{"role": "user", "content": "I like tea.", "timestamp": EDGE_TEXT}], user_id=u
        ),
        "out of range",
    ),
    "a recall's as_of at the edge of datetime's range": (
        lambda o, u: o.recall("tea", user_id=u, as_of=EDGE),
        "out of range",
    ),
    "a get_all's as_of at the edge of datetime's range": (
        lambda o, u: o.get_all(user_id=u, as_of=EDGE),
        "out of range",
    ),
    "tool call arguments": (
        lambda o, u: o.process(
            [{"role": "assistant", "content": "", "tool_calls": [{"name": "f", "args": DEEP}]}],
            user_id=u,
        ),
        "nested",
    ),
    "a recall filter": (
        lambda o, u: o.recall("tea", user_id=u, filters={"n": HUGE}),
        "out of range",
    ),
    "a recall filter's list": (
        lambda o, u: o.recall("tea", user_id=u, filters={"n": {"in": DEEP}}),
        "nested",
    ),
    "a get_all filter": (lambda o, u: o.get_all(user_id=u, filters=DEEP), "must be a dict"),
    "a range operand": (
        lambda o, u: o.get_all(user_id=u, filters={"confidence": {"gt": HUGE}}),
        "out of range",
    ),
    "limit": (lambda o, u: o.get_all(user_id=u, limit=-HUGE), "limit"),
    "memory_types": (lambda o, u: o.get_all(user_id=u, memory_types=DEEP), "memory type"),
    "a flag": (lambda o, u: o.get_all(user_id=u, include_superseded=HUGE), "include_superseded"),
    "a query": (lambda o, u: o.recall(HUGE, user_id=u), "query"),
    "a memory id": (lambda o, u: o.get(HUGE), "memory id"),
    "update metadata": (
        lambda o, u: o.update(o.get_all(user_id=u)[0].id, "I live in Rome.", metadata={"n": HUGE}),
        "out of range",
    ),
    "an import line's integer": (
        lambda o, u: o.import_jsonl(io.StringIO('{"type": "header", "n": ' + "1" * 5000 + "}\n")),
        "digits",
    ),
    "an import line's nesting": (
        lambda o, u: o.import_jsonl(io.StringIO("[" * 100_000 + "]" * 100_000 + "\n")),
        "nested",
    ),
}


@pytest.mark.parametrize("case", FOREIGN)
def test_values_python_cannot_handle_are_invalid_input(
    seeded: Orchestrator, uid: Callable[[str], str], case: str
) -> None:
    """Integers over 4,300 digits (ValueError when made text) and deep nesting
    (RecursionError) anywhere a caller gives a value: InvalidInputError saying what is
    wrong, and nothing written."""
    call, says = FOREIGN[case]
    alice = uid("alice")
    before = seeded.stats(), _snapshot(seeded, alice)
    with pytest.raises(InvalidInputError, match=says):
        call(seeded, alice)
    assert (seeded.stats(), _snapshot(seeded, alice)) == before


@pytest.mark.parametrize("number", [2**53, -(2**53), 2**63, 2**64, 10**400])
def test_integers_the_stores_cannot_hold_exactly_are_refused_before_any_write(
    make_orch: Any, number: int
) -> None:
    """Chroma compares numbers as doubles and turns integers beyond int64 into floats;
    10**400 used to be half written (its journal entry could never complete, so every
    later write failed). Integers must lie within +-(2**53 - 1)."""
    orch = make_orch()
    with pytest.raises(InvalidInputError, match="out of range"):
        orch.process("I like tea.", user_id="alice", metadata={"n": number}, infer=False)
    assert orch.stats().totals.model_dump() == {"memories": 0, "current": 0, "history_events": 0}
    assert orch.check().consistent
    orch.process("I like tea.", user_id="alice", metadata={"n": 2**53 - 1}, infer=False)
    (turn,) = orch.get_all(user_id="alice", filters={"n": 2**53 - 1})
    assert turn.metadata == {"n": 2**53 - 1}


def test_values_are_held_to_the_message_limit(make_orch: Any) -> None:
    """A stored value is at most input.max_message_chars characters as JSON, as a message."""
    orch = make_orch(input={"max_message_chars": 1_000})
    with pytest.raises(InvalidInputError, match="limit is 1,000"):
        orch.process("I like tea.", user_id="alice", metadata={"note": "x" * 1_000})
    orch.process("I like tea.", user_id="alice", metadata={"note": "x" * 900}, infer=False)
    (turn,) = orch.get_all(user_id="alice")
    with pytest.raises(InvalidInputError, match="limit is 1,000"):  # merged with what is there
        orch.update(turn.id, "I like green tea.", metadata={"more": "y" * 900})
    assert orch.get(turn.id).metadata == {"note": "x" * 900}


def test_close_refuses_a_timeout_it_cannot_wait_and_stays_usable(make_orch: Any) -> None:
    orch = make_orch()
    for bad in (HUGE, -1, float("nan"), "30"):
        with pytest.raises(InvalidInputError, match="timeout"):
            orch.close(timeout=bad)
    assert orch.stats().totals.memories == 0  # still open
    orch.close(timeout=1)
