"""`Records`: record-level access for integrations that keep records of their own (the
LangGraph store): reads by id or filter, and journaled writes of records they built, with
their history events, under the users' write locks - no extraction, no reconcile.

Await these inside `Orchestrator.running_call()` once the stores are open (`aopen`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from octomem.models import HistoryEvent, MemoryBase, MemoryType, oldest_first
from octomem.orchestrator.commit import commit
from octomem.orchestrator.locks import Seen
from octomem.orchestrator.retrieval import every_record
from octomem.stores.base import Filter
from octomem.stores.fence import Fence
from octomem.stores.parsed import Memo

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services


class Records:
    """Read and write an Orchestrator's records directly (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def memory_id(self, memory_type: MemoryType, *key: object) -> str:
        """The deterministic id of the record of this type and key, keyed with the data
        directory's id key, with the type's id prefix in this Orchestrator
        (`TypeRegistry.make_id`): the same key, the same id."""
        services = self._services
        return services.types.make_id(memory_type, *key, id_key=services.id_key)

    def now(self) -> datetime:
        """Now, on the one clock every host stamps what it stores with (the graph
        server's in server mode: `octomem.stores.clock`): for the times of records built."""
        return self._services.clock.now()

    def build(self, memory_type: MemoryType, **fields: Any) -> MemoryBase:
        """A record of this type from its fields, of the class its agent declares (the
        class this Orchestrator reads it back as); pydantic's ValidationError if they do
        not fit it."""
        record_class = self._services.types.record_class(memory_type)
        return record_class(memory_type=memory_type, **fields)

    async def get(
        self, memory_type: MemoryType, ids: Sequence[str], *, memo: Memo | None = None
    ) -> list[MemoryBase]:
        """The stored records with these ids (current or superseded); unknown ids are left
        out. `memo`: records read with it before are returned again where their stored JSON
        is the same, shared: never change one nor hand out its mutable parts
        (`octomem.stores.parsed`)."""
        return await self._services.vector.get(memory_type, ids, memo=self._kept(memo))

    async def turns(self, record: MemoryBase) -> list[MemoryBase]:
        """The raw turns (the turn keeper's records: episodic messages) `record` was
        extracted from, in the order they were said, read by their ids (none for a raw
        turn itself, or for turns not stored)."""
        services = self._services
        if record.internal.get("raw"):
            return []
        log = services.turn_log
        ids = [log.turn_record_id(record, t, services.id_key) for t in record.source.turn_ids]
        found = await services.vector.get(log.memory_type, ids)
        mine = [r for r in found if r.id != record.id and r.user_id == record.user_id]
        return sorted(mine, key=oldest_first)

    async def list(
        self, memory_type: MemoryType, *, where: Filter, memo: Memo | None = None
    ) -> list[MemoryBase]:
        """Every stored record of this type that `where` matches (current or superseded)."""
        return await self._services.vector.list(memory_type, where=where, memo=self._kept(memo))

    async def scopes(self, where: Filter) -> Counter[tuple[str | None, str | None]]:
        """The (user_id, agent_id) of every stored record, of any type, that `where`
        matches, and how many records each has."""
        records = await every_record(self._services, where)
        return Counter((record.user_id, record.agent_id) for record in records)

    async def similarities(
        self,
        memory_type: MemoryType,
        vector: Sequence[float],
        ids: Sequence[str],
        *,
        memo: Memo | None = None,
    ) -> dict[str, float]:
        """The cosine similarity of `vector` to the stored vector of each record of `ids`,
        by id (in [-1, 1]; ids not stored are left out)."""
        where = {"id": {"in": list(ids)}}
        vectors = self._services.vector
        memo = self._kept(memo)
        found = await vectors.query(memory_type, vector, where=where, limit=len(ids), memo=memo)
        return {record.id: score for record, score in found}

    def _kept(self, memo: Memo | None) -> Memo | None:
        if memo is not None:
            self._services.memos.add(memo)  # a forget drops the scope's records from it
        return memo

    async def erasures(self, scopes: Iterable[tuple[str | None, str | None]]) -> Seen:
        """The erasure counts of these (user_id, agent_id) scopes, read when a write begins:
        `hold(..., since=)` refuses it if one of them was forgotten meanwhile."""
        locks = self._services.locks
        return {scope: await locks.erasures(*scope) for scope in dict.fromkeys(scopes)}

    def hold(
        self, user_ids: Iterable[str | None], *, since: Seen | None = None
    ) -> AbstractAsyncContextManager[Fence]:
        """`async with records.hold(users) as fence:` the write locks of these users'
        memories (their unfinished writes completed first); `fence` is what the writes made
        under them carry (`write`). `since`: what `erasures` read when the write began -
        ConflictError, nothing written, if one of those scopes was forgotten since."""
        return self._services.locks.hold_many(user_ids, since=since)

    async def write(
        self,
        fence: Fence,
        changes: Sequence[tuple[MemoryBase, HistoryEvent]],
        *,
        deletes: Sequence[MemoryBase] = (),
        actor: str,
    ) -> None:
        """Write each record of `changes` with its history event to every store and delete
        `deletes` (a DELETE event each, by `actor`; the history keeps what they said), with
        the projections they change, as one journaled write. Hold the users' locks
        (`hold`), whose `fence` this passes on. A record both written and deleted is
        written."""
        written = {record.id for record, _ in changes}
        deleted = [record for record in deletes if record.id not in written]
        if changes or deleted:
            await commit(
                self._services,
                fence,
                changes,
                now=self._services.clock.now(),
                deleted=deleted,
                actor=actor,
            )
