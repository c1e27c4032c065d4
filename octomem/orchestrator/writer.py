"""Write records to every store so that a crash at any point loses nothing and leaves
nothing half-written.

Each write that spans stores is a `WriteIntent`: committed to the journal first, then
applied - graph, keyword index, history log, and the vector store (the canonical copy)
last - and dropped from the journal when every store has it. An intent that a crash
left behind is applied again by `recover` when the stores are next opened
(`Services.init`). Applying is idempotent: every write is an upsert keyed by a
deterministic id and history events have deterministic ids. Callers hold the scope lock
(`ScopeLocks.hold`) of the records they write.

A write too large for one journal row (a user's import) is journaled in parts, each
bounded, and applied part by part; an intent may also ask for its scopes' projections
(`octomem.orchestrator.projections`) to be rendered again once the rest is written, so
that a crash at any point still leaves the views following their facts.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from octomem import offload
from octomem.errors import NotFoundError, StoreError
from octomem.logs import get_logger
from octomem.models import (
    Change,
    Entity,
    HistoryEvent,
    IntentPart,
    MemoryBase,
    MemoryType,
    Operation,
    Relation,
    WriteIntent,
    embedding_text,
    utcnow,
)
from octomem.orchestrator import originals, projections
from octomem.orchestrator.events import applied, history_event, leaves_entry, logged_as
from octomem.orchestrator.locks import ScopeBusyError
from octomem.plans import Decision
from octomem.stores import fence
from octomem.stores.base import MemoryLink
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)
DELETE_BATCH = 500  # records per journaled intent of a delete_all
WRITE_SLICE = 128  # records per store call when an intent is applied (`_slices`)


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
    rewrites: Sequence[MemoryBase] = (),
    actor: str = "octomem",
) -> None:
    """Write records (each with its history event) to every store, rewrite `rewrites` (the
    same embedded text: vector store alone, `IntentPart.rewrites`) and remove `deletes`,
    as one journaled intent."""
    if not changes and not deletes and not rewrites:
        return
    # an agent's record of another class: before anything is written
    for record in [*(r for r, _ in changes), *rewrites]:
        services.types.check_record(record)
    now = utcnow()

    def build() -> WriteIntent:
        return WriteIntent(
            id=uuid.uuid4().hex,
            writes=[Change(record=r, event=e) for r, e in changes],
            rewrites=list(rewrites),
            deletes=[Change(record=r, event=_deleted(r, actor, now)) for r in deletes],
            at=now,
        )

    # building (validating) an intent costs CPU per record: a large one off the event loop
    intent = await offload.cpu(len(changes) + len(deletes) + len(rewrites), build)
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


async def rewrite_views(services: Services, records: Sequence[MemoryBase], *, actor: str) -> None:
    """Render every projection of the scopes of these records' facts again and write what
    changed (after a bulk delete, a repair), journaled. The caller holds the users' locks."""
    scopes = projections.fact_scopes(services, records)
    if scopes:
        await _journaled(services, WriteIntent(id=uuid.uuid4().hex, views=scopes, actor=actor))


async def write_parts(
    services: Services,
    parts: AsyncIterable[IntentPart],
    *,
    count: int,
    users: Sequence[str | None],
    views: Sequence[tuple[str | None, str | None]] = (),
    actor: str,
    done: Callable[[IntentPart], None] | None = None,
    first: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Write a large body (a user's import) as one journaled intent of `count` bounded
    parts, then render the projections of `views`. Each part is journaled as `parts`
    yields it, before the next is asked for (the last once `parts` has ended: one more
    than `count` is refused with nothing applied), then the parts are applied one at a
    time as read back from the journal: no more than a part is held. `done` is told of
    each part once applied; `first` runs once the intent is begun, before its parts are
    journaled (the blobs its records name: a crash before its last part drops the intent
    and, with it, them). The caller holds the locks of `users`, every user the parts
    write."""
    intent = WriteIntent(
        id=uuid.uuid4().hex, parts=count, users=list(users), views=list(views), actor=actor
    )
    await services.journal.begin(intent)
    if first is not None:
        await first()
    index, last = 0, None
    async for part in parts:
        if index >= count:
            raise StoreError(f"journaled write {intent.id} was given more than {count} parts")
        if index == count - 1:
            last = part  # journaled once no other follows (with it, the write is complete)
        else:
            await services.journal.add_part(intent.id, index, part)
        index += 1
    if index != count:
        raise StoreError(f"journaled write {intent.id} was given {index} of its {count} parts")
    if last is not None:
        await services.journal.add_part(intent.id, count - 1, last)
    await apply_intent(services, intent, None, done)
    await services.journal.finish(intent.id)


async def _journaled(
    services: Services,
    intent: WriteIntent,
    parts: Sequence[IntentPart] = (),
    done: Callable[[IntentPart], None] | None = None,
    first: Callable[[], Awaitable[object]] | None = None,
) -> None:
    await services.journal.begin(intent)
    if first is not None:
        await first()
    for index, part in enumerate(parts):
        await services.journal.add_part(intent.id, index, part)
    await apply_intent(services, intent, parts, done)
    await services.journal.finish(intent.id)


async def apply_intent(
    services: Services,
    intent: WriteIntent,
    parts: Sequence[IntentPart] | None = None,
    done: Callable[[IntentPart], None] | None = None,
) -> None:
    """Bring every store in line with the intent (again, if it was applied before): its own
    body, its parts in order (read from the journal one at a time unless given), then its
    views."""
    await _apply(services, intent, intent.at)
    for index in range(intent.parts):
        part = parts[index] if parts else await services.journal.part(intent.id, index)
        if part is None:
            raise StoreError(f"part {index} of journaled write {intent.id} is missing")
        await _apply(services, part, intent.at)
        if done is not None:
            done(part)
    for user_id, agent_id in intent.views:
        views = await projections.refresh(services, user_id, agent_id, now=intent.at)
        writes = [Change(record=r, event=e) for r, e in views.writes]
        deletes = [
            Change(record=r, event=_deleted(r, intent.actor, intent.at)) for r in views.deletes
        ]
        await _apply(services, IntentPart(writes=writes, deletes=deletes), intent.at)


async def _apply(services: Services, part: IntentPart, at: datetime) -> None:
    if part.events:  # an import's past events: no writer of this store made them now
        with fence.unstamped():
            await services.history.record(part.events)
    if part.writes:
        await _upsert(services, [(c.record, c.event) for c in part.writes])
    if part.rewrites:
        by_type: dict[MemoryType, list[MemoryBase]] = defaultdict(list)
        for record in part.rewrites:
            by_type[record.memory_type].append(record)
        for memory_type, records in by_type.items():
            await services.vector.rewrite(memory_type, records)
    if part.deletes:
        await _remove(services, part.deletes, at)
        # the blobs no remaining record names: in the intent, so that a crash after the
        # records went (before the journal drops it) is completed by `recover` with them
        for user_id in {c.record.user_id for c in part.deletes if originals.kept(c.record)}:
            await originals.prune(services, user_id)
    if part.entities:
        await services.graph.upsert_entities(part.entities)
    if part.relations:
        await services.graph.upsert_relations(part.relations)


async def _complete(services: Services, intent: WriteIntent) -> None:
    """Apply an intent the journal holds and drop it. One cut short while its parts were
    being journaled has written nothing to any store but blobs (`write_parts`' `first`):
    it is dropped, and its users' blobs no record names are removed."""
    last = intent.parts - 1
    if last < 0 or await services.journal.part(intent.id, last) is not None:
        await apply_intent(services, intent)
    else:
        log.warning("dropping a write whose journaling was cut short", intent=intent.id)
        for user_id in intent.user_ids():  # the blobs written for its records (`first`)
            await originals.prune(services, user_id)
    await services.journal.finish(intent.id)


def foreign_types(services: Services, intent: WriteIntent) -> set[str]:
    """The types of the intent's records this Orchestrator has no agent of: only one with
    them completes it (it cannot embed, index or check records it cannot read as their
    classes), on its next open or recovery sweep."""
    return services.types.lacks(intent.records())


def _leave(intent: WriteIntent, kinds: set[str]) -> None:
    log.warning(
        "leaving a write of memory types this Orchestrator has no agent of to one that has",
        intent=intent.id,
        memory_types=sorted(kinds),
    )


async def recover(services: Services, *, wait: bool = True) -> int:
    """Apply every intent a crash left in the journal, each under the locks of its scopes:
    a live writer finishes its own first. In server mode the journal is shared by every
    host, so this also takes over the intents of a writer that died on another host, once
    its lease has expired (the lease is the intent's: it was begun under it). Without
    `wait`, intents whose scopes are locked right now are left to their writer, or to the
    next sweep (`Orchestrator.arecover`). Returns how many were applied."""
    applied = 0
    for intent in await services.journal.pending():
        if kinds := foreign_types(services, intent):
            _leave(intent, kinds)
            continue
        try:
            async with services.locks.hold_many(
                intent.user_ids(), settle=False, timeout_s=None if wait else 0
            ):
                if not await services.journal.is_pending(intent.id):
                    continue  # its writer finished it meanwhile
                log.warning("completing a write a crash interrupted", intent=intent.id)
                await _complete(services, intent)
                applied += 1
        except ScopeBusyError:
            if wait:
                raise
    return applied


async def complete_leftovers(services: Services, user_ids: set[str | None]) -> int:
    """Apply, oldest first, the intents of these users (whose locks the caller holds) that
    their writers left unfinished - a store failed, or the call was cancelled - before the
    caller reads: applied later, an old intent would overwrite what newer writes decided.
    Intents that also touch users not held are left to `recover`. Returns how many."""
    applied = 0
    for intent in await services.journal.pending(within=user_ids):  # no live writer has it
        if kinds := foreign_types(services, intent):
            _leave(intent, kinds)
            continue
        log.warning("completing a write that was cut short", intent=intent.id)
        await _complete(services, intent)
        applied += 1
    return applied


async def restore_vectors(services: Services, written: Mapping[str, Sequence[str]]) -> int:
    """Put vector entries (ids by memory type) back to what the history log says; the
    caller holds their users' leases. They were written by a writer whose lease passed to
    another while its request was on the way (`fence.LandedLate`): the history log is on
    the graph server, where every write is fenced, so a memory's last event there is its
    newest truth, and an entry with no event left was forgotten meanwhile, or whose last
    event deleted it (`doctor._behind`), is removed. Returns how many entries changed."""
    changed = 0
    for kind, ids in written.items():
        memory_type = MemoryType(kind)
        stored = {r.id: r for r in await services.vector.get(memory_type, ids)}
        # the last event logged (not the latest by its time: clocks of hosts differ)
        latest: dict[str, HistoryEvent] = {}
        indexed: set[str] = set()
        for user_id in dict.fromkeys(r.user_id for r in stored.values()):
            latest.update(await services.history.latest(user_id))
            indexed.update(e.memory_id for e in await services.keyword.entries(user_id))
        truths: list[MemoryBase] = []
        gone: list[str] = []
        for memory_id in dict.fromkeys(ids):
            last = latest.get(memory_id) or await _last_event(services, memory_id)
            # a deletion's entry is gone, unless the keyword index holds the memory (written
            # again since under its id); a retraction's closed record is put back like any
            # other truth (`events.leaves_entry`, as `doctor._behind`)
            leaves = None if last is None else leaves_entry(last, held=memory_id in indexed)
            if last is None or leaves is False:
                gone += [memory_id] if memory_id in stored else []
            elif leaves and last.record is not None:
                now = stored.get(memory_id)
                if now is None or not logged_as(last, now):
                    truths.append(services.types.record_from_dict(last.record))
        if gone:
            await services.vector.delete(memory_type, gone)
        if truths:
            await put_back(services, memory_type, truths)
        changed += len(gone) + len(truths)
    log.warning("restored entries a late write had changed", changed=changed)
    return changed


async def _last_event(services: Services, memory_id: str) -> HistoryEvent | None:
    events = await services.history.for_memory(memory_id)
    return events[-1] if events else None


async def put_back(
    services: Services, memory_type: MemoryType, truths: Sequence[MemoryBase]
) -> None:
    """Write `truths` (records of `memory_type` the history log holds) to the vector store
    alone, embedded again: the other stores hold them already, or are repaired by the
    caller."""
    embeddings = await services.embedder.embed([embedding_text(r) for r in truths])
    await services.vector.upsert(memory_type, truths, embeddings)


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
            await services.history.record([applied(event, removed=False) for _, event in changes])
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
        await services.history.record([applied(c.event, removed=True) for c in deletes])
        for record in records:
            if (edge := services.roles.edge(record)) is not None and edge.invalid_at is None:
                with contextlib.suppress(NotFoundError):  # its graph write never landed
                    await services.graph.invalidate_relation(edge.id, at)
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
        names = services.roles.linked_names(record)
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
        if (edge := services.roles.edge(record)) is not None:
            relations.append(edge)  # carries invalid_at when superseded
    if entities:
        await graph.upsert_entities(list(entities.values()))
    if relations:
        await graph.upsert_relations(relations)
    await graph.link_memories(
        [MemoryLink(r.id, r.memory_type, r.user_id, entity_ids) for r, entity_ids in links]
    )
