"""Store interfaces. Every backend implements one of these protocols in a file of its own.

All methods are async; backends with a synchronous client run it in a worker thread so
that an event loop is never blocked. Filters (`where`) are `octomem.filters`': a backend
pushes down what it can and evaluates the rest with `octomem.filters.matches`, so every
backend returns the same records.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol, runtime_checkable

from octomem.models import (
    Entity,
    HistoryEvent,
    IntentPart,
    ListStatus,
    MemoryBase,
    MemoryType,
    Relation,
    WriteIntent,
)
from octomem.stores.clock import Clock
from octomem.stores.fence import Fence
from octomem.stores.parsed import Memo

Filter = dict[str, Any]


# records of memory types a store's registry lacks, by type name, as stored JSON objects
ForeignRecords = dict[str, list[dict[str, Any]]]


class AllUsers(Enum):
    """`ALL_USERS`: a user filter that selects every user (None selects memories without one)."""

    ALL = "all"


ALL_USERS = AllUsers.ALL


class MemoryLink(NamedTuple):
    """A memory node of the graph and the entities it mentions."""

    memory_id: str
    memory_type: MemoryType
    user_id: str | None
    entity_ids: Sequence[str]


class GraphForgotten(NamedTuple):
    """How many of a scope's graph items `GraphStore.forget` deleted."""

    memories: int
    relations: int
    entities: int


class IndexEntry(NamedTuple):
    """What the keyword index holds for one memory (for consistency checks)."""

    memory_id: str
    memory_type: MemoryType
    user_id: str | None
    is_current: bool
    expires_at: float | None
    content: str
    context: str
    created_at: float  # epoch seconds: the order `KeywordStore.listing` pages in


@runtime_checkable
class VectorStore(Protocol):
    """Memory records and their embeddings, one collection per memory type.

    This is the canonical copy of every record: the other stores index it.
    """

    async def init(self) -> None:
        """Create collections; idempotent."""

    @property
    def concurrent_writes(self) -> bool:
        """Whether writes to different memory types may run at once: each a request of its
        own to a server, together they wait for one round trip instead of one a type."""

    def use_id_key(self, id_key: bytes | None) -> None:
        """Key the names of what is stored with the project's id key (`octomem.id_key`)
        from now on: a store that keeps the names of `metadata` and `internal` keys apart
        from its entries (Chroma's collection schema, which no delete reaches) keeps a
        keyed hash of each. Set before the first write; None: unkeyed hashes."""

    async def upsert(
        self,
        memory_type: MemoryType,
        records: Sequence[MemoryBase],
        embeddings: Sequence[Sequence[float]],
        *,
        fence: Fence | None = None,
        cache: bool = True,
        added: Collection[str] = (),
    ) -> None:
        """Insert or replace records by id (idempotent). Every write method takes the
        `fence` of the leases its writer holds (`octomem.stores.fence`): where the store is
        shared, a write whose lease passed to another writer is refused, and each entry is
        stamped with its user's token. `cache=False`: a store that keeps the records recall
        reads in memory does not keep these (a bulk write: an import). `added`: the ids
        its writer found stored nowhere under its lock (an ADD), so stored with nothing of
        an older entry to replace (or one an earlier attempt of this same write stored)."""

    async def rewrite(
        self, memory_type: MemoryType, records: Sequence[MemoryBase], *, fence: Fence | None = None
    ) -> None:
        """Replace stored records' data, keeping their embeddings (nothing is embedded
        again: for changes that leave the embedded text alone); ids not stored are ignored."""

    async def stamps(self, memory_type: MemoryType, ids: Sequence[str]) -> dict[str, int]:
        """The fencing token each of these entries was last written under
        (`octomem.stores.fence.Fence.stamp`), for those written holding their user's lease."""

    async def get(
        self, memory_type: MemoryType, ids: Sequence[str], *, memo: Memo | None = None
    ) -> list[MemoryBase]:
        """Records with these ids, in the order asked; missing ids are left out. `memo`
        (on `get`, `query` and `list`): the records read with it before, returned again
        where the stored JSON is the same (`octomem.stores.parsed`)."""

    async def query(
        self,
        memory_type: MemoryType,
        embedding: Sequence[float],
        *,
        where: Filter | None = None,
        live_at: datetime | None = None,
        limit: int = 10,
        memo: Memo | None = None,
    ) -> list[tuple[MemoryBase, float]]:
        """Nearest records to `embedding`, best first, with cosine similarity in [-1, 1].

        With `live_at`, only records that are current (valid_to unset) and not expired
        (expires_at unset or later than live_at) are returned.
        """

    async def list(
        self,
        memory_type: MemoryType,
        *,
        where: Filter | None = None,
        live_at: datetime | None = None,
        memo: Memo | None = None,
    ) -> list[MemoryBase]:
        """Every record matching `where` (and live at `live_at`, as in query), oldest first
        (by created_at, then id)."""

    async def count(self, memory_type: MemoryType, *, where: Filter | None = None) -> int: ...

    def known_empty(self, memory_type: MemoryType) -> bool:
        """True only when the store knows, without a query, that it holds no memories of
        this type (recall then skips the type); False when it is not sure."""

    async def delete(
        self, memory_type: MemoryType, ids: Sequence[str], *, fence: Fence | None = None
    ) -> None:
        """Delete by id; unknown ids are ignored."""

    async def foreign_records(self, where: Filter | None = None) -> ForeignRecords:
        """Records of memory types its registry lacks (written through the same stores by
        an Orchestrator with other custom agents), by type name, as stored JSON objects
        (each with "id" and "memory_type"); `where` names only fields every record has.
        Forget, reset, doctor, stats and export cover them so; nothing else reads them."""

    async def delete_foreign(
        self, memory_type: str, ids: Sequence[str], *, fence: Fence | None = None
    ) -> None:
        """Delete entries of a type its registry lacks, by id; unknown ids are ignored."""

    async def purge_deleted(self, ids: Sequence[str]) -> bool:
        """Remove what the backend still keeps of these deleted entries where it can reach
        it (an embedded write log, freed pages of its files); entries with these ids must
        be deleted already. True if it did; False if only the backend's own API deletes
        (a server)."""

    async def reset(self) -> None:
        """Delete every record of every type (of types its registry lacks too)."""

    async def close(self) -> None: ...


@runtime_checkable
class KeywordStore(Protocol):
    """Full-text index over memory content with BM25 ranking, scoped per user."""

    async def init(self) -> None: ...

    async def upsert(self, records: Sequence[MemoryBase], *, fence: Fence | None = None) -> None:
        """Index records by id (replace on the same id); indexes current/expiry too."""

    async def search(
        self,
        query: str,
        *,
        user_id: str | None,
        memory_types: Sequence[MemoryType] | None = None,
        limit: int = 20,
        include_superseded: bool = False,
        now: datetime | None = None,
    ) -> list[tuple[str, MemoryType, float]]:
        """(memory_id, memory_type, score) best first; higher score is better.

        Only memories of `user_id` (None matches memories stored without a user) that are
        current and not expired at `now`, unless `include_superseded`. Any user text is
        accepted as a query: it is never interpreted as FTS syntax.
        """

    async def listing(
        self,
        user_id: str | None,
        memory_type: MemoryType,
        *,
        status: ListStatus,
        now: datetime,
        offset: int = 0,
        limit: int = 50,
    ) -> list[str]:
        """The ids of `user_id`'s memories of `memory_type` in `status` at `now`, newest
        first (created_at, then id, both descending; with "all", the live ones first), from
        `offset` on, at most `limit`: a page costs what the index's sort costs, not a read
        of every record."""

    async def tallies(
        self, user_id: str | None, *, now: datetime
    ) -> dict[MemoryType, tuple[int, int]]:
        """Per memory type `user_id` holds: (how many are live at `now`, how many not)."""

    async def delete(self, ids: Sequence[str], *, fence: Fence | None = None) -> None: ...

    async def compact(self) -> bool:
        """Rewrite the index's files so that nothing deleted is left in them, where this
        process owns them: True if it did, False for a server."""

    async def entries(self, user_id: str | None | AllUsers = ALL_USERS) -> list[IndexEntry]:
        """Every indexed memory (of one user, or of everyone), by id."""

    async def reset(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class HistoryStore(Protocol):
    """Append-only log of every change to every memory (in server mode on the graph server,
    so every host reads the same log)."""

    async def init(self) -> None: ...

    async def record(
        self, events: Sequence[HistoryEvent], *, fence: Fence | None = None, stamped: bool = True
    ) -> None:
        """Append events; an event whose id is already logged is ignored (idempotent).
        Each is kept with `fence`'s token of its user's lease (`HistoryEvent.fenced`)
        unless not `stamped`: events logged as they were made elsewhere (an import's)."""

    async def for_memory(self, memory_id: str) -> list[HistoryEvent]:
        """Every event of one memory, oldest first."""

    async def for_user(self, user_id: str | None) -> list[HistoryEvent]:
        """Every event of one user's memories, oldest first."""

    async def user_ids(self) -> list[str | None]:
        """Every user_id that has at least one event (None for memories without a user)."""

    async def latest(self, user_id: str | None | AllUsers = ALL_USERS) -> dict[str, HistoryEvent]:
        """The last logged event of every memory (of one user, or of everyone)."""

    async def find(self, ids: Sequence[str]) -> dict[str, HistoryEvent]:
        """The logged events with these ids, by id (ids not logged are left out): whether
        events a caller brings as they are (an import's) are logged already, and as what."""

    async def discard(self, memory_ids: Sequence[str], *, fence: Fence | None = None) -> None:
        """Remove every event of these memories (repair of writes that never happened, and
        `forget`)."""

    async def compact(self) -> bool:
        """Rewrite the log's files so that nothing deleted is left in them, where this
        process owns them (SQLite): True if it did, False for a server."""

    async def reset(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class GraphStore(Protocol):
    """Entities, relations with validity, and memory nodes linked to the entities they mention.

    Everything is scoped by user_id; queries never cross users, except the audit reads
    (`memory_ids`, `all_relations`), which see the whole graph. A graph backend also keeps
    the `Leases` of the stores it serves, apart from the graph's data: `reset()` leaves
    them alone.
    """

    @property
    def location(self) -> str:
        """Where this graph lives (the database file; the server URI and database): two stores
        with the same location share their data."""

    async def init(self) -> None:
        """Create schema, constraints and indexes; idempotent."""

    async def upsert_entities(
        self, entities: Sequence[Entity], *, fence: Fence | None = None
    ) -> None: ...

    async def upsert_relations(
        self, relations: Sequence[Relation], *, fence: Fence | None = None
    ) -> None:
        """Insert or replace relations by id (idempotent); entities must exist."""

    async def invalidate_relation(
        self, relation_id: str, invalid_at: datetime, *, fence: Fence | None = None
    ) -> None:
        """Set invalid_at on a relation; it stays in the graph (never deleted silently)."""

    async def relations(self, user_id: str | None) -> list[Relation]:
        """Every relation of one user, invalidated ones too (ordered by created_at, id)."""

    async def find_entities(self, user_id: str | None, names: Sequence[str]) -> list[Entity]:
        """Entities whose name equals one of `names`, case-insensitively."""

    async def link_memories(
        self, links: Sequence[MemoryLink], *, fence: Fence | None = None
    ) -> None:
        """Create/refresh each memory's node and its MENTIONS edges to the entities of the
        same user (idempotent; one transaction for all of them)."""

    async def memories_for_names(
        self,
        user_id: str | None,
        names: Sequence[str],
        *,
        hops: int = 1,
        limit: int = 50,
    ) -> tuple[list[str], list[tuple[str, MemoryType, int]]]:
        """The user's entities named one of `names` (as `find_entities` finds them) and the
        memories near them, in one read: (the ids of the entities found - only where some
        memory was found -, (memory_id, memory_type, distance) of memories mentioning those
        entities (distance 0) or entities up to `hops` current relations away (distance =
        hops), nearest first)."""

    async def delete_memory(self, memory_id: str, *, fence: Fence | None = None) -> None:
        """Remove a memory node and its MENTIONS edges."""

    async def forget(
        self, user_id: str, memory_ids: Sequence[str] | None = None, *, fence: Fence | None = None
    ) -> GraphForgotten:
        """Delete a user's memory nodes, relations and entities (`memory_ids` None), or only
        these memory nodes, the relations they wrote and the user's entities nothing links
        to any more. Idempotent."""

    async def compact(self) -> bool:
        """Rewrite the graph's files so that nothing deleted is left in them, where this
        process owns them (an embedded database): True if it did, False for a server."""

    async def memory_ids(self) -> dict[str, str | None]:
        """The id of every memory node, of every user, with its user_id."""

    async def all_relations(self) -> list[Relation]:
        """Every relation of every user, invalidated ones too (ordered by created_at, id)."""

    async def entity_owners(self, entity_ids: Sequence[str]) -> dict[str, str | None]:
        """The user_id of each of these entities that exists (an audit read, across users)."""

    async def reset(self) -> None:
        """Delete every entity, relation and memory node (leases and erasures stay)."""

    async def close(self) -> None: ...


@runtime_checkable
class Leases(Protocol):
    """Scope leases, their fencing tokens and erasure counts: how writers on every host
    that shares the data take turns (`octomem.orchestrator.locks`). The graph backend
    keeps them (in process memory for the embedded graph, lease nodes on a server), apart
    from its data; nothing but the locks uses this port."""

    @property
    def location(self) -> str:
        """Where the leases live (the graph's location): two ports with the same location
        share their leases."""

    @property
    def clock(self) -> Clock:
        """The clock every host sharing these leases stamps "now" with (validity, history,
        journal): the one lease expiry is measured on (`octomem.stores.clock`)."""

    async def acquire_lease(self, key: str, owner: str, ttl_s: float) -> int:
        """Take the lease `key` for `owner` when nobody holds it, its holder's lease has expired,
        or `owner` already holds it (then it is extended to now + ttl_s). The lease's fencing
        token (> 0) if `owner` holds it afterwards, 0 if another owner does. The token grows
        each time the lease changes hands and stays while its owner extends it
        (`octomem.stores.fence`). Atomic across every process and thread that uses this graph:
        of any number of concurrent callers with different owners, exactly one gets a token.

        `key` and `owner` are non-empty strings and `ttl_s` a positive number of seconds, else
        `InvalidInputError`."""

    async def release_lease(self, key: str, owner: str) -> None:
        """Give the lease up if `owner` holds it; otherwise do nothing."""

    async def release_later(self, key: str, owner: str) -> bool:
        """Release the lease with the writes its holder's gathering deferred, in their
        transaction (`octomem.stores.gather`); False if this store cannot (then
        `release_lease` releases it). A `release_lease` after it does nothing more."""

    def no_leftovers(self, key: str) -> bool:
        """True if, as this process took the lease `key` (which it holds), no write was
        left unfinished in the journal it shares (`Journal`): nothing to settle. False
        when unknown."""

    def lease_key(self, key: str) -> str:
        """The lease `key` as this store keeps it (within its namespace): fences name it."""

    async def fence_holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        """Whether each (`lease_key`, token) is still that lease's newest token: False once
        another owner has taken one of the leases since."""

    async def erasures(self, key: str) -> int:
        """How many times the scope `key` was erased (`count_erasure`); 0 if never. Like
        leases, kept apart from the graph's data (`reset()` leaves them)."""

    async def count_erasure(self, key: str, token: int = 0, *, fence: Fence | None = None) -> int:
        """Count one more erasure of the scope `key` (a forget); returns the new count. A
        write that began before it sees the count change and stores nothing. `token`: the
        forget's fencing token of its user's lease (`erased_at` keeps the largest)."""

    async def erased_at(self, key: str) -> int:
        """The largest `token` an erasure of the scope `key` was counted with; 0 if none.
        A vector entry of the scope stamped with an older token was written under a lease
        the forget had taken over: a late write that outlived it (`octomem.stores.fence`)."""


@runtime_checkable
class Journal(Protocol):
    """Write-ahead intents of writes that span stores (see `octomem.orchestrator.write`).

    Embedded, in one data directory: what this host's processes were writing. In server
    mode, on the graph server: what every host of the deployment was writing, each intent
    with the host and process that began it, so any host can complete another's.
    """

    async def init(self) -> None: ...

    async def begin(self, intent: WriteIntent, *, fence: Fence | None = None) -> None:
        """Durably record an intent before any store is written."""

    async def add_part(
        self, intent_id: str, index: int, part: IntentPart, *, fence: Fence | None = None
    ) -> None:
        """Durably record part `index` of a begun intent's `parts` (in order, each on its
        own: an intent whose last part is missing was cut short before it wrote anything)."""

    async def part(self, intent_id: str, index: int) -> IntentPart | None:
        """Part `index` of an intent; None if it was never recorded."""

    async def finish(self, intent_id: str, *, fence: Fence | None = None) -> None:
        """Drop an intent and its parts once every store holds its writes (unknown ids are
        ignored)."""

    async def pending(self, touching: set[str | None] | None = None) -> list[WriteIntent]:
        """Intents begun and not finished, oldest first; with `touching`, only those that
        write the memories of one of these users (their bodies are read only then)."""

    async def is_pending(self, intent_id: str) -> bool: ...

    async def compact(self) -> bool:
        """Rewrite the journal's files so that nothing deleted is left in them, where this
        process owns them (SQLite): True if it did, False for a server."""

    async def reset(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class StoredIdKey:
    """The id key of a namespace as a server holds it: the key (None where only its
    fingerprint was stored) and the fingerprint (`octomem.id_key.fingerprint`)."""

    key: str | None
    check: str


@runtime_checkable
class IdKeyStore(Protocol):
    """Where the hosts sharing a graph server keep each namespace's id key (what to do with
    it is `octomem.id_key`'s)."""

    @property
    def where(self) -> str:
        """The server, as error messages name it."""

    async def load_or_store(
        self, namespace: str, key: str | None, check: str, *, only_if_empty: bool
    ) -> StoredIdKey | None:
        """The namespace's stored key; if there is none yet, store (`key`, `check`) first,
        atomically (two hosts storing at once end with one), and return them. With
        `only_if_empty`, nothing is stored in a namespace that already holds memories
        (None)."""
