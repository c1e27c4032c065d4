"""Graph store on a Neo4j server, through the official async driver.

The same Cypher runs on Neo4j 5+ and on ArcadeDB's Bolt plugin (the tests' server), so
nothing here branches on the server. Where they differ is how concurrent writers are kept
apart: Neo4j locks (a writer waits for the other's commit; a MERGE of a unique key waits
and then matches), ArcadeDB checks at commit (optimistic MVCC: a concurrent change to the
same record, or a second node with the same unique key, fails one of the transactions).
Every write is therefore retried here on such failures (`_write`), and leases decide only
after writing the lease node (`acquire_lease`).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, LiteralString, TypeVar

from neo4j import AsyncGraphDatabase, AsyncManagedTransaction, AsyncSession, AsyncTransaction
from neo4j import exceptions as neo4j_errors
from opentelemetry import trace

from octomem.errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    OctomemError,
    StoreError,
    StoreUnavailableError,
)
from octomem.logs import get_logger
from octomem.models import Entity, MemoryType, Relation, as_utc, normalize_text
from octomem.stores.base import GraphForgotten, MemoryLink
from octomem.stores.graph_common import (
    DELETE_MEMORY,
    FIND_ENTITIES,
    INVALIDATE_RELATION,
    MENTIONED_BY,
    NAMESPACED,
    NEIGHBOURS,
    RELATION_RETURN,
    RELATIONS,
    Namespace,
    check_lease,
    entity_from_row,
    forget_plan,
    nearest_mentions,
    owners,
    relation_from_row,
)

log = get_logger(__name__)
tracer = trace.get_tracer(__name__)

T = TypeVar("T")
_Tx = AsyncManagedTransaction | AsyncTransaction

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

_UPSERT_ENTITIES: LiteralString = (
    "UNWIND $rows AS row MERGE (e:Entity {id: row.id}) "
    "SET e.user_id = row.user_id, e.name = row.name, e.name_lc = row.name_lc, "
    "e.entity_type = row.entity_type"
)
_DELETE_RELATIONS: LiteralString = "UNWIND $ids AS rid MATCH ()-[r:RELATES {id: rid}]->() DELETE r"
_CREATE_RELATIONS: LiteralString = (
    "UNWIND $rows AS row MATCH (s:Entity {id: row.subject_id}), (o:Entity {id: row.object_id}) "
    "CREATE (s)-[r:RELATES]->(o) SET r = row.props RETURN row.props.id AS id"
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
_LEASE_TAKE: LiteralString = (
    "MATCH (l:OctomemLease {key: $key})" + _LEASE_OPEN + "SET l.owner = $owner, "
    "l.expires = now + $ttl_ms RETURN l.owner AS owner"
)
# Release: the same two steps, for the owner only; the node stays (no writer meets a
# deleted one).
_LEASE_MINE: LiteralString = "MATCH (l:OctomemLease {key: $key}) WHERE l.owner = $owner "
_LEASE_CLAIM_MINE: LiteralString = _LEASE_MINE + "SET l.claim = $claim RETURN l.key AS key"
_LEASE_FREE: LiteralString = _LEASE_MINE + "SET l.owner = null, l.expires = null"
# erasures of a scope: a counter on its lease node
_ERASURES: LiteralString = "MATCH (l:OctomemLease {key: $key}) RETURN l.erasures AS erasures"
_COUNT_ERASURE: LiteralString = (
    "MERGE (l:OctomemLease {key: $key}) SET l.erasures = coalesce(l.erasures, 0) + 1 "
    "RETURN l.erasures AS erasures"
)
# failures that may pass: an unreachable server, a lost session or leader, a deadlock
_PASSING = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.TransientError,
)
_RETRY_S = 30.0  # as long as the driver retries a transaction function
_DUPLICATE_RETRIES = 5  # a unique key taken by a concurrent MERGE is there on the retry

# the whole-graph reads and `reset`, within the store's namespace (`NAMESPACED`)
_RESET_BATCH: LiteralString = (
    "MATCH (n) WHERE (n:Entity OR n:Memory) AND " + NAMESPACED + " WITH n LIMIT 10000 "
    "DETACH DELETE n RETURN count(*) AS deleted"
)
_MEMORY_OWNERS: LiteralString = (
    "MATCH (n:Memory) WHERE " + NAMESPACED + " RETURN n.id AS id, n.user_id AS user_id"
)
_ENTITY_OWNERS: LiteralString = (
    "MATCH (n:Entity) WHERE n.id IN $ids AND " + NAMESPACED + " "
    "RETURN n.id AS id, n.user_id AS user_id"
)
_ALL_RELATIONS: LiteralString = (
    "MATCH (s:Entity)-[n:RELATES]->(o:Entity) WHERE " + NAMESPACED + " "
    "WITH s, n AS r, o" + RELATION_RETURN
)


def _to_db(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _from_db(value: Any) -> datetime | None:
    """neo4j.time.DateTime (nanoseconds) -> UTC-aware datetime (microseconds)."""
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    return as_utc(native)


async def _records(tx: _Tx, query: LiteralString, **params: Any) -> list[Any]:
    result = await tx.run(query, params)
    return [record async for record in result]


async def _write(session: AsyncSession, work: Callable[[_Tx], Awaitable[T]]) -> T:
    """Run `work` in a transaction, again while it fails for a reason a retry can cure: a
    concurrent writer (Neo4j: a deadlock; ArcadeDB: a change to the same record, found at
    commit), a lost connection or leader, or - a few times - a unique key taken meanwhile
    (ArcadeDB: two MERGEs created the same node, where Neo4j makes the second one wait and
    match). Every write here is idempotent and the retry sees the other writer's result.
    The back-off is short and random: the driver's own starts at 1 s, far too long for
    these small transactions."""
    deadline = time.monotonic() + _RETRY_S
    backoff, duplicates = 0.005, 0
    while True:
        try:
            async with await session.begin_transaction() as tx:
                return await work(tx)  # committed on leaving the block
        except neo4j_errors.ConstraintError:
            duplicates += 1
            if duplicates > _DUPLICATE_RETRIES or time.monotonic() > deadline:
                raise
        except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
            if not exc.is_retryable() or time.monotonic() > deadline:
                raise
        await asyncio.sleep(random.uniform(0, backoff))
        backoff = min(backoff * 2, 1.0)


class Neo4jGraphStore:
    """Graph store on a Neo4j 5+ server (``neo4j://``, ``neo4j+s://``, ``bolt://`` ...), or
    any server that speaks Bolt and the same Cypher (ArcadeDB's Bolt plugin is tested).

    Nodes are labelled Entity and Memory, edges RELATES and MENTIONS, leases OctomemLease;
    `reset()` deletes only Entity and Memory nodes, never leases or other data in the
    database.

    `namespace` is the project (`Settings.project_namespace`; "" for the default one):
    every user key, id and lease key is kept in it (`graph_common.Namespace`), so projects
    sharing one database never see or touch each other's nodes, reset included.
    """

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        *,
        database: str | None = None,
        namespace: str = "",
    ) -> None:
        self._uri = uri
        self._database = database
        self._ns = Namespace(namespace)
        try:
            self._driver = AsyncGraphDatabase.driver(uri, auth=(user, password))
        except (ValueError, neo4j_errors.ConfigurationError) as exc:
            raise ConfigurationError(
                f"Invalid Neo4j URI {uri!r}: {exc}. Use a URI such as "
                "neo4j://localhost:7687, neo4j+s://host or bolt://host:7687."
            ) from exc

    # --- plumbing ---------------------------------------------------------------------

    def _error(self, op: str, exc: Exception) -> StoreError:
        where = f"Neo4j at {self._uri}" + (
            f" (database {self._database!r})" if self._database else ""
        )
        if isinstance(exc, neo4j_errors.AuthError):
            hint = "the server rejected the credentials: check the configured user and password"
        elif isinstance(exc, neo4j_errors.ServiceUnavailable):
            hint = (
                "cannot connect: check that the server is running and reachable, and that the "
                "URI's scheme, host and port (7687 by default for Bolt) are right"
            )
        elif isinstance(exc, neo4j_errors.SessionExpired | neo4j_errors.TransientError):
            hint = "a transient failure (leader switch, deadlock, timeout); retry the operation"
        elif isinstance(exc, neo4j_errors.Forbidden):
            hint = "the user lacks the rights for this operation: grant them or use another user"
        elif isinstance(exc, neo4j_errors.ClientError) and "DatabaseNotFound" in (exc.code or ""):
            hint = "the database does not exist: create it or fix the configured database name"
        else:
            hint = "check the server logs"
        detail = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        message = f"{where}: graph operation '{op}' failed ({detail}): {hint}."
        if isinstance(exc, _PASSING):  # still failing after the driver's or our retries
            return StoreUnavailableError(message)
        return StoreError(message)

    async def _session_call(
        self, op: str, work: Callable[[_Tx], Awaitable[T]], *, write: bool = True
    ) -> T:
        """Run `work` in one transaction: reads with the driver's retries, writes with ours."""
        with tracer.start_as_current_span(f"graph.{op}", attributes={"db.system": "neo4j"}):
            try:
                async with self._driver.session(database=self._database) as session:
                    if write:
                        return await _write(session, work)
                    return await session.execute_read(work)
            except OctomemError:
                raise
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as exc:
                raise self._error(op, exc) from exc

    async def _query(
        self, op: str, query: LiteralString, *, write: bool = True, **params: Any
    ) -> list[Any]:
        """One statement in a transaction of its own: its records."""

        async def work(tx: _Tx) -> list[Any]:
            return await _records(tx, query, **params)

        return await self._session_call(op, work, write=write)

    # --- GraphStore -------------------------------------------------------------------

    @property
    def location(self) -> str:
        project = self._ns.project
        where = f"{self._uri} (database {self._database or '<default>'}"
        return where + (f", project {project})" if project else ")")

    async def init(self) -> None:
        with tracer.start_as_current_span("graph.init", attributes={"db.system": "neo4j"}):
            try:
                await self._driver.verify_connectivity()
                async with self._driver.session(database=self._database) as session:
                    for statement in _SCHEMA:
                        result = await session.run(statement)
                        await result.consume()
                server = await self._driver.get_server_info()
            except (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError) as exc:
                raise self._error("init", exc) from exc
        log.debug("graph_store_ready", backend="neo4j", uri=self._uri, server=server.agent)

    async def upsert_entities(self, entities: Sequence[Entity]) -> None:
        ns = self._ns
        rows = [
            {
                "id": ns.key(e.id),
                "user_id": ns.user(e.user_id),
                "name": e.name,
                "name_lc": normalize_text(e.name),
                "entity_type": e.entity_type,
            }
            for e in {e.id: e for e in entities}.values()
        ]
        if rows:
            await self._query("upsert_entities", _UPSERT_ENTITIES, rows=rows)

    async def upsert_relations(self, relations: Sequence[Relation]) -> None:
        ns = self._ns
        latest = {ns.key(r.id): r for r in relations}
        if not latest:
            return
        rows = [
            {
                "subject_id": ns.key(r.subject_id),
                "object_id": ns.key(r.object_id),
                "props": {
                    "id": key,
                    "user_id": ns.user(r.user_id),
                    "predicate": r.predicate,
                    "fact": r.fact,
                    "memory_id": None if r.memory_id is None else ns.key(r.memory_id),
                    "valid_at": _to_db(r.valid_at),
                    "invalid_at": _to_db(r.invalid_at),
                    "created_at": _to_db(r.created_at),
                },
            }
            for key, r in latest.items()
        ]

        async def work(tx: _Tx) -> None:
            await _records(tx, _DELETE_RELATIONS, ids=list(latest))
            created = {rec["id"] for rec in await _records(tx, _CREATE_RELATIONS, rows=rows)}
            missing = [r for rid, r in latest.items() if rid not in created]
            if missing:
                r = missing[0]
                # Raising inside the transaction function rolls the whole batch back.
                raise InvalidInputError(
                    f"Relation {r.id!r} links entities that do not exist "
                    f"({r.subject_id!r} -> {r.object_id!r}); upsert the entities first. "
                    "Nothing was stored."
                )

        await self._session_call("upsert_relations", work)

    async def invalidate_relation(self, relation_id: str, invalid_at: datetime) -> None:
        async def work(tx: _Tx) -> None:
            key = self._ns.key(relation_id)
            found = await _records(tx, INVALIDATE_RELATION, id=key, t=_to_db(invalid_at))
            if not found:
                raise NotFoundError(f"Relation {relation_id!r} does not exist in the graph.")

        await self._session_call("invalidate_relation", work)

    async def relations(
        self,
        user_id: str | None,
        *,
        subject_id: str | None = None,
        predicate: str | None = None,
        include_invalid: bool = False,
    ) -> list[Relation]:
        query: LiteralString = (
            RELATIONS + "WHERE r.user_id = $u "
            "AND ($sid IS NULL OR s.id = $sid) "
            "AND ($predicate IS NULL OR r.predicate = $predicate) "
            "AND ($include_invalid OR r.invalid_at IS NULL)" + RELATION_RETURN
        )
        records = await self._query(
            "relations",
            query,
            write=False,
            u=self._ns.user(user_id),
            sid=None if subject_id is None else self._ns.key(subject_id),
            predicate=predicate,
            include_invalid=include_invalid,
        )
        return [relation_from_row(rec.values(), _from_db, self._ns) for rec in records]

    async def find_entities(self, user_id: str | None, names: Sequence[str]) -> list[Entity]:
        keys = sorted({normalize_text(n) for n in names})
        if not keys:
            return []
        records = await self._query(
            "find_entities", FIND_ENTITIES, write=False, u=self._ns.user(user_id), names=keys
        )
        return [entity_from_row(rec.values(), self._ns) for rec in records]

    async def link_memories(self, links: Sequence[MemoryLink]) -> None:
        latest = {link.memory_id: link for link in links}  # a memory twice: the last wins
        ns = self._ns
        rows = [
            {
                "id": ns.key(link.memory_id),
                "u": ns.user(link.user_id),
                "mtype": MemoryType(link.memory_type).value,
                "ids": ns.keys(sorted(set(link.entity_ids))),
            }
            for link in latest.values()
        ]
        if not rows:
            return
        linked = [row for row in rows if row["ids"]]

        async def work(tx: _Tx) -> None:
            await _records(
                tx,
                "UNWIND $rows AS row "
                "MERGE (m:Memory {id: row.id}) SET m.user_id = row.u, m.memory_type = row.mtype "
                "WITH m OPTIONAL MATCH (m)-[x:MENTIONS]->() DELETE x",
                rows=rows,
            )
            if linked:
                await _records(
                    tx,
                    "UNWIND $rows AS row "
                    "MATCH (m:Memory {id: row.id}) MATCH (e:Entity) "
                    "WHERE e.id IN row.ids AND e.user_id = row.u CREATE (m)-[:MENTIONS]->(e)",
                    rows=linked,
                )

        await self._session_call("link_memories", work)

    async def memories_for_entities(
        self,
        user_id: str | None,
        entity_ids: Sequence[str],
        *,
        hops: int = 1,
        limit: int = 50,
    ) -> list[tuple[str, MemoryType, int]]:
        if not entity_ids or limit <= 0:
            return []
        ns = self._ns
        uid = ns.user(user_id)

        async def work(tx: _Tx) -> list[tuple[str, MemoryType, int]]:
            # Breadth-first, one query per hop: the hop count cannot be a Cypher parameter.
            distance = dict.fromkeys(ns.keys(entity_ids), 0)
            frontier = list(distance)
            for hop in range(1, max(hops, 0) + 1):
                found = await _records(tx, NEIGHBOURS, ids=frontier, u=uid)
                frontier = [rec["id"] for rec in found if rec["id"] not in distance]
                if not frontier:
                    break
                distance.update(dict.fromkeys(frontier, hop))
            found = await _records(tx, MENTIONED_BY, ids=list(distance), u=uid)
            mentions = ((rec["mid"], rec["mtype"], rec["eid"]) for rec in found)
            nearest = nearest_mentions(mentions, distance, limit)
            return [(ns.strip(mid), mtype, d) for mid, mtype, d in nearest]

        return await self._session_call("memories_for_entities", work, write=False)

    async def delete_memory(self, memory_id: str) -> None:
        await self._query("delete_memory", DELETE_MEMORY, id=self._ns.key(memory_id))

    async def forget(self, user_id: str, memory_ids: Sequence[str] | None = None) -> GraphForgotten:
        queries, params = forget_plan(user_id, memory_ids, self._ns)
        counts = []
        for query in queries:  # in batches: each transaction stays small on large graphs
            total = 0
            while deleted := (await self._query("forget", query, **params))[0]["deleted"]:
                total += deleted
            counts.append(total)
        return GraphForgotten(*counts)

    async def compact(self) -> bool:
        return False  # the server owns its files (and its transaction logs)

    async def memory_ids(self) -> dict[str, str | None]:
        records = await self._query("memory_ids", _MEMORY_OWNERS, write=False, **self._ns.params)
        return owners((rec.values() for rec in records), self._ns)

    async def entity_owners(self, entity_ids: Sequence[str]) -> dict[str, str | None]:
        ids = self._ns.keys(sorted(set(entity_ids)))
        if not ids:
            return {}
        records = await self._query(
            "entity_owners", _ENTITY_OWNERS, write=False, ids=ids, **self._ns.params
        )
        return owners((rec.values() for rec in records), self._ns)

    async def all_relations(self) -> list[Relation]:
        records = await self._query("all_relations", _ALL_RELATIONS, write=False, **self._ns.params)
        return [relation_from_row(rec.values(), _from_db, self._ns) for rec in records]

    async def acquire_lease(self, key: str, owner: str, ttl_s: float) -> bool:
        """Expiry is on the server's clock (Cypher `timestamp()`, milliseconds), so clients
        with skewed clocks agree on it.

        Atomic because the decision is made after the transaction has written the lease
        node (step 2 re-reads it after step 1's write): on Neo4j that write holds the node's
        lock until commit, so deciders run one after another and each sees the previous
        one's result; on ArcadeDB two transactions that both wrote the node cannot both
        commit, and the one that fails is retried and then sees the winner's owner. A
        uniqueness constraint on the key keeps the first MERGE from creating two nodes."""
        check_lease(key, owner, ttl_s)
        params = {"key": self._lease(key), "owner": owner, "ttl_ms": max(1, round(ttl_s * 1000))}

        async def work(tx: _Tx) -> bool:
            claimed = await _records(tx, _LEASE_CLAIM, claim=uuid.uuid4().hex, **params)
            return bool(claimed and await _records(tx, _LEASE_TAKE, **params))

        return await self._session_call("acquire_lease", work)

    def _lease(self, key: str) -> str:
        return self._ns.prefix + key  # any string is a lease key: no check for the separator

    async def release_lease(self, key: str, owner: str) -> None:
        check_lease(key, owner)
        params = {"key": self._lease(key), "owner": owner}

        async def work(tx: _Tx) -> None:
            if await _records(tx, _LEASE_CLAIM_MINE, claim=uuid.uuid4().hex, **params):
                await _records(tx, _LEASE_FREE, **params)

        await self._session_call("release_lease", work)

    async def erasures(self, key: str) -> int:
        check_lease(key, "-")
        records = await self._query("erasures", _ERASURES, write=False, key=self._lease(key))
        return int(records[0]["erasures"] or 0) if records else 0

    async def count_erasure(self, key: str) -> int:
        check_lease(key, "-")
        records = await self._query("count_erasure", _COUNT_ERASURE, key=self._lease(key))
        return int(records[0]["erasures"])

    async def reset(self) -> None:
        # Batches keep each transaction small on large graphs.
        while (await self._query("reset", _RESET_BATCH, **self._ns.params))[0]["deleted"] > 0:
            pass

    async def close(self) -> None:
        await self._driver.close()
