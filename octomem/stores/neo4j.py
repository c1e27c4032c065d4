"""Graph store on a Neo4j server (or ArcadeDB's Bolt plugin, the tests' server), through
the official async driver: the session (`BoltSession`, over `neo4j_client`, which retries
and fences every write), the dialect (`BOLT`), the schema and the leases (lease nodes on
the server) under `cypher_graph.CypherGraphStore`'s data operations; and the id keys
of the hosts sharing the server (`Neo4jIdKeyStore`).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, LiteralString, TypeVar, cast

from octomem.logs import get_logger
from octomem.stores import gather
from octomem.stores.base import StoredIdKey
from octomem.stores.clock import ServerClock
from octomem.stores.cypher_graph import (
    CypherGraphStore,
    Dialect,
    Row,
    Statement,
    Work,
    drive,
    drive_async,
)
from octomem.stores.fence import Fence
from octomem.stores.graph_common import NAMESPACED, Namespace, check_lease
from octomem.stores.neo4j_batch import Answered
from octomem.stores.neo4j_client import Neo4jClient, Tx, records

log = get_logger(__name__)

T = TypeVar("T")


_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT octomem_entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE",
    "CREATE CONSTRAINT octomem_memory_id IF NOT EXISTS FOR (m:Memory) REQUIRE m.id IS UNIQUE",
    "CREATE INDEX octomem_entity_user_name IF NOT EXISTS FOR (e:Entity) ON (e.user_id, e.name_lc)",
    "CREATE INDEX octomem_relates_id IF NOT EXISTS FOR ()-[r:RELATES]-() ON (r.id)",
    "CREATE INDEX octomem_relates_user IF NOT EXISTS FOR ()-[r:RELATES]-() ON (r.user_id)",
    "CREATE INDEX octomem_memory_user IF NOT EXISTS FOR (m:Memory) ON (m.user_id)",
    "CREATE CONSTRAINT octomem_lease_key IF NOT EXISTS "
    "FOR (l:OctomemLease) REQUIRE l.key IS UNIQUE",
)

# A lease is open to `owner` when nobody holds it, `owner` does, or the holder's time is up.
_LEASE_OPEN: LiteralString = (
    " WITH l, timestamp() AS now WHERE l.owner IS NULL OR l.owner = $owner OR l.expires <= now "
)
# Step 1: find or create the lease node and, if it looks open, write to it (a new claim
# token), which takes its write lock on Neo4j and ties the transaction to this version of
# the node on ArcadeDB. No row: another owner holds it.
_LEASE_CLAIM: LiteralString = (
    "MERGE (l:OctomemLease {key: $key})" + _LEASE_OPEN + "SET l.claim = $claim RETURN l.key AS key"
)
# Step 2: read owner/expires again now that the node is ours, and take it if still open.
# The fencing token grows each time the lease changes hands (`octomem.stores.fence`).
_LEASE_TAKE: LiteralString = (
    "MATCH (l:OctomemLease {key: $key})" + _LEASE_OPEN + "WITH l, now, CASE WHEN "
    "l.owner = $owner THEN coalesce(l.token, 0) ELSE coalesce(l.token, 0) + 1 END AS token "
    "SET l.owner = $owner, l.expires = now + $ttl_ms, l.token = token "
    "WITH token, now, l.erasures AS erasures "
    "OPTIONAL MATCH (i:OctomemIntent) WHERE i.ns = $ns "  # the journal's (`neo4j_journal`)
    "RETURN token, now, erasures, count(i) AS intents"
)
_NOW: LiteralString = "RETURN timestamp() AS now"
# Release: the same two steps, for the owner only; the node stays (no writer meets a
# deleted one).
_LEASE_MINE: LiteralString = "MATCH (l:OctomemLease {key: $key}) WHERE l.owner = $owner "
_LEASE_CLAIM_MINE: LiteralString = _LEASE_MINE + "SET l.claim = $claim RETURN l.key AS key"
_LEASE_FREE: LiteralString = _LEASE_MINE + "SET l.owner = null, l.expires = null"
# erasures of a scope: a counter on its lease node
_ERASURES: LiteralString = "MATCH (l:OctomemLease {key: $key}) RETURN l.erasures AS erasures"
_COUNT_ERASURE: LiteralString = (
    "MERGE (l:OctomemLease {key: $key}) SET l.erasures = coalesce(l.erasures, 0) + 1, "
    "l.erased_at = CASE WHEN coalesce(l.erased_at, 0) > $token THEN l.erased_at "
    "ELSE $token END RETURN l.erasures AS erasures"
)
_ERASED_AT: LiteralString = "MATCH (l:OctomemLease {key: $key}) RETURN l.erased_at AS at"


# the graph writes a writer's gathering defers (`octomem.stores.gather`), as statements:
# those whose units of work read nothing of the answers
_STATEMENTS = frozenset({"upsert_entities", "link_memories"})
# and those whose unit of work yields its statements at once, as one list, and reads the
# answer of the last (`neo4j_batch.Answered`); the first of them touches nothing another
# deferred write touches (the relations' delete by id), so it may lead
_ANSWERED = frozenset({"upsert_relations"})

# Neo4j and ArcadeDB store aware datetimes, and delete relations by their index on the id.
BOLT = Dialect()


class BoltSession:
    """The `CypherSession` of a graph server: each unit of work is a transaction function
    of the shared `Neo4jClient` - a read (its statements auto-commit transactions: one
    round trip each), or a write retried on passing failures and fenced (while the caller
    holds scope leases, the same transaction first checks their tokens)."""

    def __init__(self, client: Neo4jClient) -> None:
        self.client = client

    async def run(
        self, op: str, work: Callable[[], Work[T]], *, write: bool, fence: Fence | None = None
    ) -> T:
        async def in_transaction(tx: Tx) -> T:
            return await drive_async(work(), lambda query, params: records(tx, query, **params))

        if write and op in _STATEMENTS:  # nothing read of their answers: as statements
            statements: list[Statement] = []

            def collect(query: LiteralString, params: Mapping[str, Any]) -> list[Row]:
                statements.append((query, dict(params)))
                return []

            drive(work(), collect)
            await self.client.deferred(op, statements, fence=fence)
            return cast(T, None)
        if write and op in _ANSWERED:
            await self.client.deferred(op, answered(work), fence=fence)
            return cast(T, None)
        # every read of the graph store is one statement: an auto-commit transaction
        return await self.client.call(op, in_transaction, write=write, fence=fence)


def answered(work: Callable[[], Work[Any]]) -> Answered:
    """A unit of work that yields its statements as one list and reads only the last's
    answer, as `Answered` statements: told the answer, it runs anew from its start (a
    retried transaction tells it again), and what it raises rolls the transaction back."""
    statements = next(work())
    if not isinstance(statements, list):
        raise TypeError("an answered unit of work yields its statements as one list")

    def told(rows: list[Row]) -> None:
        steps = work()
        next(steps)
        with contextlib.suppress(StopIteration):
            steps.send(rows)
            raise TypeError("an answered unit of work yields one list of statements")

    return Answered(statements, told, leads=True)


class Neo4jGraphStore(CypherGraphStore):
    """Graph store on a Neo4j 5+ server (``neo4j://``, ``neo4j+s://``, ``bolt://`` ...), or
    any server that speaks Bolt and the same Cypher (ArcadeDB's Bolt plugin is tested).

    Nodes are labelled Entity and Memory, edges RELATES and MENTIONS, leases OctomemLease.
    `namespace` is the deployment and project (`Settings.namespace`): every user key, id
    and lease key is kept in it (`graph_common.Namespace`), reset included.
    """

    def __init__(self, client: Neo4jClient, *, namespace: str = "") -> None:
        """A graph store on a connection the other server stores share."""
        self._db = client
        self._clock = ServerClock()
        # the erasure counts of the leases this store's process holds, read as each was
        # taken, and until when (monotonic) the lease is surely still held: only a holder
        # counts an erasure (`count_erasure`, fenced), so they stay - until the lease may
        # have expired and passed to another process, which may have counted one
        self._held: dict[str, tuple[int, float]] = {}
        self._released: set[tuple[str, str]] = set()  # (lease key, owner): `release_later`
        self._quiet: set[str] = set()  # leases taken with no intent journaled: `no_leftovers`
        super().__init__(BoltSession(client), BOLT, Namespace(namespace))

    @property
    def location(self) -> str:
        project = self._ns.project
        where = f"{self._db.uri} (database {self._db.database or '<default>'}"
        return where + (f", project {project})" if project else ")")

    @property
    def clock(self) -> ServerClock:
        """The server's clock, read when the store opens and with every lease taken."""
        return self._clock

    async def init(self) -> None:
        server = await self._db.run_schema(_SCHEMA)
        await self._read_clock()
        log.debug("graph_store_ready", backend="neo4j", uri=self._db.uri, server=server)

    async def compact(self) -> bool:
        return False  # the server owns its files (and its transaction logs)

    async def acquire_lease(self, key: str, owner: str, ttl_s: float) -> int:
        """Expiry is on the server's clock, so clients with skewed clocks agree on it.

        Atomic because the decision is made after the transaction has written the lease
        node: on Neo4j that write holds the node's lock until commit; on ArcadeDB two
        transactions that both wrote the node cannot both commit, and the retry sees the
        winner. The unique key keeps the first MERGE from creating two nodes."""
        check_lease(key, owner, ttl_s)
        stored = self.lease_key(key)
        params = {"key": stored, "owner": owner, "ttl_ms": max(1, round(ttl_s * 1000))}
        erasures, intents = 0, 1
        asked = time.monotonic()  # the server's expiry is at least ttl_s after this

        async def work(tx: Tx) -> int:
            nonlocal erasures, intents
            if not await records(tx, _LEASE_CLAIM, claim=uuid.uuid4().hex, **params):
                return 0
            sent = time.monotonic()
            taken = await records(tx, _LEASE_TAKE, ns=self._ns.project, **params)
            if not taken:
                return 0
            erasures, intents = int(taken[0]["erasures"] or 0), int(taken[0]["intents"])
            self._clock.observe(float(taken[0]["now"]), sent, time.monotonic())
            return int(taken[0]["token"])

        token = await self._db.call("acquire_lease", work)
        if token:
            self._held[stored] = (erasures, asked + ttl_s)
            if not intents:
                self._quiet.add(stored)
            else:
                self._quiet.discard(stored)
        return token

    def no_leftovers(self, key: str) -> bool:
        """No intent was in the journal of this deployment and project as this process took
        the lease `key`: none can touch its scope since (a write of it is begun, fenced,
        by its lease's holder only), so there is nothing to settle."""
        return self.lease_key(key) in self._quiet

    async def _read_clock(self) -> None:
        async def work(tx: Tx) -> None:
            sent = time.monotonic()
            [row] = await records(tx, _NOW)
            self._clock.observe(float(row["now"]), sent, time.monotonic())

        await self._db.call("clock", work, write=False)

    async def fence_holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        return await self._db.fence_holds(tokens)

    def lease_key(self, key: str) -> str:
        return self._ns.prefix + key  # any string is a lease key: no check for the separator

    async def release_later(self, key: str, owner: str) -> bool:
        """Release the lease with the writes its holder's gathering deferred
        (`octomem.stores.gather`), in their transaction, whose fence check writes the
        lease node first; `release_lease` then has nothing to do, unless it failed."""
        gathering = gather.active()
        if gathering is None or gathering.owner not in (None, self._db):
            return False
        check_lease(key, owner)
        done = (self.lease_key(key), owner)
        params = {"key": done[0], "owner": owner}
        await self._db.deferred("release_lease", [(_LEASE_FREE, params)], fence=gathering.fence)
        gathering.after.append(lambda: self._released.add(done))
        return True

    async def release_lease(self, key: str, owner: str) -> None:
        check_lease(key, owner)
        params = {"key": self.lease_key(key), "owner": owner}
        self._quiet.discard(params["key"])
        self._held.pop(params["key"], None)
        if (params["key"], owner) in self._released:  # with its holder's last writes
            self._released.discard((params["key"], owner))
            return

        async def work(tx: Tx) -> None:
            if await records(tx, _LEASE_CLAIM_MINE, claim=uuid.uuid4().hex, **params):
                await records(tx, _LEASE_FREE, **params)

        await self._db.call("release_lease", work)

    async def erasures(self, key: str) -> int:
        """Read with the lease while this process holds it (only a holder counts one)."""
        check_lease(key, "-")
        held = self._held.get(self.lease_key(key))
        if held is not None and time.monotonic() < held[1]:
            return held[0]
        rows = await self._db.query("erasures", _ERASURES, write=False, key=self.lease_key(key))
        return int(rows[0]["erasures"] or 0) if rows else 0

    async def count_erasure(self, key: str, token: int = 0, *, fence: Fence | None = None) -> int:
        check_lease(key, "-")
        stored = self.lease_key(key)
        self._held.pop(stored, None)
        rows = await self._db.query(
            "count_erasure", _COUNT_ERASURE, fence=fence, key=stored, token=int(token)
        )
        return int(rows[0]["erasures"])

    async def erased_at(self, key: str) -> int:
        check_lease(key, "-")
        rows = await self._db.query("erased_at", _ERASED_AT, write=False, key=self.lease_key(key))
        return int(rows[0]["at"] or 0) if rows else 0

    async def close(self) -> None:
        await self._db.close()


# The id key of a namespace (`octomem.id_key` decides what to do with it): one
# ``OctomemIdKey`` node per namespace, unique on it, created by whichever host comes first.
# Two hosts creating it at once cannot both commit (the constraint fails one), and the
# retry (`neo4j_client._write`) reads the winner's node.
_ID_KEY_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT octomem_id_key IF NOT EXISTS "
    "FOR (k:OctomemIdKey) REQUIRE k.namespace IS UNIQUE",
)
_READ: LiteralString = (
    "MATCH (k:OctomemIdKey {namespace: $ns}) RETURN k.key AS key, k.check AS check"
)
_CREATE: LiteralString = (
    "CREATE (k:OctomemIdKey {namespace: $ns, key: $key, check: $check, created_at: timestamp()})"
)
# whether the namespace already holds memories (written under some key)
_ANY_MEMORY: LiteralString = "MATCH (n:Memory) WHERE " + NAMESPACED + " RETURN n.id AS id LIMIT 1"


class Neo4jIdKeyStore:
    """The id keys on the graph server `client` reaches; see `octomem.stores.base.IdKeyStore`."""

    def __init__(self, client: Neo4jClient) -> None:
        self._client = client

    @property
    def where(self) -> str:
        return self._client.where

    async def load_or_store(
        self, namespace: str, key: str | None, check: str, *, only_if_empty: bool
    ) -> StoredIdKey | None:
        client = self._client
        await client.run_schema(_ID_KEY_SCHEMA, what="id key")

        async def work(tx: Tx) -> StoredIdKey | None:
            found = await records(tx, _READ, ns=namespace)
            if found:
                return StoredIdKey(found[0]["key"], str(found[0]["check"]))
            if only_if_empty and await records(tx, _ANY_MEMORY, **Namespace(namespace).params):
                return None
            await records(tx, _CREATE, ns=namespace, key=key, check=check)
            return StoredIdKey(key, check)

        return await client.call("id_key", work, what="id key")
