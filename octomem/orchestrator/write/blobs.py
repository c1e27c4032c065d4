"""The blob store's writes, as `octomem.orchestrator.originals` decides them.

A blob is written before the records that name it (under the user's write lock, before
the journaled write), so a crash can leave an orphan but never a record without its blob;
a journaled write that deletes records, or rewrites records that name parts, removes the
user's blobs no remaining record names (`prune`). With no blob store (a Chroma or Neo4j
server) every function here is a no-op.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from octomem.models import MemoryBase, MemoryType, Turn
from octomem.orchestrator.originals import (
    PENDING,
    WITHHELD_SECRET,
    items,
    kept,
    referenced,
    settled,
    withdrawn,
)
from octomem.orchestrator.retrieval import by_ids, every_record
from octomem.scopes import scope_filter

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services


def names_parts(record: MemoryBase) -> bool:
    """Whether a record says what became of a part's bytes (so a change of it may leave a
    blob no record names)."""
    return bool(record.internal.get("media"))


async def keep(
    services: Services, user_id: str | None, records: Iterable[MemoryBase], turns: list[Turn]
) -> int:
    """Write the blobs `records` say were kept, from the bytes of `turns`; how many. The
    caller holds the user's lock and writes the records next."""
    if not services.settings.media.keep_originals:
        return 0
    return await _write(services, user_id, {sha for r in records for sha in kept(r)}, turns)


async def _write(
    services: Services, user_id: str | None, shas: Collection[str], turns: Sequence[Turn]
) -> int:
    """Write the blobs `shas` from the bytes of `turns` (those it holds); how many were
    written (an intact one already there is not)."""
    store = services.blobs
    data = {sha: b for turn in turns for sha, b in turn.originals.items()}
    wanted = sorted(set(shas) & data.keys())
    if store is None or not wanted:
        return 0
    return await asyncio.to_thread(
        lambda: sum(store.put(user_id, sha, data[sha]) for sha in wanted)
    )


async def settle(
    services: Services,
    user_id: str | None,
    stored: Sequence[tuple[MemoryType, str]],
    turns: Sequence[Turn],
    withheld: Collection[str],
) -> tuple[set[str], list[MemoryBase]]:
    """Settle the call's records written before its model replied (`stored`, by type and
    id; `originals.settled`), the blobs of the images kept written first: the images
    withheld (`withheld`, and those a stored record already says are: a retry whose reply
    now differs does not keep them), and the records to rewrite in the caller's journaled
    write (those settled, and every record of the user that says an image now withheld was
    kept). The caller holds the user's lock; a crash before that write leaves an orphan
    blob and the records pending (a retry of the call settles them)."""
    pending = {
        p["sha256"]
        for turn in turns
        for p in turn.internal.get("media") or []
        if p.get("original") == PENDING
    }
    if not pending:
        return set(withheld), []
    found = (await by_ids(services, stored)).values()
    already: set[str] = {
        str(p.get("sha256"))
        for r in found
        for p in items(r.internal.get("media"))
        if p.get("original") == WITHHELD_SECRET
    }
    withheld = set(withheld) | (already & pending)
    await _write(services, user_id, pending - withheld, turns)
    rewrites = {r.id: new for r in found if (new := settled(r, withheld)) is not r}
    return withheld, await _withdrawn(services, user_id, withheld, rewrites)


async def _withdrawn(
    services: Services,
    user_id: str | None,
    withheld: Collection[str],
    rewrites: dict[str, MemoryBase],
) -> list[MemoryBase]:
    """`rewrites` (records by id), with every record of the user that says bytes now
    `withheld` were kept saying withheld instead."""
    store = services.blobs
    if store is None or not withheld or not await asyncio.to_thread(store.has_user, user_id):
        return list(rewrites.values())
    on_disk = await asyncio.to_thread(store.names, user_id) & set(withheld)
    if not on_disk:
        return list(rewrites.values())
    for record in await every_record(services, scope_filter(user_id)):
        base = rewrites.get(record.id, record)
        if (new := withdrawn(base, on_disk)) is not base:
            rewrites[record.id] = new
    return list(rewrites.values())


async def prune(services: Services, user_id: str | None) -> int:
    """Remove the user's blobs (and temporary files) no stored record names; how many.
    The caller holds the user's lock."""
    store = services.blobs
    if store is None or not await asyncio.to_thread(store.has_user, user_id):
        return 0
    names = await asyncio.to_thread(store.names, user_id)
    unused = names - await referenced(services, user_id)
    if not unused:
        return 0
    return await asyncio.to_thread(store.remove, store.user_key(user_id), unused)


async def forget(services: Services, user_id: str, agent_id: str | None) -> int:
    """The blobs of a forgotten scope: the user's whole directory, or (one agent scope)
    those no remaining record of the user names."""
    store = services.blobs
    if store is None:
        return 0
    if agent_id is None:
        return await asyncio.to_thread(store.remove_user, user_id)
    return await prune(services, user_id)


async def repair(services: Services, users: Iterable[str | None]) -> None:
    """Remove orphans and damaged blobs: those of `users` (who have records) under each
    one's lock, re-reading their records there; the directories of users without any
    record once nothing in them changed for `concurrency.lease_ttl_s` (a write in flight
    holds its user's lock - and renames its blob - within that)."""
    store = services.blobs
    if store is None:
        return
    known = {store.user_key(u): u for u in users}
    for key, user_id in known.items():
        async with services.locks.hold(user_id):
            wanted = await referenced(services, user_id)

            def clean(key: str = key, wanted: set[str] = wanted) -> None:
                names = store.listing().get(key, set())
                damaged = {n for n in names & wanted if not store.intact(store.file(key, n))}
                store.remove(key, (names - wanted) | damaged)

            await asyncio.to_thread(clean)
    grace = services.settings.concurrency.lease_ttl_s

    def changed(key: str, name: str) -> float:
        try:
            return store.file(key, name).stat().st_mtime
        except FileNotFoundError:  # removed meanwhile
            return 0.0

    def unowned() -> None:
        for key in store.listing():
            if key in known:
                continue
            with store.guard():  # no blob of it is found (and counted on) meanwhile
                names = store.listing().get(key, set())
                if time.time() - max((changed(key, n) for n in names), default=0.0) > grace:
                    store.remove(key, names)

    await asyncio.to_thread(unowned)


async def restore(
    services: Services,
    user_id: str | None,
    blobs: Iterable[tuple[str, bytes]],
    wanted: Collection[str],
) -> int:
    """Write the user's blobs of an import (sha256, bytes - read one at a time) that its
    records name (`wanted`), before those records; how many."""
    store = services.blobs
    if store is None or not wanted:
        return 0

    def write() -> int:
        return sum(store.put(user_id, sha, data) for sha, data in blobs if sha in wanted)

    return await asyncio.to_thread(write)
