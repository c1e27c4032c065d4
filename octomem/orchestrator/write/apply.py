"""Journaling a `WriteIntent` and applying it to every store.

The intent is committed to the journal first, then applied - graph, keyword index,
history log, and the vector store (the canonical copy) last - and dropped from the
journal when every store has it; one a crash left behind is applied again by
`recovery.recover`. Applying is idempotent: every write is an upsert keyed by a
deterministic id, and history events have deterministic ids. Callers hold the scope lock
of the records they write, whose `Fence` every store call made here carries, so a writer
whose lease passed to another is refused wherever the stores are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from octomem import offload
from octomem.at_once import at_once
from octomem.embeddings import embed_for
from octomem.errors import NotFoundError, StoreError
from octomem.logs import get_logger
from octomem.models import (
    Change,
    Drop,
    Entity,
    Erase,
    ForgetReport,
    HistoryEvent,
    IntentPart,
    MemoryBase,
    MemoryType,
    Operation,
    Relation,
    Restore,
    WriteIntent,
    embedding_text,
)
from octomem.orchestrator import projections, validity
from octomem.orchestrator.events import applied, history_event
from octomem.orchestrator.write import blobs, erase
from octomem.orchestrator.write.guard import Guard
from octomem.stores import gather
from octomem.stores.base import MemoryLink
from octomem.stores.fence import Fence
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)
DELETE_BATCH = 500  # deletions per journaled part of a large delete (a delete_all)
WRITE_SLICE = 128  # records per store call when a part is applied (`_slices`)
T = TypeVar("T")


async def write(
    services: Services,
    fence: Fence,
    *,
    changes: Sequence[tuple[MemoryBase, HistoryEvent]] = (),
    deletes: Sequence[MemoryBase] = (),
    rewrites: Sequence[MemoryBase] = (),
    restores: Sequence[Restore] = (),
    drops: Sequence[Drop] = (),
    retired: Sequence[Relation] = (),
    views: Iterable[tuple[str | None, str | None]] = (),
    actor: str = "octomem",
) -> None:
    """Apply these operations as one journaled write: `changes` (records, each with its
    history event) written to every store, `restores` put back into the stores each names,
    `rewrites` (the same embedded text) rewritten in the vector store alone, `deletes`
    removed (a DELETE event each, by `actor`), `drops` removed from the stores each names
    with no event, `retired` edges invalidated, then the projections of `views` rendered
    again. The caller holds the users' locks, whose `fence` it passes. Every record and
    event is masked here (`Guard`) before the journal sees it, whatever the caller masked."""
    views = list(dict.fromkeys(views))
    if not (changes or deletes or rewrites or restores or drops or retired or views):
        return
    # an agent's record of another class: before anything is written
    for record in [*(r for r, _ in changes), *rewrites, *(r.record for r in restores)]:
        services.types.check_record(record)
    now = services.clock.now()  # the one clock of every host (`stores.clock`)

    def build() -> tuple[WriteIntent, list[IntentPart]]:
        guard = Guard(services, actor=actor, at=now)
        removed = [_deleted(r, actor, now) for r in deletes]
        head, rest = (removed, []) if len(removed) <= DELETE_BATCH else ([], removed)
        intent = WriteIntent(
            id=uuid.uuid4().hex,
            writes=[guard.change(r, e) for r, e in changes],
            restores=[guard.restore(r) for r in restores],
            rewrites=[guard.record(r) for r in rewrites],
            deletes=head,
            drops=list(drops),
            retired=list(retired),
            views=views,
            actor=actor,
            at=now,
        )
        parts = [IntentPart(deletes=list(chunk)) for chunk in _slices(rest, DELETE_BATCH)]
        intent.parts = len(parts)
        intent.users = list(dict.fromkeys(c.record.user_id for c in rest))
        return intent, parts

    # building (validating) an intent costs CPU per record: a large one off the event loop
    size = len(changes) + len(deletes) + len(rewrites) + len(restores)
    intent, parts = await offload.cpu(size, build)
    await _journaled(services, fence, intent, parts)


def _deleted(record: MemoryBase, actor: str, at: datetime) -> Change:
    """`record` removed, with its DELETE event."""
    event = history_event(record, Operation.DELETE, old=record, actor=actor, at=at)
    return Change(record=record, event=event)


async def forget(
    services: Services, fence: Fence, user_id: str, agent_id: str | None
) -> ForgetReport:
    """Forget a scope as one journaled write (an `Erase`); the caller holds `user_id`'s
    lock. Its erasure is counted first: a write of the scope that began before stores
    nothing after it."""
    started = time.perf_counter()
    await services.locks.count_erasure(user_id, agent_id, fence)
    # journaled with the ids before anything is deleted: a rerun after a crash still
    # purges the files of memories the stores it had cleared no longer list
    ids = await erase.scope_ids(services, user_id, agent_id)
    target = Erase(user_id=user_id, agent_id=agent_id, ids=ids)
    report = await _journaled(services, fence, WriteIntent(id=uuid.uuid4().hex, erase=target))
    assert report is not None
    report.elapsed_s = round(time.perf_counter() - started, 4)
    return report


async def write_parts(
    services: Services,
    fence: Fence,
    parts: AsyncIterable[IntentPart],
    *,
    count: int,
    users: Sequence[str | None],
    views: Sequence[tuple[str | None, str | None]] = (),
    actor: str,
    mend: bool = False,
    done: Callable[[IntentPart], None] | None = None,
    first: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Write a large body (a user's import) as one journaled intent of `count` bounded
    parts, then mend the validity of the facts they write (`mend`: versions not
    reconciled) and render the projections of `views`. Each part is journaled as `parts`
    yields it (the last once `parts` has ended: one more than `count` is refused with
    nothing applied), then the parts are applied one at a time as read back from the
    journal: no more than a part is held. `done` is told of each part once applied; `first`
    runs once the intent is begun, before its parts are journaled (a crash before its last
    part drops the intent). The caller holds the locks of `users`, whose `fence` it passes."""
    intent = WriteIntent(
        id=uuid.uuid4().hex,
        parts=count,
        users=list(users),
        views=list(views),
        actor=actor,
        mend=mend,
    )
    _held(fence, intent.user_ids())  # each part is checked against `users` as it comes
    journal = services.journal
    await journal.begin(intent, fence=fence)
    if first is not None:
        await first()
    index, last = 0, None
    async for part in parts:
        if index >= count:
            raise StoreError(f"journaled write {intent.id} was given more than {count} parts")
        if strays := set(part.user_ids()) - set(users):
            raise StoreError(f"part {index} of journaled write {intent.id} writes {strays!r}")
        if index == count - 1:
            last = part  # journaled once no other follows (with it, the write is complete)
        else:
            await journal.add_part(intent.id, index, part, fence=fence)
        index += 1
    if index != count:
        raise StoreError(f"journaled write {intent.id} was given {index} of its {count} parts")
    if last is not None:
        await journal.add_part(intent.id, count - 1, last, fence=fence)
    await apply_intent(services, fence, intent, None, done)
    await journal.finish(intent.id, fence=fence)


def _held(fence: Fence, users: Iterable[str | None]) -> None:
    """StoreError unless `fence` holds the lock of every user written: a write made
    without it would be neither serialised with that user's other writers nor fenced."""
    if missing := [u for u in dict.fromkeys(users) if fence.stamp(u) is None]:
        raise StoreError(
            f"a write of the memories of {missing!r} was made without their write lock; "
            "hold it (`records.hold`) and pass its fence"
        )


async def _journaled(
    services: Services, fence: Fence, intent: WriteIntent, parts: Sequence[IntentPart] = ()
) -> ForgetReport | None:
    _held(fence, [*intent.user_ids(), *(u for part in parts for u in part.user_ids())])
    # the intent and the graph writes up to the first vector write in one transaction,
    # the journal's finish in another with the check that the vector writes were fenced
    async with gather.gathered(fence):
        await services.journal.begin(intent, fence=fence)
        for index, part in enumerate(parts):
            await services.journal.add_part(intent.id, index, part, fence=fence)
        report = await apply_intent(services, fence, intent, parts)
        await services.journal.finish(intent.id, fence=fence)
    if report is not None:
        await erase.finished(services, report)
    return report


async def apply_intent(
    services: Services,
    fence: Fence,
    intent: WriteIntent,
    parts: Sequence[IntentPart] | None = None,
    done: Callable[[IntentPart], None] | None = None,
) -> ForgetReport | None:
    """Bring every store in line with the intent (again, if it was applied before): its own
    body, its parts in order (read from the journal one at a time unless given; their
    records are not put in the recall cache: a bulk write, an import, evicting what recall
    reads), the validity of the facts they wrote if it `mend`s, its views, then its erase
    (what it removed)."""
    await _apply(services, fence, intent, intent.at)
    facts = _facts(intent) if intent.mend else set()
    for index in range(intent.parts):
        part = parts[index] if parts else await services.journal.part(intent.id, index)
        if part is None:
            raise StoreError(f"part {index} of journaled write {intent.id} is missing")
        await _apply(services, fence, part, intent.at, cache=False)
        facts |= _facts(part) if intent.mend else set()
        if done is not None:
            done(part)
    guard = Guard(services, actor=intent.actor, at=intent.at)
    if facts:  # each version as repair leaves it, logged (again after a crash: the same)
        mended = [
            guard.change(
                new, history_event(new, Operation.UPDATE, old=old, actor=intent.actor, at=intent.at)
            )
            for old, new in await validity.versions_mended(services, facts, intent.at)
        ]
        if mended:
            await _apply(services, fence, IntentPart(writes=mended), intent.at)
    for user_id, agent_id in intent.views:
        views = await projections.refresh(services, user_id, agent_id, now=intent.at)
        writes = [guard.change(r, e) for r, e in views.writes]
        deletes = [_deleted(r, intent.actor, intent.at) for r in views.deletes]
        await _apply(services, fence, IntentPart(writes=writes, deletes=deletes), intent.at)
    if intent.erase is not None:
        return await erase.apply(services, fence, intent)
    return None


def _facts(part: IntentPart) -> set[tuple[MemoryType, str | None, str]]:
    """The facts (type, user, conflict key) of the records `part` writes."""
    return {
        (c.record.memory_type, c.record.user_id, c.record.conflict_key)
        for c in part.writes
        if c.record.conflict_key is not None
    }


async def complete(
    services: Services,
    fence: Fence,
    intent: WriteIntent,
    done: Callable[[IntentPart], None] | None = None,
) -> None:
    """Apply an intent the journal holds and drop it (`done` told of each part applied).
    One cut short while its parts were being journaled has written nothing to any store
    but blobs (`write_parts`' `first`): it is dropped, and its users' blobs no record
    names are removed."""
    last = intent.parts - 1
    report = None
    if last < 0 or await services.journal.part(intent.id, last) is not None:
        report = await apply_intent(services, fence, intent, None, done)
    else:
        log.warning("dropping a write whose journaling was cut short", intent=intent.id)
        for user_id in intent.user_ids():  # the blobs written for its records (`first`)
            await blobs.prune(services, user_id)
    await services.journal.finish(intent.id, fence=fence)
    if report is not None:
        await erase.finished(services, report)


async def _apply(
    services: Services, fence: Fence, part: IntentPart, at: datetime, *, cache: bool = True
) -> None:
    """Bring every store in line with one part, each kind of operation in its order
    (`cache`: whether the vector store's recall cache keeps the records it writes)."""
    if part.events:  # an import's past events: no writer of this store made them now
        await services.history.record(part.events, fence=fence, stamped=False)
    if part.writes:
        await _upsert(services, fence, [(c.record, c.event) for c in part.writes], cache)
    if part.restores:
        await _restore(services, fence, part.restores)
    await _per_type(
        services,
        fence,
        part.rewrites,
        lambda t, typed: services.vector.rewrite(t, typed, fence=fence),
    )
    if part.deletes:
        await _remove(services, fence, part.deletes, at)
    # the blobs no remaining record names (records that named them deleted, or now saying
    # they were withheld): in the intent, so that a crash after the records changed
    # (before the journal drops it) is completed by `recover` with them
    changed = [*part.rewrites, *(c.record for c in part.deletes)]
    for user_id in dict.fromkeys(r.user_id for r in changed if blobs.names_parts(r)):
        await blobs.prune(services, user_id)
    if part.drops:
        await _drop(services, fence, part.drops)
    for edge in part.retired:
        with contextlib.suppress(NotFoundError):  # gone meanwhile: nothing to invalidate
            await services.graph.invalidate_relation(edge.id, at, fence=fence)
    if part.entities:
        await services.graph.upsert_entities(part.entities, fence=fence)
    if part.relations:
        await services.graph.upsert_relations(part.relations, fence=fence)


def _slices(items: Sequence[T], size: int = WRITE_SLICE) -> Iterable[Sequence[T]]:
    """A large write's items, `size` at a time. A store holds its lock for the whole of
    one call, and every other caller of the process waits for it; in slices, their calls
    take turns with this one, so the wait is bounded by one slice."""
    return (items[start : start + size] for start in range(0, len(items), size))


async def _upsert(
    services: Services,
    fence: Fence,
    changes: Sequence[tuple[MemoryBase, HistoryEvent]],
    cache: bool = True,
) -> None:
    """Upsert records to graph, keyword index, history and vector store, in that order."""
    for chunk in _slices(changes):
        records = [record for record, _ in chunk]
        with span("store.write", records=len(records), user_id=records[0].user_id):
            # the embedder (model inference) works while the other stores are written
            embedding = asyncio.ensure_future(_embed(services, records))
            try:
                await write_graph(services, fence, records)
                await services.keyword.upsert(records, fence=fence)
                events = [applied(event, removed=False) for _, event in chunk]
                await services.history.record(events, fence=fence)
                embeddings = await embedding
            finally:
                if not embedding.done():
                    embedding.cancel()
                elif not embedding.cancelled():
                    embedding.exception()  # seen: a store's error is the one raised
            added = {record.id for record, event in chunk if event.operation == Operation.ADD}
            await _upsert_vectors(services, fence, records, embeddings, cache, added)


async def _embed(services: Services, records: Sequence[MemoryBase]) -> list[list[float]]:
    """The records' embeddings, each text embedded for its record's user."""
    texts, users = [embedding_text(r) for r in records], [r.user_id for r in records]
    return await embed_for(services.embedder, texts, users)


async def _upsert_vectors(
    services: Services,
    fence: Fence,
    records: Sequence[MemoryBase],
    embeddings: Sequence[Sequence[float]],
    cache: bool = True,
    added: Collection[str] = (),
) -> None:
    by_id = dict(zip((r.id for r in records), embeddings, strict=True))

    def upsert(memory_type: MemoryType, typed: list[MemoryBase]) -> Awaitable[None]:
        vectors = [by_id[r.id] for r in typed]
        return services.vector.upsert(
            memory_type, typed, vectors, fence=fence, cache=cache, added=added
        )

    await _per_type(services, fence, records, upsert)


async def _per_type(
    services: Services,
    fence: Fence,
    records: Iterable[MemoryBase],
    write: Callable[[MemoryType, list[MemoryBase]], Awaitable[None]],
) -> None:
    """Run `write` of the records of each memory type (a collection each): one after
    another, or, where the store's writes overlap (a server: `concurrent_writes`), all at
    once - after the writes gathered so far are flushed, once - so that a write waits for
    one round trip, not one a type. Each is awaited to its end; the first error is raised."""
    by_type: dict[MemoryType, list[MemoryBase]] = defaultdict(list)
    for record in records:
        by_type[record.memory_type].append(record)
    if len(by_type) < 2 or not services.vector.concurrent_writes:
        for memory_type, typed in by_type.items():
            await write(memory_type, typed)
        return
    await gather.drain(fence)
    await at_once(write(memory_type, typed) for memory_type, typed in by_type.items())


async def _restore(services: Services, fence: Fence, restores: Sequence[Restore]) -> None:
    """Put records back into the stores each names (a repair)."""
    for chunk in _slices(restores):
        into = {
            store: [r.record for r in chunk if store in r.stores]
            for store in ("graph", "keyword", "vector")
        }
        if into["graph"]:
            await write_graph(services, fence, into["graph"])
        if into["keyword"]:
            await services.keyword.upsert(into["keyword"], fence=fence)
        events = [r.event for r in chunk if "history" in r.stores and r.event is not None]
        if events:
            await services.history.record(events, fence=fence)
        if vector := into["vector"]:
            await _upsert_vectors(services, fence, vector, await _embed(services, vector))


async def _remove(
    services: Services, fence: Fence, deletes: Sequence[Change], at: datetime
) -> None:
    for chunk in _slices(deletes):
        records = [change.record for change in chunk]
        with span("store.delete", records=len(records), user_id=records[0].user_id):
            events = [applied(c.event, removed=True) for c in chunk]
            await services.history.record(events, fence=fence)
            for record in records:
                edge = services.roles.edge(record)  # its agent's `GraphProjection`
                if edge is not None and edge.invalid_at is None:
                    with contextlib.suppress(NotFoundError):  # its graph write never landed
                        await services.graph.invalidate_relation(edge.id, at, fence=fence)
                await services.graph.delete_memory(record.id, fence=fence)
            await services.keyword.delete([record.id for record in records], fence=fence)
            await _per_type(
                services,
                fence,
                records,
                lambda t, typed: services.vector.delete(t, [r.id for r in typed], fence=fence),
            )


async def _drop(services: Services, fence: Fence, drops: Sequence[Drop]) -> None:
    """Remove entries from the stores each names, with no event (a repair)."""
    vector: dict[str, list[str]] = defaultdict(list)
    for drop in drops:
        if "vector" in drop.stores and drop.memory_type is not None:
            vector[drop.memory_type].append(drop.memory_id)
        if "graph" in drop.stores:
            await services.graph.delete_memory(drop.memory_id, fence=fence)
    if keyword := [drop.memory_id for drop in drops if "keyword" in drop.stores]:
        await services.keyword.delete(keyword, fence=fence)
    if history := [drop.memory_id for drop in drops if "history" in drop.stores]:
        await services.history.discard(history, fence=fence)
    for kind, ids in vector.items():
        await erase.delete_vectors(services, fence, kind, ids)


async def write_graph(services: Services, fence: Fence, records: Sequence[MemoryBase]) -> None:
    """Upsert the records' entities, knowledge edges and memory nodes with their links."""
    graph = services.graph
    entities: dict[str, Entity] = {}
    links: list[MemoryLink] = []
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
        links.append(
            MemoryLink(record.id, record.memory_type, record.user_id, list(dict.fromkeys(ids)))
        )
        if (edge := services.roles.edge(record)) is not None:
            relations.append(edge)  # carries invalid_at when superseded
    if entities:
        await graph.upsert_entities(list(entities.values()), fence=fence)
    if relations:
        await graph.upsert_relations(relations, fence=fence)
    await graph.link_memories(links, fence=fence)
