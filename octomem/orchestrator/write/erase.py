"""An `Erase` (`forget`): every trace of one user, or of one agent scope of a user, removed
from every store, and `reset`: every store emptied.

Unlike a deletion, which keeps what a memory said in the history log, an erase deletes
the scope's records, history events, keyword entries, graph nodes, relations, the
entities nothing else uses and blobs - and then, where this process owns the files,
rewrites them so the deleted text is not left in free pages or write-ahead logs either.

An erase is a journaled write (`apply.forget`) whose intent holds the scope and the memory
ids it removes, no text. Applying it again is harmless: the ids to remove are gathered
from every store each time and joined with those journaled, so a run cut short anywhere -
even after the stores were cleared, before their files were rewritten - is completed by
the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from octomem.logs import get_logger
from octomem.models import ForgetReport, HistoryEvent, MemoryType, WriteIntent
from octomem.orchestrator.write import blobs
from octomem.scopes import given, scope_filter
from octomem.stores.fence import Fence
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)


async def scope_ids(services: Services, user_id: str, agent_id: str | None) -> list[str]:
    """The ids of every memory of the scope any store holds (or logged), and those of the
    scope's unfinished writes of another Orchestrator's types (which an erase drops from
    the journal before it clears the stores: journaled with it, their ids survive a crash
    in between)."""
    by_type, events = await _scope_records(services, user_id, agent_id)
    ids = await _every_id(services, user_id, agent_id, by_type, events)
    for leftover in await _foreign_leftovers(services, user_id, agent_id, ""):
        ids |= {r.id for r in leftover.records()}
    return sorted(ids)


async def apply(services: Services, fence: Fence, intent: WriteIntent) -> ForgetReport:
    """Remove the scope of the intent's erase from every store (again, if a run was cut
    short); what it removed. The caller holds its user's lock and drops the intent next."""
    target = intent.erase
    assert target is not None
    user_id, agent_id = target.user_id, target.agent_id
    report = ForgetReport(user_id=user_id, agent_id=agent_id)
    with span("forget", user_id=user_id):
        by_type, events = await _scope_records(services, user_id, agent_id)
        # writes of another Orchestrator's types, cut short (ours the lock completed):
        # dropped, and whatever of them reached a store is forgotten with the rest
        leftovers = await _foreign_leftovers(services, user_id, agent_id, intent.id)
        ids = sorted(
            await _every_id(services, user_id, agent_id, by_type, events)
            | set(target.ids)
            | {r.id for leftover in leftovers for r in leftover.records()}
        )
        for leftover in leftovers:
            await services.journal.finish(leftover.id, fence=fence)
        keyword_ids = {e.memory_id for e in await services.keyword.entries(user_id)}
        graph = await services.graph.forget(user_id, None if agent_id is None else ids, fence=fence)
        report.graph_memories, report.graph_relations, report.graph_entities = graph
        report.keyword_entries = len(keyword_ids & set(ids))
        await services.keyword.delete(ids, fence=fence)
        for memory_type, found in by_type.items():
            await delete_vectors(services, fence, memory_type, found)
            if found:
                report.memories[memory_type] = len(found)
        report.history_events = len(events)
        # last: it lists every memory a rerun must find
        await services.history.discard(ids, fence=fence)
        if ids or any(graph):  # else nothing of the scope was stored: no file to rewrite
            report.files_rewritten = await rewrite_files(services, ids)
        # the original bytes: before the intent is dropped, so a rerun after a crash gets them
        report.blobs = await blobs.forget(services, user_id, agent_id)
        for memo in list(services.memos):
            memo.drop(lambda r: r.user_id == user_id and agent_id in (None, r.agent_id))
        # the embedding cache (in memory) keeps digests, not texts; the vectors are theirs too
        clear = getattr(services.embedder, "clear", None)
        if ids and callable(clear):
            clear()
    log.info(
        "forgotten",
        user_id=user_id,
        agent_id=agent_id,
        memories=report.total_memories,
        history_events=report.history_events,
    )
    return report


async def delete_vectors(services: Services, fence: Fence, kind: str, ids: list[str]) -> None:
    """Delete the vector entries `ids` of memory type `kind`, also one of a type of
    another Orchestrator's agents on the same stores."""
    if kind in services.types:
        await services.vector.delete(MemoryType(kind), ids, fence=fence)
    else:
        await services.vector.delete_foreign(kind, ids, fence=fence)


async def finished(services: Services, report: ForgetReport) -> None:
    """Once the erase's intent is dropped: the journal's files rewritten too, where the
    others were (nothing deleted is left in its free pages)."""
    if report.files_rewritten and await services.journal.compact():
        report.files_rewritten.append("journal")


async def _scope_records(
    services: Services, user_id: str, agent_id: str | None
) -> tuple[dict[MemoryType, list[str]], list[HistoryEvent]]:
    """The scope's records per type (current and superseded; of types this Orchestrator
    lacks too) and its history events."""
    where = scope_filter(user_id, given(agent_id))
    by_type = {
        memory_type: [r.id for r in await services.vector.list(memory_type, where=where)]
        for memory_type in services.types
    }
    for kind, records in (await services.vector.foreign_records(where)).items():
        by_type[MemoryType(kind)] = [record["id"] for record in records]
    events = await services.history.for_user(user_id)
    if agent_id is not None:
        # an event's record says whose it was; one without a record is kept unless its
        # memory is one of this agent's (discarded by id)
        events = [e for e in events if (e.record or {}).get("agent_id") == agent_id]
    return by_type, events


async def _every_id(
    services: Services,
    user_id: str,
    agent_id: str | None,
    by_type: dict[MemoryType, list[str]],
    events: Sequence[HistoryEvent],
) -> set[str]:
    ids = {i for found in by_type.values() for i in found} | {e.memory_id for e in events}
    if agent_id is None:  # the whole user: whatever the indexes hold, even if orphaned
        ids |= {e.memory_id for e in await services.keyword.entries(user_id)}
        ids |= {m for m, u in (await services.graph.memory_ids()).items() if u == user_id}
    return ids


async def _foreign_leftovers(
    services: Services, user_id: str, agent_id: str | None, erasing: str
) -> list[WriteIntent]:
    """The scope's unfinished writes of memory types this Orchestrator has no agent of
    (left to one that has: `recovery.foreign_types`), which the erase would otherwise see
    completed after it."""
    found = []
    for intent in await services.journal.pending(touching={user_id}):
        if intent.id == erasing or set(intent.user_ids()) != {user_id}:
            continue  # one that writes others too is left to an Orchestrator of its types
        theirs = agent_id is None or all(r.agent_id == agent_id for r in intent.records())
        if services.types.lacks(intent.records()) and theirs:
            found.append(intent)
    return found


async def rewrite_files(services: Services, deleted_ids: Sequence[str]) -> list[str]:
    """Rewrite the files of the vector store (its log of `deleted_ids`), keyword index,
    history and graph that this process owns, so nothing deleted is left in them; the
    names of the stores rewritten (a server's files are the server's). The journal is
    the caller's to compact last."""
    rewritten = ["vector"] if await services.vector.purge_deleted(deleted_ids) else []
    compacts = [services.keyword.compact, services.history.compact, services.graph.compact]
    for name, compact in zip(["keyword", "history", "graph"], compacts, strict=True):
        if await compact():
            rewritten.append(name)
    return rewritten


async def reset(services: Services) -> None:
    """Empty every store; then rewrite the files this process owns (embedded mode), so
    that no deleted text is left in them."""
    for store in services.stores:
        await store.reset()
    if services.blobs is not None:
        await asyncio.to_thread(services.blobs.clear)
    await rewrite_files(services, [])
    await services.journal.compact()
