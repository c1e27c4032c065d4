"""One source per fact: the semantic memory is canonical; the core human block and the
fact's knowledge edge are projections that every write path keeps in step."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from octomem import MemoryType, Orchestrator
from octomem.agents.knowledge.prompt import KnowledgeOutput, Triple
from octomem.errors import InvalidInputError
from octomem.models import CoreMemory, Entity, KnowledgeMemory, Operation, SemanticMemory
from octomem.orchestrator.internals import services_of
from octomem.prompts.extraction import ExtractionOutput
from octomem.testing import ScriptedModel, ScriptedRequest
from tests.invariants import relations_of

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def home(orch: Orchestrator, user: str = "alice") -> SemanticMemory:
    [fact] = [
        r
        for r in orch.get_all(user_id=user, memory_types=["semantic"])
        if isinstance(r, SemanticMemory) and r.attribute == "lives_in"
    ]
    return fact


def views(orch: Orchestrator, user: str = "alice") -> tuple[list[str], list[KnowledgeMemory], list]:
    """The human block's lines, the current LIVES_IN edges, and the valid graph relations."""
    blocks = [
        c
        for c in orch.get_all(user_id=user, memory_types=["core"])
        if isinstance(c, CoreMemory) and c.label == "human"
    ]
    lines = blocks[0].content.splitlines() if blocks else []
    edges = [
        k
        for k in orch.get_all(user_id=user, memory_types=["knowledge"])
        if isinstance(k, KnowledgeMemory) and k.predicate == "LIVES_IN"
    ]
    relations = orch.run_sync(relations_of(services_of(orch).graph, user, predicate="LIVES_IN"))
    return lines, edges, relations


def assert_in_step(orch: Orchestrator, city: str, user: str = "alice") -> None:
    fact = home(orch, user)
    assert fact.value == city
    lines, edges, relations = views(orch, user)
    assert [line for line in lines if line.startswith("Lives in:")] == [f"Lives in: {city}"]
    assert [(e.object, e.internal["projection_of"]) for e in edges] == [(city, fact.id)]
    assert [r.object_id for r in relations] == [Entity.make_id(user, city)]


def test_one_sentence_one_fact_with_its_projections(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    result = orch.process("Hi, I'm Alice and I moved to Berlin.", user_id=alice, timestamp=T0)
    assert_in_step(orch, "Berlin", alice)
    # the edge and the block are listed in the result as projections of the fact
    projected = [op for op in result.all_operations() if op.reason.startswith("projection of")]
    assert {op.memory_type for op in projected} == {MemoryType.KNOWLEDGE, MemoryType.CORE}
    edge = next(op for op in projected if op.memory_type is MemoryType.KNOWLEDGE)
    assert edge.reason == f"projection of {home(orch, alice).id}"
    # no second copy of the fact was extracted on its own
    knowledge = orch.get_all(user_id=alice, memory_types=["knowledge"])
    assert all(k.internal.get("projection_of") for k in knowledge)


def test_the_views_of_thousands_of_facts_are_found_past_a_filters_size_limit(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """One message may state thousands of facts; their views are looked up by source id.
    That lookup is octomem's own, not held to a caller's filter limit (100,000 characters
    as JSON, ~3,000 ids): "I live in Town0. I live in Town1. ..." of 99,000 characters
    was refused with an error about a filter the caller never gave."""
    from octomem.orchestrator.projections import _stored_views

    orch, alice = shared_orch, uid("alice")
    orch.process("Hi, I'm Alice and I moved to Berlin.", user_id=alice, timestamp=T0)
    fact = home(orch, alice)
    services = services_of(orch)
    [edges] = [a for a in services.roles.views if a.memory_type is MemoryType.KNOWLEDGE]
    ids = [f"sem_{i:024x}" for i in range(5_000)] + [fact.id]
    found = orch.run_sync(_stored_views(services, edges, ids))
    assert list(found) == [fact.id]


@pytest.mark.parametrize(
    "text",
    [
        "Alice lives in Munich.",
        "The user lives in Munich.",
        "I live in Munich now.",
        "Alice moved to Munich",
        "lives in Munich",  # no sentence the rules read: the name it gives
        "somewhere by the sea",  # no name either: the text becomes the value
    ],
)
def test_update_re_derives_the_value_and_every_view(
    shared_orch: Orchestrator, uid: Callable[[str], str], text: str
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("Hi, I'm Alice. I live in Berlin.", user_id=alice, timestamp=T0)
    fact = home(orch, alice)
    updated = orch.update(fact.id, text, user_id=alice)
    assert isinstance(updated, SemanticMemory) and updated.content == text
    city = "Munich" if "Munich" in text else text
    assert updated.value == city and home(orch, alice).value == city
    lines, edges, relations = views(orch, alice)
    assert f"Lives in: {city}" in lines and "Lives in: Berlin" not in lines
    if city == "Munich":
        assert_in_step(orch, "Munich", alice)
    else:  # no named place: the old edge is closed, none is current
        assert edges == [] and relations == []
    assert [e.operation for e in orch.history(fact.id)] == [Operation.ADD, Operation.UPDATE]


def test_update_or_delete_of_an_edge_changes_its_fact(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("Hi, I'm Alice. I live in Berlin.", user_id=alice, timestamp=T0)
    fact = home(orch, alice)
    [edge] = views(orch, alice)[1]
    updated = orch.update(edge.id, "Alice lives in Rome.", user_id=alice)
    assert updated.id == edge.id and isinstance(updated, KnowledgeMemory)
    assert updated.object == "Rome"
    assert_in_step(orch, "Rome", alice)
    orch.delete(edge.id, user_id=alice)
    assert [r for r in orch.get_all(user_id=alice) if r.id == fact.id] == []
    lines, edges, relations = views(orch, alice)
    assert not any(line.startswith("Lives in") for line in lines)
    assert edges == [] and relations == []
    assert orch.history(fact.id)[-1].operation is Operation.DELETE


def test_the_human_block_cannot_be_rewritten_but_its_facts_can(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("Hi, I'm Alice. I live in Berlin.", user_id=alice, timestamp=T0)
    [block] = [c for c in orch.get_all(user_id=alice, memory_types=["core"])]
    with pytest.raises(InvalidInputError, match="rendered from the user's facts"):
        orch.update(block.id, "Lives in: Paris", user_id=alice)
    assert_in_step(orch, "Berlin", alice)


def test_a_move_closes_the_old_edge_with_its_fact(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("I live in Berlin.", user_id=alice, timestamp=T0)
    berlin = home(orch, alice)
    orch.process("I moved to Munich.", user_id=alice, timestamp=T0 + timedelta(days=30))
    assert_in_step(orch, "Munich", alice)
    everything = orch.get_all(user_id=alice, include_superseded=True)
    [old_fact] = [r for r in everything if r.id == berlin.id]
    [old_edge] = [r for r in everything if r.internal.get("projection_of") == berlin.id]
    assert old_fact.valid_to == old_edge.valid_to == T0 + timedelta(days=30)
    assert isinstance(old_edge, KnowledgeMemory) and old_edge.invalid_at == old_fact.valid_to


def test_a_retried_call_writes_no_projection_again(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    messages = [{"role": "user", "content": "I'm Alice. I live in Berlin.", "id": "m1"}]
    orch.process(messages, user_id=alice, timestamp=T0)
    before = {r.id: r.version for r in orch.get_all(user_id=alice)}
    again = orch.process(messages, user_id=alice, timestamp=T0)
    assert again.count(Operation.ADD) == again.count(Operation.UPDATE) == 0
    assert {r.id: r.version for r in orch.get_all(user_id=alice)} == before


def test_the_edges_of_facts_about_the_user_follow_a_new_name_an_update_and_a_deletion(
    make_orch: Any,
) -> None:
    """An edge reads the user's current name ("Dana lives in Paris"): renamed by a new
    message, by `update()` of the name, or left nameless by its deletion, every edge of
    the user's facts says so, closed ones too, and `check()` finds the stores agree."""
    orch = make_orch()
    orch.process("Hi, I'm Dana. I live in Paris.", user_id="u", timestamp=T0)
    orch.process("I moved to Berlin.", user_id="u", timestamp=T0 + timedelta(days=1))

    def edges() -> list[str]:
        found = orch.get_all(user_id="u", memory_types=["knowledge"], include_superseded=True)
        return sorted(e.content for e in found if isinstance(e, KnowledgeMemory))

    def name_fact() -> SemanticMemory:
        facts = orch.get_all(user_id="u", memory_types=["semantic"])
        return next(f for f in facts if isinstance(f, SemanticMemory) and f.attribute == "name")

    assert edges() == ["Dana lives in Berlin.", "Dana lives in Paris."]
    renamed = orch.process(
        "Actually my name is Dani.", user_id="u", timestamp=T0 + timedelta(days=2)
    )
    assert edges() == ["Dani lives in Berlin.", "Dani lives in Paris."]
    # each edge is its stored one rewritten (read after the name was seen to change)
    rewritten = renamed.operations[MemoryType.KNOWLEDGE]
    assert sorted((op.operation, op.previous_text, op.text) for op in rewritten) == [
        (Operation.UPDATE, "Dana lives in Berlin.", "Dani lives in Berlin."),
        (Operation.UPDATE, "Dana lives in Paris.", "Dani lives in Paris."),
    ], rewritten
    assert orch.check().consistent
    orch.update(name_fact().id, "The user's name is Dora.")
    assert edges() == ["Dora lives in Berlin.", "Dora lives in Paris."]
    assert orch.check().consistent
    orch.delete(name_fact().id)
    assert edges() == ["The user lives in Berlin.", "The user lives in Paris."]
    assert orch.check().consistent


def test_delete_all_of_a_session_renders_the_block_again(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process("I'm Alice.", user_id=alice, session_id="s1", timestamp=T0)
    orch.process("I live in Berlin.", user_id=alice, session_id="s2", timestamp=T0)
    orch.delete_all(user_id=alice, session_id="s2")
    lines, edges, _ = views(orch, alice)
    assert lines == ["Name: Alice"] and edges == []


def test_an_export_imports_with_its_projections_unchanged(make_orch: Any) -> None:
    source = make_orch()
    source.process("I'm Alice. I live in Berlin. My sister Maria works at Google.", user_id="alice")
    out = io.StringIO()
    source.export_jsonl(out)
    target = make_orch()
    target.import_jsonl(io.StringIO(out.getvalue()))
    assert {r.id: r for r in target.get_all(user_id="alice", include_superseded=True)} == {
        r.id: r for r in source.get_all(user_id="alice", include_superseded=True)
    }
    assert_in_step(target, "Berlin")


def test_an_import_without_a_fact_drops_its_views(make_orch: Any) -> None:
    source = make_orch()
    source.process("I'm Alice. I live in Berlin.", user_id="alice")
    fact = home(source)
    out = io.StringIO()
    source.export_jsonl(out)
    # the fact's lines and its views' (which name it), their edges too: an edge with no
    # record is rejected
    raws = out.getvalue().splitlines()
    dropped = {json.loads(raw)["id"] for raw in raws if fact.id in raw}
    kept = [
        raw
        for raw in raws
        if fact.id not in raw and json.loads(raw).get("memory_id") not in dropped
    ]
    target = make_orch()
    target.import_jsonl(io.StringIO("\n".join(kept)))
    lines, edges, _ = views(target)
    assert lines == ["Name: Alice"] and edges == []
    assert target.check().consistent


def test_an_llm_edge_about_the_user_becomes_the_fact(make_orch: Any) -> None:
    """A model may put a user fact only into knowledge: it is stored as the semantic
    fact, and its edge is the projection."""

    def script(request: ScriptedRequest) -> Any:
        if request.purpose == "extract":
            triple = Triple(
                subject="user",
                predicate="LIVES_IN",
                object="Lisbon",
                fact="The user lives in Lisbon.",
                source_turns=[0],
            )
            return ExtractionOutput(
                agents=[MemoryType.KNOWLEDGE], knowledge=KnowledgeOutput(triples=[triple])
            )
        return {"decisions": []}

    with ScriptedModel(script, name="one-source") as model:
        orch = make_orch(llm={"model": model.model, "max_retries": 1})
        orch.process("I live in Lisbon.", user_id="alice", timestamp=T0)
        assert_in_step(orch, "Lisbon")


def test_check_finds_a_lost_projection_and_repair_renders_it_again(orch: Orchestrator) -> None:
    from octomem.orchestrator.write import write

    orch.process("I'm Alice. I live in Berlin.", user_id="alice", timestamp=T0)
    assert orch.check().consistent
    [edge] = views(orch)[1]
    [block] = [c for c in orch.get_all(user_id="alice", memory_types=["core"])]
    damaged = block.model_copy(update={"content": "Lives in: Paris", "content_hash": ""})
    services = services_of(orch)
    event = orch.history(block.id)[-1]

    async def damage() -> None:  # as a crash of an older version could leave them
        async with services.locks.hold("alice") as fence:
            await write(services, fence, deletes=[edge])
            await write(services, fence, changes=[(damaged, event)])

    orch.run_sync(damage())
    report = orch.check()
    [views_diff] = [s for s in report.stores if s.store == "projections"]
    assert (views_diff.missing, views_diff.stale) == ([edge.id], [block.id])
    assert not report.consistent
    assert orch.check(repair=True).consistent
    assert_in_step(orch, "Berlin")
