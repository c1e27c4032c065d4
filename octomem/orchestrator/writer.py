"""Write records to every store so that a crash at any point loses nothing and leaves
nothing half-written.

Each write that spans stores is a `WriteIntent`: committed to the journal first, then
applied - graph, keyword index, history log, and the vector store (the canonical copy)
last - and dropped from the journal when every store has it. An intent that a crash
left behind is applied again by `recover` when the stores are next opened
(`Services.init`). Applying is idempotent: every write is an upsert keyed by a
deterministic id and history events have deterministic ids. Callers hold the scope lock
(`ScopeLocks.hold`) of the records they write.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from octomem import offload
from octomem.errors import NotFoundError
from octomem.logs import get_logger
from octomem.models import (
    Change,
    Entity,
    HistoryEvent,
    KnowledgeMemory,
    MemoryBase,
    MemoryType,
    Operation,
    Relation,
    WriteIntent,
    embedding_text,
    stable_hash,
    utcnow,
)
from octomem.orchestrator.state import Decision
from octomem.stores.base import MemoryLink
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)
DELETE_BATCH = 500  # records per journaled intent of a delete_all
WRITE_SLICE = 128  # records per store call when an intent is applied (`_slices`)


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


def all_changes(decisions: Sequence[Decision]) -> list[tuple[MemoryBase, HistoryEvent]]:
    """Every record the decisions write, each with its history event."""
    return [change for decision in decisions for change in changes_for(decision)]


async def write_records(
    services: Services,
    changes: Sequence[tuple[MemoryBase, HistoryEvent]],
    *,
    deletes: Sequence[MemoryBase] = (),
    actor: str = "octomem",
) -> None:
    """Write records (each with its history event) to every store and remove `deletes`,
    as one journaled intent."""
    if not changes and not deletes:
        return
    now = utcnow()

    def build() -> WriteIntent:
        return WriteIntent(
            id=uuid.uuid4().hex,
            writes=[Change(record=r, event=e) for r, e in changes],
            deletes=[Change(record=r, event=_deleted(r, actor, now)) for r in deletes],
            at=now,
        )

    # building (validating) an intent costs CPU per record: a large one off the event loop
    intent = await offload.cpu(len(changes) + len(deletes), build)
    await _journaled(services, intent)


def _deleted(record: MemoryBase, actor: str, at: datetime) -> HistoryEvent:
    return history_event(record, Operation.DELETE, old=record, actor=actor, at=at)


async def delete_records(services: Services, records: Sequence[MemoryBase], *, actor: str) -> None:
    """Remove memories from every store, journaled; the history log keeps what they said
    and the knowledge graph keeps their edges, invalidated."""
    now = utcnow()
    for start in range(0, len(records), DELETE_BATCH):
        batch = records[start : start + DELETE_BATCH]
        deletes = [Change(record=r, event=_deleted(r, actor, now)) for r in batch]
        await _journaled(services, WriteIntent(id=uuid.uuid4().hex, deletes=deletes, at=now))


async def _journaled(services: Services, intent: WriteIntent) -> None:
    await services.journal.begin(intent)
    await apply_intent(services, intent)
    await services.journal.finish(intent.id)


async def apply_intent(services: Services, intent: WriteIntent) -> None:
    """Bring every store in line with the intent (again, if it was applied before)."""
    if intent.writes:
        await _upsert(services, [(c.record, c.event) for c in intent.writes])
    if intent.deletes:
        await _remove(services, intent.deletes, intent.at)


async def recover(services: Services) -> int:
    """Apply every intent a crash left in the journal, each under the locks of its scopes
    (a live writer of this data directory finishes its own first). Returns how many."""
    applied = 0
    for intent in await services.journal.pending():
        async with services.locks.hold_many(intent.user_ids(), settle=False):
            if not await services.journal.is_pending(intent.id):
                continue  # its writer finished it meanwhile
            log.warning("completing a write a crash interrupted", intent=intent.id)
            await apply_intent(services, intent)
            await services.journal.finish(intent.id)
            applied += 1
    return applied


async def complete_leftovers(services: Services, user_ids: set[str | None]) -> int:
    """Apply, oldest first, the intents of these users (whose locks the caller holds) that
    their writers left unfinished - a store failed, or the call was cancelled - before the
    caller reads: applied later, an old intent would overwrite what newer writes decided.
    Intents that also touch users not held are left to `recover`. Returns how many."""
    applied = 0
    for intent in await services.journal.pending(within=user_ids):  # no live writer has it
        log.warning("completing a write that was cut short", intent=intent.id)
        await apply_intent(services, intent)
        await services.journal.finish(intent.id)
        applied += 1
    return applied


async def _upsert(services: Services, changes: Sequence[tuple[MemoryBase, HistoryEvent]]) -> None:
    """Upsert records to graph, keyword index, history and vector store, in that order, a
    slice of `WRITE_SLICE` records at a time (`_slices`)."""
    for start in _slices(changes):
        await _upsert_slice(services, changes[start : start + WRITE_SLICE])


async def _upsert_slice(
    services: Services, changes: Sequence[tuple[MemoryBase, HistoryEvent]]
) -> None:
    records = [record for record, _ in changes]
    with span("store.write", records=len(records), user_id=records[0].user_id):
        # the embedder (model inference) works while the other stores are written
        embedding = asyncio.ensure_future(
            services.embedder.embed([embedding_text(r) for r in records])
        )
        try:
            await write_graph(services, records)
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


def _slices(items: Sequence[object]) -> range:
    """Where each slice of a large write starts. A store holds its lock (the graph
    connection, Chroma's writer, a SQLite connection) for the whole of one call, and every
    other caller of the process - another user's recall too - waits for it; in slices,
    their calls take turns with this one, so the wait is bounded by one slice (apply_intent
    stays idempotent and journaled whole: a crash mid-way is completed by `recover`)."""
    return range(0, len(items), WRITE_SLICE)


async def _remove(services: Services, deletes: Sequence[Change], at: datetime) -> None:
    for start in _slices(deletes):
        await _remove_slice(services, deletes[start : start + WRITE_SLICE], at)


async def _remove_slice(services: Services, deletes: Sequence[Change], at: datetime) -> None:
    records = [change.record for change in deletes]
    with span("store.delete", records=len(records), user_id=records[0].user_id):
        await services.history.record([change.event for change in deletes])
        for record in records:
            if isinstance(record, KnowledgeMemory) and record.invalid_at is None:
                with contextlib.suppress(NotFoundError):  # its graph write never landed
                    await services.graph.invalidate_relation(record.id, at)
            await services.graph.delete_memory(record.id)
        await services.keyword.delete([record.id for record in records])
        by_type: dict[MemoryType, list[str]] = defaultdict(list)
        for record in records:
            by_type[record.memory_type].append(record.id)
        for memory_type, ids in by_type.items():
            await services.vector.delete(memory_type, ids)


async def write_graph(services: Services, records: Sequence[MemoryBase]) -> None:
    """Upsert the records' entities, knowledge edges and memory nodes with their links."""
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
            relations.append(relation_of(record))  # carries invalid_at when superseded
    if entities:
        await graph.upsert_entities(list(entities.values()))
    if relations:
        await graph.upsert_relations(relations)
    await graph.link_memories(
        [MemoryLink(r.id, r.memory_type, r.user_id, entity_ids) for r, entity_ids in links]
    )


def relation_of(record: KnowledgeMemory) -> Relation:
    """The graph edge a knowledge memory is written as (same id; invalid once closed)."""
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
