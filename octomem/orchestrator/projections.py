"""One source per fact: the core human block and the graph edges of facts are projections.

A fact the user stated has one canonical record, its semantic memory. Two views are
derived from it and never extracted on their own:

- the knowledge edge of a fact whose value is a named entity (Alice -[LIVES_IN]-> Berlin):
  a knowledge memory with the id `edge_id(fact)` and `internal["projection_of"]` naming
  the fact, valid and closed exactly when the fact is;
- the core "human" block: one line per current fact about the user, rendered by
  `octomem.agents.core.human_lines`.

Every write path that changes semantic memories - `process` (commit), `update`,
`delete`, reprocess - passes the facts' final states here (`project`) and writes the
returned projection changes in the same journaled intent, under the same user lock; bulk
writes - `delete_all`, import, repair - journal the scopes whose views are rendered
again (`refresh`) once their facts are written, as the intent's last step
(`writer.apply_intent`). So the views can never drift from the facts, even across a
crash. Projections use no clock of their
own (timestamps come from the facts), so a retried call writes nothing new.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from octomem import offload
from octomem.agents.core import HUMAN, human_lines
from octomem.agents.knowledge import ATTR_PREDICATE, edge_key, fact_edge, triple_sentence
from octomem.language import norm_key
from octomem.models import (
    CoreMemory,
    HistoryEvent,
    KnowledgeMemory,
    MemoryBase,
    MemoryOperation,
    MemoryType,
    Operation,
    SemanticMemory,
    SourceRef,
    make_memory_id,
)
from octomem.orchestrator.events import history_event
from octomem.orchestrator.retrieval import valid_at
from octomem.scopes import ANY, Owner, scope_filter
from octomem.stores.base import Filter

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

PROJECTION_OF = "projection_of"  # internal key of a projected record: its canonical source
EXTRACTOR = "projection"
_MAX_SOURCES = 50  # turns the human block cites (the newest)
_PREDICATE_ATTR = {predicate: attr for attr, predicate in ATTR_PREDICATE.items()}
Scope = tuple[str | None, str | None]


@dataclass
class Projection:
    """What keeping the views in step writes: records (with history) and deletes."""

    writes: list[tuple[MemoryBase, HistoryEvent]] = field(default_factory=list)
    deletes: list[MemoryBase] = field(default_factory=list)

    def operations(self) -> list[MemoryOperation]:
        """The writes as a process result lists them."""
        ops = [
            MemoryOperation(
                operation=event.operation,
                memory_type=record.memory_type,
                memory_id=record.id,
                text=record.content,
                previous_id=record.id if event.old_value is not None else None,
                previous_text=event.old_value,
                reason=f"projection of {record.internal.get(PROJECTION_OF)}",
            )
            for record, event in self.writes
        ]
        ops += [
            MemoryOperation(
                operation=Operation.DELETE,
                memory_type=record.memory_type,
                memory_id=record.id,
                text=record.content,
                reason="its fact was deleted",
            )
            for record in self.deletes
        ]
        return ops


def is_projection(record: MemoryBase) -> bool:
    return bool(record.internal.get(PROJECTION_OF))


def edge_id(services: Services, fact: MemoryBase) -> str:
    """The id of a fact's edge: one edge per fact record, in the fact's scope."""
    return make_memory_id(
        MemoryType.KNOWLEDGE, fact.user_id, fact.agent_id, "fact", fact.id, id_key=services.id_key
    )


def human_block_id(services: Services, user_id: str | None, agent_id: str | None) -> str:
    return make_memory_id(MemoryType.CORE, user_id, agent_id, HUMAN, id_key=services.id_key)


# --- candidates ----------------------------------------------------------------------


def canonical_candidates(services: Services, candidates: Sequence[MemoryBase]) -> list[MemoryBase]:
    """Candidates without second copies of a fact: a knowledge edge that a semantic
    candidate implies is dropped (the projection writes it), and an edge from the user to
    an entity that no semantic candidate states (an LLM may put a user fact only into
    knowledge) becomes that semantic fact."""
    if MemoryType.SEMANTIC not in services.enabled_agents:
        return list(candidates)
    covered = set()
    for fact in candidates:
        if isinstance(fact, SemanticMemory) and (triple := fact_edge(fact, None)) is not None:
            covered.add(edge_key(triple.subject_key, triple.predicate, triple.object))
    out: list[MemoryBase] = []
    for candidate in candidates:
        if not isinstance(candidate, KnowledgeMemory):
            out.append(candidate)
            continue
        subject_key = str(candidate.internal.get("subject_key") or norm_key(candidate.subject))
        if edge_key(subject_key, candidate.predicate, candidate.object) in covered:
            continue
        out.append(_as_fact(services, candidate) if subject_key == "user" else candidate)
    return out


def _as_fact(services: Services, edge: KnowledgeMemory) -> SemanticMemory:
    """A user's edge as the semantic fact it states (its edge is then the projection)."""
    attribute = _PREDICATE_ATTR.get(edge.predicate, edge.predicate.lower())
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
            id_key=services.id_key,
        ),
        subject="user",
        attribute=attribute,
        value=edge.object,
        internal={k: v for k, v in edge.internal.items() if k != "subject_key"},
        content_hash="",
        conflict_key=None,
    )
    return SemanticMemory.model_validate(data)


# --- projections ---------------------------------------------------------------------


async def project(
    services: Services,
    changed: Iterable[MemoryBase],
    *,
    deleted: Iterable[MemoryBase] = (),
    now: datetime,
) -> Projection:
    """The projection changes for facts that are about to be written as `changed` (their
    final states: added, rewritten or closed) or removed (`deleted`)."""
    facts = {r.id: r for r in changed if isinstance(r, SemanticMemory)}
    gone = {r.id: r for r in deleted if isinstance(r, SemanticMemory)}
    out = Projection()
    if not facts and not gone:
        return out
    enabled = services.enabled_agents
    scopes = {(r.user_id, r.agent_id) for r in [*facts.values(), *gone.values()]}
    current = {scope: await _user_facts(services, scope, now) for scope in scopes}
    for record in [*facts.values(), *gone.values()]:
        if record.subject == "user":
            by_id = current[(record.user_id, record.agent_id)]
            by_id.pop(record.id, None)
            if record.id in facts and record.is_current:
                by_id[record.id] = record
    if MemoryType.KNOWLEDGE in enabled:
        names = {scope: _user_name(by_id.values()) for scope, by_id in current.items()}
        await _edges(services, facts.values(), gone.values(), names, now, out)
    if MemoryType.CORE in enabled:
        for scope, by_id in current.items():
            await _human_block(services, scope, list(by_id.values()), now, out)
    return out


async def refresh(
    services: Services, user_id: str | None, agent_id: str | None, *, now: datetime
) -> Projection:
    """Every projection of one scope recomputed from its facts (after an import or a
    bulk delete), and edges whose fact is gone removed."""
    scope_where = scope_filter(user_id, agent_id)
    facts = await services.vector.list(MemoryType.SEMANTIC, where=scope_where)
    out = await project(services, facts, now=now)
    if MemoryType.KNOWLEDGE in services.enabled_agents:
        known = {r.id for r in facts}
        edges = await services.vector.list(MemoryType.KNOWLEDGE, where=scope_where)
        out.deletes += [
            e for e in edges if is_projection(e) and e.internal[PROJECTION_OF] not in known
        ]
    if not facts and MemoryType.CORE in services.enabled_agents:
        await _human_block(services, (user_id, agent_id), [], now, out)
    return out


def fact_scopes(records: Iterable[MemoryBase]) -> list[Scope]:
    """The (user, agent) scopes the semantic facts among `records` belong to, in order."""
    scopes = {(r.user_id, r.agent_id) for r in records if isinstance(r, SemanticMemory)}
    return sorted(scopes, key=lambda s: tuple((p is not None, p or "") for p in s))


def _facts_of(user_id: str | None, agent_id: Owner, *more: Filter) -> Filter:
    """The facts about the user in one (user, agent) scope (ANY: of all the user's agents)."""
    return scope_filter(user_id, agent_id, ANY, {"subject": "user"}, *more)


async def _user_facts(services: Services, scope: Scope, now: datetime) -> dict[str, MemoryBase]:
    found = await services.vector.list(MemoryType.SEMANTIC, where=_facts_of(*scope), live_at=now)
    return {r.id: r for r in found}


async def user_name(
    services: Services,
    user_id: str | None,
    agent_id: Owner,
    now: datetime,
    *,
    exclude: Collection[str] | None = None,
) -> str | None:
    """The user's current name, if a fact of this user and agent (ANY: of any of the
    user's agents) states it. With `exclude`, facts learned only from those turns are left
    out (so a re-run of a `process` call extracts exactly what its first run did)."""
    where = _facts_of(user_id, agent_id, {"attribute": "name"})
    facts = await services.vector.list(MemoryType.SEMANTIC, where=where, live_at=now)
    if exclude is not None:
        excluded = set(exclude)
        facts = [f for f in facts if not set(f.source.turn_ids) <= excluded]
    return _user_name(facts)


def _user_name(facts: Iterable[MemoryBase]) -> str | None:
    names = [f for f in facts if isinstance(f, SemanticMemory) and f.attribute == "name"]
    names.sort(key=lambda f: (f.valid_from, f.id))
    return names[-1].value if names else None


async def _edges(
    services: Services,
    facts: Iterable[SemanticMemory],
    gone: Iterable[SemanticMemory],
    names: dict[Scope, str | None],
    now: datetime,
    out: Projection,
) -> None:
    facts, gone = list(facts), list(gone)
    stored = await _stored_edges(services, [f.id for f in [*facts, *gone]])
    ids = {f.id: stored[f.id].id if f.id in stored else edge_id(services, f) for f in facts}
    out.deletes += [stored[f.id] for f in gone if f.id in stored]

    def render() -> list[tuple[MemoryBase, HistoryEvent]]:
        writes = []
        for fact in facts:
            existing = stored.get(fact.id)
            edge = _edge(fact, ids[fact.id], names[(fact.user_id, fact.agent_id)], existing, now)
            if edge is not None:
                writes.append((edge, _event(edge, existing)))
        return writes

    writes = await offload.cpu(len(facts), render)  # CPU work per fact: off the loop if many
    out.writes += writes
    written = [edge for edge, _ in writes if isinstance(edge, KnowledgeMemory)]
    out.deletes += await _legacy_twins(services, written)


async def _legacy_twins(services: Services, edges: Sequence[KnowledgeMemory]) -> list[MemoryBase]:
    """Edges that earlier versions extracted for a fact on their own (no `projection_of`)
    and that a projection now replaces: removed (their history stays), so a store
    upgraded in place keeps one edge per fact."""
    twins: list[MemoryBase] = []
    for user_id in {e.user_id for e in edges}:
        mine = [e for e in edges if e.user_id == user_id]
        predicates = sorted({e.predicate for e in mine})
        where = scope_filter(user_id, ANY, ANY, {"predicate": {"in": predicates}})
        keys = {_key(e) for e in mine}
        found = await services.vector.list(MemoryType.KNOWLEDGE, where=where)
        twins += [
            k
            for k in found
            if isinstance(k, KnowledgeMemory) and not is_projection(k) and _key(k) in keys
        ]
    return twins


def _key(edge: KnowledgeMemory) -> tuple[object, ...]:
    subject_key = str(edge.internal.get("subject_key") or norm_key(edge.subject))
    return (edge.agent_id, *edge_key(subject_key, edge.predicate, edge.object))


async def _stored_edges(services: Services, fact_ids: list[str]) -> dict[str, MemoryBase]:
    """The stored edges of these facts, by fact id. Found by their `projection_of`, not by
    `edge_id`: an imported edge keeps the id it had under its first data directory's key."""
    if not fact_ids:
        return {}
    where = {f"internal.{PROJECTION_OF}": {"in": list(dict.fromkeys(fact_ids))}}
    found = await services.vector.list(MemoryType.KNOWLEDGE, where=where)
    return {str(e.internal[PROJECTION_OF]): e for e in found}


def _edge(
    fact: SemanticMemory,
    record_id: str,
    user_name: str | None,
    existing: MemoryBase | None,
    now: datetime,
) -> MemoryBase | None:
    """The edge as the fact now implies it; None if nothing needs writing. An edge whose
    fact no longer names an entity is closed."""
    triple = fact_edge(fact, user_name)
    if triple is None:
        if existing is None or not existing.is_current:
            return None
        closed_at = fact.valid_to or now
        update = {"valid_to": closed_at, "invalid_at": closed_at, "updated_at": closed_at}
        return existing.model_copy(update={**update, "version": existing.version + 1})
    edge = KnowledgeMemory(
        id=record_id,
        content=triple_sentence(triple),
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
        source=fact.source.model_copy(update={"extractor": f"{EXTRACTOR}:knowledge"}),
        confidence=fact.confidence,
        metadata=dict(fact.metadata),
        internal={"subject_key": triple.subject_key, PROJECTION_OF: fact.id},
        entities=[triple.subject, triple.object],
        version=existing.version if existing is not None else 1,
    )
    if existing is not None and _same(existing, edge):
        return None
    if existing is not None:
        edge = edge.model_copy(update={"version": existing.version + 1})
    return edge


def _same(stored: MemoryBase, wanted: MemoryBase) -> bool:
    skip = {"version", "updated_at", "content_hash", "conflict_key"}
    return stored.model_dump(exclude=skip) == wanted.model_dump(exclude=skip)


async def _human_block(
    services: Services,
    scope: Scope,
    facts: list[MemoryBase],
    now: datetime,
    out: Projection,
) -> None:
    user_id, agent_id = scope
    where = scope_filter(user_id, agent_id, ANY, {"label": HUMAN})
    found = await services.vector.list(MemoryType.CORE, where=where)  # by label: see edges
    existing = found[-1] if found else None
    block_id = existing.id if existing is not None else human_block_id(services, *scope)
    limit = services.settings.agents.core_char_limit
    semantic = [f for f in facts if isinstance(f, SemanticMemory)]
    lines = human_lines(semantic, limit)
    if not lines:
        if existing is not None and existing.is_current:
            closed = existing.model_copy(
                update={"valid_to": now, "updated_at": now, "version": existing.version + 1}
            )
            out.writes.append((closed, _event(closed, existing)))
        return
    content = "\n".join(lines)
    if existing is not None and existing.is_current and existing.content == content:
        return
    newest = max(semantic, key=lambda f: (f.updated_at, f.id))
    in_order = sorted(semantic, key=lambda f: (f.valid_from, f.id))
    turns = [t for f in in_order for t in f.source.turn_ids]
    messages = [m for f in in_order for m in f.source.message_ids]
    name = _user_name(semantic)
    entities = [*([name] if name else []), *(e for f in semantic for e in f.entities)]
    block = CoreMemory(
        id=block_id,
        label=HUMAN,
        content=content,
        char_limit=limit,
        user_id=user_id,
        agent_id=agent_id,
        session_id=newest.session_id,
        created_at=existing.created_at if existing is not None else newest.created_at,
        updated_at=max(newest.updated_at, existing.updated_at) if existing else newest.updated_at,
        valid_from=existing.valid_from
        if existing is not None
        else min(f.valid_from for f in semantic),
        source=SourceRef(
            turn_ids=list(dict.fromkeys(turns))[-_MAX_SOURCES:],
            message_ids=list(dict.fromkeys(messages))[-_MAX_SOURCES:],
            extractor=f"{EXTRACTOR}:core",
        ),
        metadata={k: v for f in in_order for k, v in f.metadata.items()},  # the latest wins
        internal={PROJECTION_OF: MemoryType.SEMANTIC.value},
        entities=list(dict.fromkeys(entities)),
        version=existing.version + 1 if existing is not None else 1,
    )
    out.writes.append((block, _event(block, existing)))


def _event(record: MemoryBase, existing: MemoryBase | None) -> HistoryEvent:
    if existing is None:
        return history_event(record, Operation.ADD, actor=record.source.extractor)
    return history_event(record, Operation.UPDATE, old=existing, actor=record.source.extractor)


async def human_block_at(
    services: Services, user_id: str | None, agent_id: str | None, at: datetime
) -> CoreMemory | None:
    """The human block as it read at `at`: rendered from the facts valid then (the stored
    block is only ever the current one; its facts keep their whole history)."""
    where = _facts_of(user_id, agent_id)
    facts = [
        f
        for f in await services.vector.list(MemoryType.SEMANTIC, where=where)
        if isinstance(f, SemanticMemory) and valid_at(f, at)
    ]
    lines = human_lines(facts, services.settings.agents.core_char_limit)
    if not lines:
        return None
    return CoreMemory(
        id=human_block_id(services, user_id, agent_id),
        label=HUMAN,
        content="\n".join(lines),
        user_id=user_id,
        agent_id=agent_id,
        created_at=min(f.created_at for f in facts),
        updated_at=max(f.updated_at for f in facts),
        valid_from=max(f.valid_from for f in facts),
        source=SourceRef(extractor=f"{EXTRACTOR}:core"),
        internal={PROJECTION_OF: MemoryType.SEMANTIC.value},
    )
