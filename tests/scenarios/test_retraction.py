"""Offline, end to end: a user takes a fact back ("I left Google", "we broke up") and the
fact stops being current, kept as history like an LLM DELETE; he/she in a later message
name the person they mean; a re-run of the same call changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from octomem import MemoryType, Orchestrator
from octomem.models import Operation
from octomem.orchestrator.reconcile import RETRACTED_BY, RETRACTED_TURNS
from tests.conftest import T0

LATER = T0 + timedelta(days=3)


def facts(orch: Orchestrator, user: str, *, everything: bool = False) -> list[Any]:
    return orch.get_all(
        user_id=user, memory_types=[MemoryType.SEMANTIC], include_superseded=everything
    )


def current(orch: Orchestrator, user: str) -> set[tuple[str, str, str]]:
    return {(f.subject, f.attribute, f.value) for f in facts(orch, user)}


def state(orch: Orchestrator, user: str) -> list[tuple[Any, ...]]:
    return sorted(
        (r.id, r.content_hash, r.valid_to, r.version) for r in facts(orch, user, everything=True)
    )


@pytest.mark.parametrize(
    ("first", "retraction", "fact"),
    [
        ("I live in Paris.", "I don't live in Paris anymore.", ("lives_in", "Paris")),
        ("I live in Paris.", "i moved out of paris last month", ("lives_in", "Paris")),
        ("I work at Acme Robotics.", "I quit my job at Acme.", ("works_at", "Acme Robotics")),
        ("I work at Google.", "I left Google.", ("works_at", "Google")),
        ("I work at Google.", "I got laid off last week.", ("works_at", "Google")),
        ("I'm vegetarian.", "I'm not vegetarian anymore.", ("diet", "vegetarian")),
        ("I'm vegan.", "I stopped being vegan.", ("diet", "vegan")),
        ("My boyfriend Tom is sweet.", "We broke up.", ("partner", "Tom")),
    ],
)
def test_a_retraction_closes_the_fact(
    shared_orch: Orchestrator,
    uid: Callable[[str], str],
    first: str,
    retraction: str,
    fact: tuple[str, str],
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(first, user_id=alice, timestamp=T0)
    assert ("user", *fact) in current(orch, alice)

    result = orch.process(retraction, user_id=alice, timestamp=LATER)

    [op] = [o for o in result.operations[MemoryType.SEMANTIC] if o.operation is Operation.DELETE]
    assert ("user", *fact) not in current(orch, alice)
    [old] = [f for f in facts(orch, alice, everything=True) if (f.attribute, f.value) == fact]
    assert op.memory_id == old.id
    assert old.valid_to == LATER and old.superseded_by is None
    [turn] = result.turns
    assert old.internal[RETRACTED_TURNS] == [turn.id] and old.internal[RETRACTED_BY]
    events = orch.history(old.id)
    assert [e.operation for e in events] == [Operation.ADD, Operation.DELETE]
    assert events[-1].record["internal"][RETRACTED_TURNS] == [turn.id]
    # the retraction itself is never a stored fact
    assert not [f for f in facts(orch, alice, everything=True) if "no longer" in f.content.lower()]

    before = state(orch, alice)
    again = orch.process(retraction, user_id=alice, timestamp=LATER)
    assert {o.operation for o in again.operations[MemoryType.SEMANTIC]} <= {Operation.NOOP}
    assert state(orch, alice) == before


def test_retracting_a_value_that_is_not_current_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("I live in Berlin and I work at Globex.", user_id=alice, timestamp=T0)
    before = state(orch, alice)
    result = orch.process(
        "I don't live in Paris anymore. I left Initech.", user_id=alice, timestamp=LATER
    )
    assert result.count(Operation.DELETE) == 0
    assert state(orch, alice) == before
    assert {("user", "lives_in", "Berlin"), ("user", "works_at", "Globex")} <= current(orch, alice)


def test_quitting_and_joining_in_one_message_keeps_the_new_job(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("I work at Initech.", user_id=alice, timestamp=T0)
    orch.process("I quit my job. I just joined Globex!", user_id=alice, timestamp=LATER)
    assert {f[2] for f in current(orch, alice) if f[1] == "works_at"} == {"Globex"}
    [initech] = [f for f in facts(orch, alice, everything=True) if f.value == "Initech"]
    assert initech.valid_to == LATER
    assert [e.operation for e in orch.history(initech.id)] == [Operation.ADD, Operation.DELETE]


def test_a_fact_taken_back_in_the_same_call_and_said_again_later(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    messages = [
        {"role": "user", "content": "I live in Paris."},
        {"role": "assistant", "content": "Lovely city!"},
        {"role": "user", "content": "Sorry, I don't live in Paris anymore, I moved out."},
    ]
    orch.process(messages, user_id=alice, timestamp=T0)
    assert not {f for f in current(orch, alice) if f[1] == "lives_in"}
    before = state(orch, alice)
    again = orch.process(messages, user_id=alice, timestamp=T0)
    assert {o.operation for o in again.operations[MemoryType.SEMANTIC]} == {Operation.NOOP}
    assert state(orch, alice) == before

    orch.process("I live in Paris again.", user_id=alice, timestamp=LATER)
    assert ("user", "lives_in", "Paris") in current(orch, alice)
    assert len([f for f in facts(orch, alice, everything=True) if f.value == "Paris"]) == 2


def test_he_and_she_across_messages(shared_orch: Orchestrator, uid: Callable[[str], str]) -> None:
    orch, alice = shared_orch, uid("alice")
    messages = [
        {"role": "user", "content": "My sister Maria lives in Madrid."},
        {"role": "assistant", "content": "Does she like it there?"},
        {"role": "user", "content": "Yes! She works at Telefonica."},
        {"role": "user", "content": "my brother Sam moved to Rome. he teaches there"},
    ]
    orch.process(messages, user_id=alice, timestamp=T0)
    stored = current(orch, alice)
    assert {
        ("Maria", "lives_in", "Madrid"),
        ("Maria", "works_at", "Telefonica"),
        ("Sam", "lives_in", "Rome"),
        ("Sam", "job", "teacher"),
    } <= stored
    assert not {f for f in stored if f[0] == "user" and f[1] in {"works_at", "job", "lives_in"}}
    before = state(orch, alice)
    orch.process(messages, user_id=alice, timestamp=T0)
    assert state(orch, alice) == before


def test_lowercase_chat_is_stored_with_capitalised_names(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(
        "ya i moved to lisbon last month, i work at google now", user_id=alice, timestamp=T0
    )
    assert {("user", "lives_in", "Lisbon"), ("user", "works_at", "Google")} <= current(orch, alice)
    orch.process("i left google lol", user_id=alice, timestamp=LATER)
    assert ("user", "works_at", "Google") not in current(orch, alice)
