"""Write records to every store, in an order that makes a retried write finish the job.

Order: graph, keyword index, history log, then the vector store - the canonical copy -
last. Every write is an upsert keyed by a deterministic id and history events have
deterministic ids, so if a `process` dies half-way, running it again finds the records
missing from the vector store, decides them again and completes every store without
duplicates.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from octomem.models import (
    Entity,
    HistoryEvent,
    KnowledgeMemory,
    MemoryBase,
    MemoryType,
    Operation,
    Relation,
    embedding_text,
    stable_hash,
    utcnow,
)
from octomem.orchestrator.services import Services
from octomem.orchestrator.state import Decision
from octomem.stores.base import MemoryLink
from octomem.telemetry import span


def history_event(
    record: MemoryBase,
    operation: Operation,
    *,
    old: MemoryBase | None = None,
    actor: str = "octomem",
    at: datetime | None = None,
) -> HistoryEvent:
    """A log entry whose id depends only on what changed, so a retry logs it once.

    Pass `at` for changes made by a caller (update, delete): they are logged each time.
    """
    event_id = stable_hash(
        record.id, operation.value, record.content_hash, record.valid_to, record.version, at
    )[:32]
    return HistoryEvent(
        id=f"evt_{event_id}",
        memory_id=record.id,
        memory_type=record.memory_type,
        operation=operation,
        old_value=old.content if old is not None else None,
        new_value=None if operation is Operation.DELETE else record.content,
        at=at or record.updated_at,
        actor=actor,
        user_id=record.user_id,
        record=record.model_dump(mode="json"),
    )


def changes_for(decision: Decision) -> list[tuple[MemoryBase, HistoryEvent]]:
    """The records a decision writes, each with its history event."""
    actor = decision.record.source.extractor
    if decision.operation is Operation.ADD:
        return [(decision.record, history_event(decision.record, Operation.ADD, actor=actor))]
    if decision.operation is Operation.UPDATE:
        old = decision.previous[0]
        return [
            (
                decision.record,
                history_event(decision.record, Operation.UPDATE, old=old, actor=actor),
            )
        ]
    if decision.operation is Operation.SUPERSEDE:
        closed = [
            (old, history_event(old, Operation.SUPERSEDE, old=old, actor=actor))
            for old in decision.previous
        ]
        return [
            *closed,
            (decision.record, history_event(decision.record, Operation.ADD, actor=actor)),
        ]
    if decision.operation is Operation.DELETE:  # a retraction: closed, kept as history
        old = decision.previous[0]
        return [
            (
                decision.record,
                history_event(decision.record, Operation.DELETE, old=old, actor=actor),
            )
        ]
    return []


async def write_records(
    services: Services, changes: Sequence[tuple[MemoryBase, HistoryEvent]]
) -> None:
    """Upsert records to graph, keyword index, history and vector store, in that order."""
    if not changes:
        return
    records = [record for record, _ in changes]
    with span("store.write", records=len(records), user_id=records[0].user_id):
        # the embedder (model inference) works while the other stores are written
        embedding = asyncio.ensure_future(
            services.embedder.embed([embedding_text(r) for r in records])
        )
        try:
            await _write_graph(services, records)
            await services.keyword.upsert(records)
            await services.history.record([event for _, event in changes])
            embeddings = await embedding
        finally:
            if not embedding.done():
                embedding.cancel()
            elif not embedding.cancelled():
                embedding.exception()  # seen: a store's error is the one raised
        by_type: dict[MemoryType, list[int]] = defaultdict(list)
        for index, record in enumerate(records):
            by_type[record.memory_type].append(index)
        for memory_type, indexes in by_type.items():
            await services.vector.upsert(
                memory_type, [records[i] for i in indexes], [embeddings[i] for i in indexes]
            )


async def _write_graph(services: Services, records: Sequence[MemoryBase]) -> None:
    graph = services.graph
    entities: dict[str, Entity] = {}
    links: list[tuple[MemoryBase, list[str]]] = []
    relations: list[Relation] = []
    for record in records:
        names = list(record.entities)
        if isinstance(record, KnowledgeMemory):
            names = [record.subject, record.object, *names]
        ids = []
        for name in names:
            if not name.strip():
                continue
            entity = Entity(
                id=Entity.make_id(record.user_id, name), user_id=record.user_id, name=name.strip()
            )
            entities.setdefault(entity.id, entity)
            ids.append(entity.id)
        links.append((record, list(dict.fromkeys(ids))))
        if isinstance(record, KnowledgeMemory):
            relations.append(_relation(record))  # carries invalid_at when superseded
    if entities:
        await graph.upsert_entities(list(entities.values()))
    if relations:
        await graph.upsert_relations(relations)
    await graph.link_memories(
        [MemoryLink(r.id, r.memory_type, r.user_id, entity_ids) for r, entity_ids in links]
    )


def _relation(record: KnowledgeMemory) -> Relation:
    return Relation(
        id=record.id,
        user_id=record.user_id,
        subject_id=Entity.make_id(record.user_id, record.subject),
        predicate=record.predicate,
        object_id=Entity.make_id(record.user_id, record.object),
        fact=record.content,
        memory_id=record.id,
        valid_at=record.valid_at or record.valid_from,
        invalid_at=record.invalid_at or record.valid_to,
        created_at=record.created_at,
    )


async def delete_record(services: Services, record: MemoryBase, *, actor: str) -> None:
    """Remove a memory from every store; the history log keeps what it said and the
    knowledge graph keeps the edge, invalidated."""
    now = utcnow()
    await services.history.record(
        [history_event(record, Operation.DELETE, old=record, actor=actor, at=now)]
    )
    if isinstance(record, KnowledgeMemory) and record.invalid_at is None:
        await services.graph.invalidate_relation(record.id, now)
    await services.graph.delete_memory(record.id)
    await services.keyword.delete([record.id])
    await services.vector.delete(record.memory_type, [record.id])
