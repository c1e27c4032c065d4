"""`forget`: remove every trace of one user (or one agent scope of a user) from every store.

Unlike `delete`/`delete_all`, which keep what a memory said in the history log and its
knowledge edges invalidated in the graph, `forget` deletes the scope's records (current
and superseded), its history events, keyword entries, graph memory nodes, relations and
the entities nothing else uses - and then, where this process owns the files (embedded
mode), rewrites them so the deleted text is not left in free pages, write-ahead logs or
Chroma's write log either.

The original bytes of the scope's images and files (`media.keep_originals`) go too: the
user's blob directory, or (one agent scope) the blobs no remaining record of the user names.

Crash safety: the forget is recorded in the journal - the user and agent ids and the
memory ids it removes, no text - before the first store is touched, and dropped when
every store is done; an unfinished one is run again when the stores are next opened
(`resume`). Running it again is harmless: the ids to remove are gathered from every store
each time and joined with those journaled, so a run cut short anywhere - even after the
stores were cleared, before their files were rewritten - is completed by the next.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from octomem.logs import get_logger
from octomem.models import ForgetReport, HistoryEvent, MemoryType, WriteIntent
from octomem.orchestrator import originals
from octomem.orchestrator.locks import ScopeBusyError
from octomem.orchestrator.writer import complete_leftovers, foreign_types
from octomem.scopes import given, scope_filter
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)


async def forget(
    services: Services, user_id: str, agent_id: str | None, *, count: bool = True
) -> ForgetReport:
    """Forget a scope; the caller holds `user_id`'s write lock. Without `count`, the
    completion of a forget that counted its erasure when it began (`complete_forgets`)."""
    started = time.perf_counter()
    report = ForgetReport(user_id=user_id, agent_id=agent_id)
    with span("forget", user_id=user_id):
        # first: a write of this scope that began before the forget stores nothing after it
        if count:
            await services.locks.count_erasure(user_id, agent_id)
        by_type, events = await _scope_ids(services, user_id, agent_id)
        # writes of another Orchestrator's types, cut short (ours the lock completed):
        # dropped, and whatever of them reached a store is forgotten with the rest
        leftovers = await _foreign_leftovers(services, user_id, agent_id)
        ids = sorted(
            {i for found in by_type.values() for i in found}
            | {e.memory_id for e in events}
            | {r.id for intent in leftovers for r in intent.records()}
        )
        keyword_ids = [e.memory_id for e in await services.keyword.entries(user_id)]
        if agent_id is None:  # the whole user: whatever the indexes hold, even if orphaned
            graph_ids = [m for m, u in (await services.graph.memory_ids()).items() if u == user_id]
            ids = sorted({*ids, *keyword_ids, *graph_ids})
        # journaled with the ids before anything is deleted: a rerun after a crash still
        # purges the files of memories the stores it had cleared no longer list
        ids = await services.journal.begin_forget(user_id, agent_id, ids)
        for intent in leftovers:
            await services.journal.finish(intent.id)
        graph = await services.graph.forget(user_id, None if agent_id is None else ids)
        report.graph_memories, report.graph_relations, report.graph_entities = graph
        report.keyword_entries = len(set(keyword_ids) & set(ids))
        await services.keyword.delete(ids)
        for memory_type, found in by_type.items():
            if memory_type in services.types:
                await services.vector.delete(memory_type, found)
            else:  # a type of another Orchestrator's agents on the same stores
                await services.vector.delete_foreign(memory_type, found)
            if found:
                report.memories[memory_type] = len(found)
        report.history_events = len(events)
        await services.history.discard(ids)  # last: it lists every memory a rerun must find
        if ids or any(graph):  # else nothing of the scope was stored: no file to rewrite
            report.files_rewritten = await rewrite_files(services, ids)
        # the original bytes: before the forget is done, so a rerun after a crash gets them
        report.blobs = await originals.forget(services, user_id, agent_id)
        await services.journal.finish_forget(user_id, agent_id)
        if report.files_rewritten and await services.journal.compact():
            report.files_rewritten.append("journal")
        _forget_embeddings(services, ids)
        for memo in list(services.memos):
            memo.drop(lambda r: r.user_id == user_id and agent_id in (None, r.agent_id))
    report.elapsed_s = round(time.perf_counter() - started, 4)
    log.info(
        "forgotten",
        user_id=user_id,
        agent_id=agent_id,
        memories=report.total_memories,
        history_events=report.history_events,
    )
    return report


async def _scope_ids(
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
        # memory is one of this agent's (discarded by id below)
        events = [e for e in events if (e.record or {}).get("agent_id") == agent_id]
    return by_type, events


async def _foreign_leftovers(
    services: Services, user_id: str, agent_id: str | None
) -> list[WriteIntent]:
    """The scope's unfinished writes of memory types this Orchestrator has no agent of
    (left to one that has: `writer.foreign_types`), which the forget would otherwise see
    completed after it."""
    found = []
    for intent in await services.journal.pending(within={user_id}):
        theirs = agent_id is None or all(r.agent_id == agent_id for r in intent.records())
        if foreign_types(services, intent) and theirs:
            found.append(intent)
    return found


async def rewrite_files(services: Services, deleted_ids: Sequence[str]) -> list[str]:
    """Rewrite the files of the vector store (its log of `deleted_ids`), keyword index,
    history and graph that this process owns, so nothing deleted is left in them; the
    names of the stores rewritten (a server's files are the server's). The journal is
    the caller's to compact last."""
    rewritten = []
    if await services.vector.purge_deleted(deleted_ids):
        rewritten.append("vector")
    if await services.keyword.compact():
        rewritten.append("keyword")
    if await services.history.compact():
        rewritten.append("history")
    if await services.graph.compact():
        rewritten.append("graph")
    return rewritten


def _forget_embeddings(services: Services, ids: list[str]) -> None:
    """Empty the embedding cache: it keeps digests of texts, not the texts, but the vectors
    of the user's texts are theirs too (it lives in memory only)."""
    clear = getattr(services.embedder, "clear", None)
    if callable(clear) and ids:
        clear()


async def complete_forgets(services: Services, user_ids: set[str | None]) -> int:
    """Complete the forgets of these users (whose locks the caller holds) that a caller left
    unfinished - a store failed - before the caller reads or writes: completed only at the
    next open, they would also take what later calls stored. Its erasure was counted when
    it began: a call that began after that stores as usual. Returns how many."""
    done = 0
    for user_id, agent_id in await services.journal.pending_forgets():
        if user_id in user_ids:
            log.warning("completing a forget that was cut short", user_id=user_id)
            await forget(services, user_id, agent_id, count=False)
            done += 1
    return done


async def resume(services: Services, *, wait: bool = True) -> int:
    """Complete every forget a crash interrupted (each under its user's lock; in server
    mode those of any host, once the dead host's lease expired). Without `wait`, forgets of
    users locked right now are left to their caller or the next sweep. Returns how many."""
    done = 0
    for user_id, agent_id in await services.journal.pending_forgets():
        try:
            async with services.locks.hold_many(
                [user_id], settle=False, timeout_s=None if wait else 0
            ):
                if (user_id, agent_id) not in await services.journal.pending_forgets():
                    continue  # its caller finished it meanwhile
                await complete_leftovers(services, {user_id})  # as the lock's settling does
                log.warning("completing a forget a crash interrupted", user_id=user_id)
                await forget(services, user_id, agent_id)
                done += 1
        except ScopeBusyError:
            if wait:
                raise
    return done
