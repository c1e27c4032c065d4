"""Completing the journaled writes their writers left: a crash (`recover`, when the stores
open, and in every sweep of `octomem serve`), a failed store or a cancelled call
(`complete_leftovers`, when the next writer of those users takes their lock: `settle`),
and a vector write that landed after its lease was lost (`restore_vectors`) - its writer
saw it, or it landed after another completed the dead writer's intent (`heal_late`, see
`octomem.orchestrator.late_writes`). Each is completed through the one write primitive
(`apply`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from octomem.logs import get_logger
from octomem.models import Drop, HistoryEvent, MemoryBase, MemoryType, Restore, WriteIntent
from octomem.orchestrator.events import leaves_entry, logged_as
from octomem.orchestrator.locks import NeedsLocks, ScopeBusyError
from octomem.orchestrator.write.apply import complete, write
from octomem.stores.fence import Fence

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)


def foreign_types(services: Services, intent: WriteIntent) -> set[str]:
    """The types of the intent's records this Orchestrator has no agent of, logged: only
    one with them completes it (it cannot embed, index or check records it cannot read as
    their classes), on its next open or recovery sweep."""
    if kinds := services.types.lacks(intent.records()):
        log.warning(
            "leaving a write of memory types this Orchestrator has no agent of to one that has",
            intent=intent.id,
            memory_types=sorted(kinds),
        )
    return kinds


async def recover(services: Services, *, wait: bool = True) -> int:
    """Apply every intent a crash left in the journal, each under the locks of its scopes:
    a live writer finishes its own first (in server mode, a writer that died on another
    host loses its intents once its lease has expired). Without `wait`, intents whose
    scopes are locked right now are left to their writer, or to the next sweep. Returns
    how many were applied."""
    applied = 0
    for intent in await services.journal.pending():
        if foreign_types(services, intent):
            continue
        try:
            async with services.locks.hold_many(
                intent.user_ids(), settle=False, timeout_s=None if wait else 0
            ) as fence:
                if not await services.journal.is_pending(intent.id):
                    continue  # its writer finished it meanwhile
                log.warning("completing a write a crash interrupted", intent=intent.id)
                await _complete(services, fence, intent)
                applied += 1
        except ScopeBusyError:
            if wait:
                raise
    await heal_late(services)
    return applied


async def _complete(services: Services, fence: Fence, intent: WriteIntent) -> None:
    """Complete an intent its writer left, and watch what it writes to the vector store:
    the writer's own request for it may still land late (`heal_late`)."""
    services.late.note(intent)
    await complete(services, fence, intent, done=services.late.note)


async def settle(services: Services, user_ids: set[str | None], fence: Fence) -> None:
    """What a writer does once it holds these users' locks (just taken), before it reads:
    complete their leftovers (`complete_leftovers`; none if the leases' take found the
    journal empty), then undo the late writes found among their watched entries
    (`heal_late_held`)."""
    if not services.locks.no_leftovers(user_ids):
        await complete_leftovers(services, user_ids, fence)
    await heal_late_held(services, user_ids, fence)


async def complete_leftovers(services: Services, user_ids: set[str | None], fence: Fence) -> None:
    """Apply, oldest first, every intent that writes one of these users (whose locks the
    caller holds, with `fence`) that its writer left unfinished - a store failed, or the
    call was cancelled - before the caller reads: applied later, an old intent would
    overwrite what newer writes decided, and an unfinished forget would take what this
    caller is about to store with it. No live writer has such an intent: a writer holds
    the locks of every user it writes. One that also writes other users is applied under
    their locks too: taken at once if they are free, else `NeedsLocks` - the caller's hold
    lets go of its own and takes them all in the global order, so two writers settling the
    same leftover never wait on each other."""
    for intent in await services.journal.pending(touching=user_ids):
        if foreign_types(services, intent):
            continue
        others = set(intent.user_ids()) - user_ids
        async with contextlib.AsyncExitStack() as stack:
            held = fence
            if others:
                try:  # taken now or not at all: waiting while holding ours could deadlock
                    held = await stack.enter_async_context(
                        services.locks.hold_many(others, settle=False, within=fence, timeout_s=0)
                    )
                except ScopeBusyError:
                    raise NeedsLocks(others) from None
                if not await services.journal.is_pending(intent.id):
                    continue  # completed meanwhile, by a holder of the others' locks
            log.warning("completing a write that was cut short", intent=intent.id)
            await _complete(services, held, intent)


async def restore_vectors(
    services: Services, written: Mapping[str, Sequence[str]], fence: Fence, *, quiet: bool = False
) -> int:
    """Put vector entries (ids by memory type) that a writer whose lease passed to another
    wrote late (`fence.LandedLate`) back to what the history log says - it is fenced on
    the graph server, so a memory's last event there is its newest truth - and remove
    those with no event left or whose last event deleted them. The caller holds their
    users' leases (`fence`). Returns how many entries changed (`quiet`: no warning when
    none did)."""
    truths, gone = await plan_restore(services, written)
    await write(services, fence, restores=truths, drops=gone, actor="octomem")
    changed = len(gone) + len(truths)
    if changed or not quiet:
        log.warning("restored entries a late write had changed", changed=changed)
    return changed


async def plan_restore(
    services: Services, written: Mapping[str, Sequence[str]]
) -> tuple[list[Restore], list[Drop]]:
    """What `restore_vectors` would write: the entries to put back, those to remove."""
    truths: list[Restore] = []
    gone: list[Drop] = []
    for kind, ids in written.items():
        memory_type = MemoryType(kind)
        stored = {r.id: r for r in await services.vector.get(memory_type, ids)}
        # the last event logged (not the latest by its time: clocks of hosts differ)
        latest: dict[str, HistoryEvent] = {}
        indexed: set[str] = set()
        for user_id in dict.fromkeys(r.user_id for r in stored.values()):
            latest.update(await services.history.latest(user_id))
            indexed.update(e.memory_id for e in await services.keyword.entries(user_id))
        for memory_id in dict.fromkeys(ids):
            last = latest.get(memory_id) or await _last_event(services, memory_id)
            # a deletion's entry is gone, unless the keyword index holds the memory (written
            # again since under its id); a retraction's closed record is put back like any
            # other truth (`events.leaves_entry`, as `doctor._behind`)
            leaves = None if last is None else leaves_entry(last, held=memory_id in indexed)
            now = stored.get(memory_id)
            if last is None or leaves is False:
                if now is not None:
                    gone.append(vector_drop(now))
            elif leaves and last.record is not None and (now is None or not logged_as(last, now)):
                truth = services.types.record_from_dict(last.record)
                truths.append(Restore(record=truth, stores=["vector"]))
    return truths, gone


def vector_drop(record: MemoryBase) -> Drop:
    return Drop(
        memory_id=record.id,
        user_id=record.user_id,
        memory_type=record.memory_type.value,
        stores=["vector"],
    )


async def _last_event(services: Services, memory_id: str) -> HistoryEvent | None:
    events = await services.history.for_memory(memory_id)
    return events[-1] if events else None


async def heal_late(services: Services, users: Iterable[str | None] | None = None) -> None:
    """Undo the late writes found among the watched entries (`late_writes`) of `users`
    (None: all): each user whose entries differ from the history log is repaired under
    its lock (which waits for a live writer of theirs, whose own write may be what
    differs)."""
    if not services.late:
        return
    for user_id, written in services.late.of(users).items():
        truths, gone = await plan_restore(services, written)
        if truths or gone:
            try:
                async with services.locks.hold(user_id):
                    pass  # its `settle` completes the user's leftovers, undoes late writes
            except ScopeBusyError:  # its holder's own `settle` does, or the next check
                log.warning("a user with late writes stayed locked; left to its writer")


async def heal_late_held(services: Services, users: Iterable[str | None], fence: Fence) -> None:
    """As `heal_late`, for users whose locks the caller holds (`fence`)."""
    if not services.late:
        return
    for written in services.late.of(users).values():
        await restore_vectors(services, written, fence, quiet=True)
