"""Assertions of the "one current truth" invariant, shared by the concurrency tests."""

from __future__ import annotations

from collections.abc import Iterable

from octomem import Orchestrator
from octomem.models import Entity, KnowledgeMemory, Relation, SemanticMemory
from octomem.orchestrator.internals import services_of
from octomem.stores.base import GraphStore


def assert_one_current_home(orch: Orchestrator, user: str, moves: Iterable[str]) -> str:
    """The user lives in one of `moves` - one current fact, one valid LIVES_IN edge, one
    knowledge memory, one core line agree on it - and every move is kept as history.
    Returns the current home."""
    facts = [
        r
        for r in orch.get_all(user_id=user, memory_types=["semantic"])
        if isinstance(r, SemanticMemory) and r.attribute == "lives_in"
    ]
    assert len(facts) == 1, [f.content for f in facts]
    home = facts[0].value
    everything = orch.get_all(user_id=user, memory_types=["semantic"], include_superseded=True)
    homes = [r for r in everything if isinstance(r, SemanticMemory) and r.attribute == "lives_in"]
    assert sorted(r.value for r in homes) == sorted(moves)
    edges = orch.run_sync(relations_of(services_of(orch).graph, user, predicate="LIVES_IN"))
    assert [e.object_id for e in edges] == [Entity.make_id(user, home)]
    knowledge = [
        k
        for k in orch.get_all(user_id=user, memory_types=["knowledge"])
        if isinstance(k, KnowledgeMemory) and k.predicate == "LIVES_IN"
    ]
    assert [k.object for k in knowledge] == [home]
    [human] = [c for c in orch.get_all(user_id=user, memory_types=["core"]) if c.label == "human"]
    lines = human.content.splitlines()
    assert f"Lives in: {home}" in lines and sum(line.startswith("Lives in:") for line in lines) == 1
    return home


async def relations_of(
    graph: GraphStore,
    user_id: str | None,
    *,
    subject_id: str | None = None,
    predicate: str | None = None,
    include_invalid: bool = False,
) -> list[Relation]:
    """The user's relations (`GraphStore.relations`) as the tests look at them: the current
    ones unless `include_invalid`, of one subject or predicate if given."""
    return [
        r
        for r in await graph.relations(user_id)
        if (subject_id is None or r.subject_id == subject_id)
        and (predicate is None or r.predicate == predicate)
        and (include_invalid or r.invalid_at is None)
    ]
