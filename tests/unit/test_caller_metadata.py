"""How a record's metadata is made from the call's and its source messages' metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from octomem.models import SemanticMemory, SourceRef, Turn
from octomem.orchestrator.process.context import with_caller_metadata

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def turn(n: int, metadata: dict, internal: dict | None = None) -> Turn:
    return Turn(
        id=f"t{n}",
        role="user",
        content=f"turn {n}",
        timestamp=T0,
        index=n,
        metadata=metadata,
        internal=internal or {},
    )


def fact(*turn_ids: str, **fields: dict) -> SemanticMemory:
    return SemanticMemory(
        id="sem_1",
        content="Alice lives in Paris",
        subject="alice",
        attribute="lives_in",
        value="Paris",
        source=SourceRef(turn_ids=list(turn_ids)),
        **fields,
    )


TURNS = [
    turn(0, {"channel": "sms", "a": 0}, {"masked": ["password"]}),
    turn(1, {"channel": "chat", "b": 1}),
    turn(2, {"a": 2, "c": 2}, {"masked": ["api_key", "password"], "non_text_parts": ["image"]}),
]


def test_call_then_source_messages_in_order_later_winning() -> None:
    record = with_caller_metadata(fact("t2", "t0"), TURNS, {"channel": "web", "z": 9})
    # t1 is no source; t0 then t2, whatever the order of source.turn_ids
    assert record.metadata == {"channel": "sms", "z": 9, "a": 2, "c": 2}
    assert record.internal == {"masked": ["password", "api_key"], "non_text_parts": ["image"]}


def test_the_records_own_keys_win_and_nothing_changes_without_metadata() -> None:
    own = fact("t1", metadata={"b": "own"}, internal={"relation": "sister"})
    record = with_caller_metadata(own, TURNS, None)
    assert record.metadata == {"channel": "chat", "b": "own"}
    assert record.internal == {"relation": "sister"}
    bare = fact("t9")
    assert with_caller_metadata(bare, TURNS, None) is bare
    assert with_caller_metadata(bare, TURNS, {"k": 1}).metadata == {"k": 1}
