"""A fact's graph edge, kept as a view of the fact (`KnowledgeAgent.projects`).

The edge of a fact whose value is a named entity (Alice -[LIVES_IN]-> Berlin) is a
knowledge memory with `internal["projection_of"]` naming the fact, valid and closed
exactly when the fact is. It is never extracted on its own: a knowledge candidate a
semantic candidate implies is dropped, and a user's edge that no fact states becomes
that fact (`canonical`). Nothing here reads a clock: timestamps come from the fact.
"""

from __future__ import annotations

from collections.abc import Sequence

from octomem.agents.base import PROJECTION_OF, SAID_BY, VIEW_EXTRACTOR, ViewContext
from octomem.agents.knowledge import rules
from octomem.language import norm_key
from octomem.models import KnowledgeMemory, MemoryBase, MemoryType, SemanticMemory, make_memory_id


def edge_view(
    sources: Sequence[MemoryBase], record_id: str, existing: MemoryBase | None, ctx: ViewContext
) -> MemoryBase | None:
    """The edge as its one source fact now implies it; None if nothing needs writing. An
    edge whose fact no longer names an entity is closed."""
    [fact] = sources
    triple = rules.fact_edge(fact, ctx.user_name) if isinstance(fact, SemanticMemory) else None
    if triple is None:
        if existing is None or not existing.is_current:
            return None
        closed_at = fact.valid_to or ctx.now
        update = {"valid_to": closed_at, "invalid_at": closed_at, "updated_at": closed_at}
        return existing.model_copy(update={**update, "version": existing.version + 1})
    edge = KnowledgeMemory(
        id=record_id,
        content=rules.triple_sentence(triple),
        subject=triple.subject,
        predicate=triple.predicate,
        object=triple.object,
        valid_at=fact.valid_from,
        invalid_at=fact.valid_to,
        user_id=fact.user_id,
        agent_id=fact.agent_id,
        session_id=fact.session_id,
        created_at=existing.created_at if existing is not None else fact.created_at,
        updated_at=fact.updated_at,
        valid_from=fact.valid_from,
        valid_to=fact.valid_to,
        source=fact.source.model_copy(update={"extractor": f"{VIEW_EXTRACTOR}:knowledge"}),
        confidence=fact.confidence,
        metadata=dict(fact.metadata),
        # who said the fact, if not the user, says the edge too
        internal={"subject_key": triple.subject_key, PROJECTION_OF: fact.id}
        | {k: v for k, v in fact.internal.items() if k == SAID_BY},
        entities=[triple.subject, triple.object],
        version=existing.version if existing is not None else 1,
    )
    if existing is None:
        return edge
    skip = {"version", "updated_at", "content_hash", "conflict_key"}
    if existing.model_dump(exclude=skip) == edge.model_dump(exclude=skip):
        return None
    return edge.model_copy(update={"version": existing.version + 1})


def canonical(candidates: Sequence[MemoryBase], id_key: bytes | None) -> list[MemoryBase]:
    """Candidates without second copies of a fact: a knowledge edge that a semantic
    candidate implies is dropped (the projection writes it), and an edge from the user to
    an entity that no semantic candidate states (an LLM may put a user fact only into
    knowledge) becomes that semantic fact."""
    covered = set()
    for fact in candidates:
        if isinstance(fact, SemanticMemory) and (triple := rules.fact_edge(fact, None)) is not None:
            covered.add(rules.edge_key(triple.subject_key, triple.predicate, triple.object))
    out: list[MemoryBase] = []
    for candidate in candidates:
        if not isinstance(candidate, KnowledgeMemory):
            out.append(candidate)
            continue
        subject_key = str(candidate.internal.get("subject_key") or norm_key(candidate.subject))
        if rules.edge_key(subject_key, candidate.predicate, candidate.object) in covered:
            continue
        out.append(_as_fact(candidate, id_key) if subject_key == "user" else candidate)
    return out


def _as_fact(edge: KnowledgeMemory, id_key: bytes | None) -> SemanticMemory:
    """A user's edge as the semantic fact it states (its edge is then the projection)."""
    by_predicate = {predicate: attr for attr, predicate in rules.ATTR_PREDICATE.items()}
    attribute = by_predicate.get(edge.predicate, edge.predicate.lower())
    data = edge.model_dump(
        exclude={"memory_type", "subject", "predicate", "object", "valid_at", "invalid_at"}
    )
    data.update(
        id=make_memory_id(
            MemoryType.SEMANTIC,
            edge.user_id,
            edge.agent_id,
            "user",
            attribute,
            norm_key(edge.object),
            id_key=id_key,
        ),
        subject="user",
        attribute=attribute,
        value=edge.object,
        internal={k: v for k, v in edge.internal.items() if k != "subject_key"},
        content_hash="",
        conflict_key=None,
    )
    return SemanticMemory.model_validate(data)
