"""process() then recall() end to end, offline, on the embedded defaults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from octomem import MemoryType, Operation, Orchestrator, SemanticMemory, StoreError
from octomem.models import Entity, KnowledgeMemory, WorkingMemory, utcnow
from octomem.orchestrator.internals import services_of
from tests.conftest import T0
from tests.invariants import relations_of


def _current(orch: Orchestrator, user: str, memory_type: MemoryType, **where: str) -> list:
    records = orch.get_all(user_id=user, memory_types=[memory_type])
    return [r for r in records if all(getattr(r, k, None) == v for k, v in where.items())]


def test_same_fact_twice_is_one_memory(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    first = orch.process("I live in Paris.", user_id=alice, timestamp=T0)
    second = orch.process("I live in Paris.", user_id=alice, timestamp=T0 + timedelta(days=1))

    assert first.count(Operation.ADD) >= 1
    semantic_ops = second.operations.get(MemoryType.SEMANTIC, [])
    assert semantic_ops and all(op.operation is Operation.NOOP for op in semantic_ops)
    assert len(_current(orch, alice, MemoryType.SEMANTIC, attribute="lives_in")) == 1
    # both raw turns are kept: they were said at different times
    assert len(second.turn_memory_ids) == 1
    assert second.turn_memory_ids != first.turn_memory_ids


def test_near_duplicate_updates_instead_of_adding(make_orch) -> None:
    orch = make_orch(reconcile={"near_duplicate_threshold": 0.8})
    orch.process("Yesterday I went to the Louvre museum with Tom.", user_id="alice", timestamp=T0)
    result = orch.process(
        "Yesterday I went to the Louvre museum with Tom and Maria.", user_id="alice", timestamp=T0
    )

    events = [e for e in _current(orch, "alice", MemoryType.EPISODIC) if e.event_type != "message"]
    assert len(events) == 1, [e.content for e in events]
    ops = result.operations[MemoryType.EPISODIC]
    assert [op.operation for op in ops] == [Operation.UPDATE]
    assert "Maria" in events[0].content


def test_move_supersedes_and_keeps_history(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("Hi, I'm Alice. I live in Paris.", user_id=alice, session_id="s1", timestamp=T0)
    result = orch.process(
        "Big news: I moved to Berlin!",
        user_id=alice,
        session_id="s2",
        timestamp=T0 + timedelta(days=30),
    )

    ops = result.operations[MemoryType.SEMANTIC]
    assert any(
        op.operation is Operation.SUPERSEDE and "Paris" in (op.previous_text or "") for op in ops
    )
    current = _current(orch, alice, MemoryType.SEMANTIC, attribute="lives_in")
    assert [r.value for r in current] == ["Berlin"]

    everything = orch.get_all(user_id=alice, memory_types=["semantic"], include_superseded=True)
    [paris] = [r for r in everything if isinstance(r, SemanticMemory) and r.value == "Paris"]
    assert paris.valid_to == T0 + timedelta(days=30)
    assert paris.superseded_by == current[0].id
    assert [e.operation for e in orch.history(paris.id)] == [Operation.ADD, Operation.SUPERSEDE]

    hits = orch.recall("Where does Alice live?", user_id=alice)
    texts = " ".join(hits.texts())
    assert "Berlin" in texts
    assert not any(
        isinstance(h.memory, SemanticMemory) and h.memory.value == "Paris" for h in hits.hits
    )
    with_history = orch.recall(
        "Where did Alice live in Paris?", user_id=alice, include_superseded=True
    )
    [old_hit] = [h for h in with_history.hits if h.memory.content == paris.content]
    assert not old_hit.memory.is_current
    # the semantic fact and its knowledge edge say the same: one hit, both provenances
    assert {p.agent for p in old_hit.provenance} >= {MemoryType.SEMANTIC}


def test_move_invalidates_the_graph_edge(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("I live in Paris.", user_id=alice, timestamp=T0)
    orch.process("I moved to Berlin.", user_id=alice, timestamp=T0 + timedelta(days=3))

    knowledge = orch.get_all(user_id=alice, memory_types=["knowledge"], include_superseded=True)
    lives = [k for k in knowledge if isinstance(k, KnowledgeMemory) and k.predicate == "LIVES_IN"]
    assert {k.object: k.is_current for k in lives} == {"Paris": False, "Berlin": True}

    graph = services_of(orch).graph
    edges = orch.run_sync(relations_of(graph, alice, predicate="LIVES_IN", include_invalid=True))
    paris_id = Entity.make_id(alice, "Paris")
    [paris_edge] = [e for e in edges if e.object_id == paris_id]
    assert paris_edge.invalid_at == T0 + timedelta(days=3)
    current_edges = orch.run_sync(relations_of(graph, alice, predicate="LIVES_IN"))
    assert [e.object_id for e in current_edges] == [Entity.make_id(alice, "Berlin")]


def test_working_memory_expires(shared_orch: Orchestrator, uid: Callable[[str], str]) -> None:
    orch, alice = shared_orch, uid("alice")
    old = utcnow() - timedelta(days=3)
    orch.process("I'm working on the tax report.", user_id=alice, session_id="s1", timestamp=old)
    orch.process("I'm working on the keynote slides.", user_id=alice, session_id="s2")

    working = orch.get_all(user_id=alice, memory_types=["working"], include_superseded=True)
    assert len(working) == 2 and all(isinstance(w, WorkingMemory) for w in working)
    hits = orch.recall("what am I working on?", user_id=alice, memory_types=["working"])
    texts = " ".join(hits.texts())
    assert "keynote" in texts
    assert "tax report" not in texts
    assert all(h.memory.is_live(utcnow()) for h in hits.hits)


def test_contextual_keeps_latest_per_kind(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("I'm at the airport, writing from my phone.", user_id=alice, timestamp=T0)
    orch.process("I'm in Tokyo this week.", user_id=alice, timestamp=T0 + timedelta(hours=8))

    current = orch.get_all(user_id=alice, memory_types=["contextual"])
    locations = [c for c in current if c.kind == "location"]
    assert len(locations) == 1 and "Tokyo" in locations[0].value
    assert any(c.kind == "device" for c in current)


def test_interrupted_process_finishes_on_retry(orch: Orchestrator, monkeypatch) -> None:
    conversation = [
        {"role": "user", "content": "My name is Alice. I live in Paris and I work at Acme."},
        {"role": "user", "content": "Here is the plan: https://example.com/plan.pdf"},
    ]
    vector = services_of(orch).vector
    real_upsert = vector.upsert
    calls = {"n": 0}

    async def flaky_upsert(memory_type, records, embeddings, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # raw turns were written; the extracted memories die half-way
            raise StoreError("simulated crash")
        return await real_upsert(memory_type, records, embeddings, **kwargs)

    monkeypatch.setattr(vector, "upsert", flaky_upsert)
    with pytest.raises(StoreError):
        orch.process(conversation, user_id="alice", session_id="s1", timestamp=T0)
    monkeypatch.setattr(vector, "upsert", real_upsert)
    retry = orch.process(conversation, user_id="alice", session_id="s1", timestamp=T0)
    again = orch.process(conversation, user_id="alice", session_id="s1", timestamp=T0)

    # the retry first completes the interrupted write from the journal (under the lock),
    # so what it extracts again is found stored
    assert retry.count(Operation.UPDATE) == 0
    assert again.count(Operation.ADD) == 0 and again.count(Operation.UPDATE) == 0
    stored = orch.get_all(user_id="alice", include_superseded=True)
    assert {"Paris", "Acme"} <= {getattr(r, "value", None) for r in stored}
    ids = [r.id for r in stored]
    assert len(ids) == len(set(ids))
    assert len([r for r in stored if getattr(r, "event_type", None) == "message"]) == 2
    for record in stored:  # one ADD per memory in the log, however often it was written
        history = orch.history(record.id)
        assert [e.operation for e in history].count(Operation.ADD) == 1
    # the keyword index holds each memory once
    found = orch.run_sync(services_of(orch).keyword.search("Paris", user_id="alice", limit=50))
    assert len(found) == len({i for i, _, _ in found})


def test_reply_is_found_by_the_words_of_the_turn_before_it(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    messages = [
        {"role": "user", "content": "I played guitar at a friend's concert last night."},
        {"role": "assistant", "content": "How did the crowd like it?"},
        {"role": "user", "content": "My aunt visited from Lisbon and brought pastries."},
        {"role": "assistant", "content": "Which instrument did your uncle teach you as a kid?"},
        {"role": "user", "content": "Mostly the old songs from his village, on weekends."},
        {"role": "assistant", "content": "That is a lovely tradition."},
    ]
    result = orch.process(messages, user_id=alice, timestamp=T0, infer=False)
    question_id, reply_id = result.turn_memory_ids[3:5]

    reply = orch.get(reply_id)
    assert reply.content == "user: Mostly the old songs from his village, on weekends."
    assert reply.internal["previous_turn"] == (
        "assistant: Which instrument did your uncle teach you as a kid?"
    )
    assert orch.get(result.turn_memory_ids[0]).internal["previous_turn"] == ""
    # the reply names neither instrument nor uncle, yet it comes right after the question
    # it answers (by its embedding and by its keyword context), before the guitar turn
    hits = orch.recall("what instrument did the uncle teach", user_id=alice, limit=3).hits
    assert [h.memory.id for h in hits[:2]] == [question_id, reply_id]
    assert {p.retriever for p in hits[1].provenance} == {"vector", "keyword"}
    # a retried process stores the same records, context included
    again = orch.process(messages, user_id=alice, timestamp=T0, infer=False)
    assert again.turn_memory_ids == result.turn_memory_ids
    assert orch.get(reply_id) == reply


def test_a_store_failing_while_the_embedder_runs_loses_nothing(
    orch: Orchestrator, monkeypatch
) -> None:
    """The writer embeds while the graph, keyword index and history are written: a graph
    failure must surface as itself, write nothing canonical, and a retry must finish. (The
    failed call's write - its turns and facts, one write with no model - is journaled: the
    retry completes it as it takes the lock, then finds the facts stored.)"""
    conversation = [{"role": "user", "content": "I live in Lisbon and I work at Initech."}]
    graph = services_of(orch).graph
    real_link = graph.link_memories

    async def broken_link(links, **kwargs):
        raise StoreError("graph down")

    monkeypatch.setattr(graph, "link_memories", broken_link)
    with pytest.raises(StoreError, match="graph down"):
        orch.process(conversation, user_id="bob", session_id="s1", timestamp=T0)
    assert orch.get_all(user_id="bob") == []  # the vector store, written last, has nothing
    monkeypatch.setattr(graph, "link_memories", real_link)
    retry = orch.process(conversation, user_id="bob", session_id="s1", timestamp=T0)
    assert retry.errors == [] and retry.operations[MemoryType.SEMANTIC]
    assert any("Lisbon" in r.content for r in orch.get_all(user_id="bob"))
    assert orch.check().consistent
