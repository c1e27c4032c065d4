"""The caller's metadata is kept on every record derived from a message, apart from
octomem's own bookkeeping (`internal`), whatever names the caller uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from octomem import InvalidInputError, Memory, MemoryType, Orchestrator
from octomem.models import EpisodicMemory, SemanticMemory, embedding_text
from tests.conftest import T0

# named like octomem's own keys on purpose: they must come back exactly as given
MESSAGE_METADATA = {
    "source": "crm",
    "role": "caller-role",
    "batch": 7,
    "turn_index": "x",
    "raw": "no",
    "previous_turn": "mine",
}
CALL_METADATA = {"channel": "web", "batch": "call-level"}
EXPECTED = {**CALL_METADATA, **MESSAGE_METADATA}  # the message's own keys win


def _paris(orch: Orchestrator, user: str) -> tuple[EpisodicMemory, SemanticMemory]:
    result = orch.process(
        [{"role": "user", "content": "I live in Paris.", "metadata": MESSAGE_METADATA}],
        user_id=user,
        session_id="s1",
        metadata=CALL_METADATA,
        timestamp=T0,
    )
    turn = orch.get(result.turn_memory_ids[0])
    [fact] = [
        r for r in orch.get_all(user_id=user, memory_types=["semantic"]) if "Paris" in r.content
    ]
    assert isinstance(turn, EpisodicMemory) and isinstance(fact, SemanticMemory)
    return turn, fact


def test_message_and_call_metadata_reach_the_turn_and_what_is_extracted(
    shared_orch: Orchestrator,
    uid: Callable[[str], str],
) -> None:
    orch, alice = shared_orch, uid("alice")
    turn, fact = _paris(orch, alice)
    assert turn.metadata == EXPECTED
    assert fact.metadata == EXPECTED
    # octomem's bookkeeping is intact beside them
    assert turn.internal["role"] == "user" and turn.internal["raw"] is True
    assert turn.internal["turn_index"] == 0 and turn.internal["previous_turn"] == ""
    assert isinstance(turn.internal["batch"], str)
    assert embedding_text(turn) == turn.content  # the caller's previous_turn is no context

    # every record this message yielded (turn, fact, graph edge, core block) carries it
    stored = orch.get_all(user_id=alice)
    assert {turn.id, fact.id} < {r.id for r in stored}
    assert {r.memory_type for r in stored} >= {MemoryType.CORE, MemoryType.KNOWLEDGE}
    assert all(r.metadata == EXPECTED for r in stored)
    hits = orch.recall("where does alice live", user_id=alice).hits
    assert hits and all(h.memory.metadata == EXPECTED for h in hits)


def test_filters_on_the_callers_keys_never_match_octomems(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    turn, fact = _paris(orch, alice)
    orch.process("I love jazz.", user_id=alice, timestamp=T0 + timedelta(minutes=1))

    def found(filters: dict) -> set[str]:
        return {r.id for r in orch.get_all(user_id=alice, filters=filters)}

    paris = {r.id for r in orch.get_all(user_id=alice) if r.metadata}  # from that message
    assert {turn.id, fact.id} < paris < found({})
    assert found({"role": "caller-role"}) == paris
    assert found({"role": "user"}) == set()  # every raw turn's own role is "user"
    assert found({"raw": True}) == set() and found({"raw": "no"}) == paris
    assert found({"batch": 7, "turn_index": "x", "previous_turn": "mine"}) == paris
    assert found({"channel": "web", "source": "crm"}) == paris
    assert len(found({"internal.raw": True})) == 2  # octomem's keys, named as such
    recalled = orch.recall("Paris", user_id=alice, filters={"role": "caller-role"}).hits
    assert recalled and {h.id for h in recalled} <= paris
    assert orch.recall("Paris", user_id=alice, filters={"role": "user"}).hits == []


def test_later_messages_win_over_earlier_ones_and_the_call(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, bob = shared_orch, uid("bob")
    result = orch.process(
        [
            {"role": "user", "content": "I live in Rome.", "metadata": {"channel": "sms"}},
            {"role": "assistant", "content": "Rome is lovely.", "tag": "reply"},
            {"role": "user", "content": "My password is hunter22, keep it."},
        ],
        user_id=bob,
        metadata={"channel": "web", "campaign": 3},
        timestamp=T0,
    )
    first, second, third = (orch.get(i) for i in result.turn_memory_ids)
    assert first.metadata == {"channel": "sms", "campaign": 3}
    assert second.metadata == {"channel": "web", "campaign": 3, "tag": "reply"}
    assert third.metadata == {"channel": "web", "campaign": 3}
    # what octomem noted about a message is its own, on the turn and on what it yields
    assert third.internal["masked"] == ["password"] and "masked" not in third.metadata
    secret = [r for r in orch.get_all(user_id=bob, memory_types=["resource"]) if r.sensitive]
    assert secret and secret[0].internal["masked"] == ["password"]
    assert secret[0].metadata == {"channel": "web", "campaign": 3}


def test_update_merges_metadata_and_keeps_internal(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    turn, fact = _paris(orch, alice)
    updated = orch.update(fact.id, "Alice lives in Paris, France.", metadata={"role": "edited"})
    assert updated.metadata == {**EXPECTED, "role": "edited"}
    assert updated.internal == fact.internal
    assert orch.get(fact.id) == updated


def test_mem0_facade_returns_the_callers_metadata(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    memory = Memory(orch)
    memory.add(
        [{"role": "user", "content": "I live in Paris.", "metadata": MESSAGE_METADATA}],
        user_id=alice,
        metadata=CALL_METADATA,
    )
    items = memory.get_all(user_id=alice)["results"]
    assert items and all(item["metadata"] == EXPECTED for item in items)
    found = memory.search("where does alice live", user_id=alice, filters={"role": "caller-role"})
    assert found["results"] and all(i["metadata"] == EXPECTED for i in found["results"])
    assert memory.get_all(user_id=alice, filters={"role": "user"})["results"] == []


def test_named_speakers_reply_joins_recall_next_to_the_question(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """LoCoMo-style: a short reply is found through the question before it, even when the
    caller's metadata uses octomem's names for position and batch."""
    orch, caro = shared_orch, uid("caro")
    said = [
        ("Caroline", "I went to a pottery workshop yesterday with my cousin."),
        ("Melanie", "Which glaze colour did you pick for the vase you made there?"),
        ("Caroline", "A deep ocean blue, like the sea at my grandmother's place."),
        ("Melanie", "My dog learned to fetch the newspaper this week."),
        ("Caroline", "Ha, clever dog! Mine only chases pigeons in the park."),
    ]
    messages = [
        {
            "role": "user" if name == "Caroline" else "assistant",
            "name": name,
            "content": text,
            "metadata": {"batch": "same-for-all", "turn_index": 0, "role": "speaker"},
        }
        for name, text in said
    ]
    result = orch.process(messages, user_id=caro, session_id="d1", timestamp=T0, infer=False)
    reply_id = result.turn_memory_ids[2]
    hits = orch.recall("which glaze colour did Melanie ask about", user_id=caro).hits
    [reply] = [h for h in hits if h.id == reply_id]
    assert any(p.retriever == "context" for p in reply.provenance)
    assert reply.memory.metadata == {"batch": "same-for-all", "turn_index": 0, "role": "speaker"}
    assert orch.get(reply_id).internal["turn_index"] == 2
    assert MemoryType.EPISODIC in {h.memory_type for h in hits}


def test_update_with_metadata_only_keeps_the_text(orch: Any) -> None:
    result = orch.process("My favourite colour is teal.", user_id="meta-only")
    memory_id = next(
        op.memory_id for op in result.all_operations() if op.memory_type.value == "semantic"
    )
    before = orch.get(memory_id)
    after = orch.update(memory_id, None, metadata={"checked": True})
    assert after.content == before.content and after.metadata["checked"] is True
    assert [e.operation.value for e in orch.history(memory_id)][-1] == "UPDATE"
    with pytest.raises(InvalidInputError):
        orch.update(memory_id, None)


def test_a_filter_sees_a_rewritten_memorys_metadata_only(orch: Any) -> None:
    """The user's core block is rewritten in place when a fact changes; the metadata of
    the call that changed it is its own, and a filter on the earlier call's key finds
    only the memories that still carry it (the store once kept the old key too)."""
    orch.process("My favourite colour is blue.", user_id="bob", metadata={"topic": "a"})
    orch.process("My favourite colour is green.", user_id="bob", metadata={"src": "b"})
    everything = orch.get_all(user_id="bob", include_superseded=True)
    tagged = orch.get_all(user_id="bob", include_superseded=True, filters={"topic": "a"})
    assert sorted(r.id for r in tagged) == sorted(
        r.id for r in everything if r.metadata.get("topic") == "a"
    )
    assert any(r.version > 1 and r.metadata.get("src") == "b" for r in everything)
