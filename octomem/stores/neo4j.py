"""Graph store on a Neo4j server, through the official async driver.

The same Cypher runs on Neo4j 5+ and on ArcadeDB's Bolt plugin (the tests' server), so
nothing here branches on the server. Where they differ is how concurrent writers are kept
apart: Neo4j locks (a writer waits for the other's commit; a MERGE of a unique key waits
and then matches), ArcadeDB checks at commit (optimistic MVCC: a concurrent change to the
same record, or a second node with the same unique key, fails one of the transactions).
Every write is therefore retried on such failures (`neo4j_client`), and leases decide only
after writing the lease node (`acquire_lease`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString

from octomem.errors import InvalidInputError, NotFoundError
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
from octomem.stores.neo4j_client import Neo4jClient, Tx, records

log = get_logger(__name__)


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
# The fencing token grows each time the lease changes hands (`octomem.stores.fence`).
_LEASE_TAKE: LiteralString = (
    "MATCH (l:OctomemLease {key: $key})" + _LEASE_OPEN + "WITH l, now, CASE WHEN "
    "l.owner = $owner THEN coalesce(l.token, 0) ELSE coalesce(l.token, 0) + 1 END AS token "
    "SET l.owner = $owner, l.expires = now + $ttl_ms, l.token = token RETURN token"
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


class Neo4jGraphStore:
    """Graph store on a Neo4j 5+ server (``neo4j://``, ``neo4j+s://``, ``bolt://`` ...), or
    any server that speaks Bolt and the same Cypher (ArcadeDB's Bolt plugin is tested).

    Nodes are labelled Entity and Memory, edges RELATES and MENTIONS, leases OctomemLease;
    `reset()` deletes only Entity and Memory nodes, never leases or other data in the
    database.

    `namespace` is the deployment and project (`Settings.namespace`; "" for the default
    ones): every user key, id and lease key is kept in it (`graph_common.Namespace`), so
    projects and deployments sharing one database never see or touch each other's nodes,
    reset included.
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
        self._ns = Namespace(namespace)
        self._db = Neo4jClient(uri, user, password, database=database)

    @classmethod
    def on(cls, client: Neo4jClient, *, namespace: str = "") -> Neo4jGraphStore:
        """A graph store on a connection the other server stores share."""
        store = cls.__new__(cls)
        store._ns = Namespace(namespace)
        store._db = client
        return store

    # --- GraphStore -------------------------------------------------------------------

    @property
    def location(self) -> str:
        project = self._ns.project
        where = f"{self._db.uri} (database {self._db.database or '<default>'}"
        return where + (f", project {project})" if project else ")")

    async def init(self) -> None:
        server = await self._db.run_schema(_SCHEMA)
        log.debug("graph_store_ready", backend="neo4j", uri=self._db.uri, server=server)

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
            await self._db.query("upsert_entities", _UPSERT_ENTITIES, rows=rows)

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

        async def work(tx: Tx) -> None:
            await records(tx, _DELETE_RELATIONS, ids=list(latest))
            created = {rec["id"] for rec in await records(tx, _CREATE_RELATIONS, rows=rows)}
            missing = [r for rid, r in latest.items() if rid not in created]
            if missing:
                r = missing[0]
                # Raising inside the transaction function rolls the whole batch back.
                raise InvalidInputError(
                    f"Relation {r.id!r} links entities that do not exist "
                    f"({r.subject_id!r} -> {r.object_id!r}); upsert the entities first. "
                    "Nothing was stored."
                )

        await self._db.call("upsert_relations", work)

    async def invalidate_relation(self, relation_id: str, invalid_at: datetime) -> None:
        async def work(tx: Tx) -> None:
            key = self._ns.key(relation_id)
            found = await records(tx, INVALIDATE_RELATION, id=key, t=_to_db(invalid_at))
            if not found:
                raise NotFoundError(f"Relation {relation_id!r} does not exist in the graph.")

        await self._db.call("invalidate_relation", work)

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
        rows = await self._db.query(
            "relations",
            query,
            write=False,
            u=self._ns.user(user_id),
            sid=None if subject_id is None else self._ns.key(subject_id),
            predicate=predicate,
            include_invalid=include_invalid,
        )
        return [relation_from_row(rec.values(), _from_db, self._ns) for rec in rows]

    async def find_entities(self, user_id: str | None, names: Sequence[str]) -> list[Entity]:
        keys = sorted({normalize_text(n) for n in names})
        if not keys:
            return []
        rows = await self._db.query(
            "find_entities", FIND_ENTITIES, write=False, u=self._ns.user(user_id), names=keys
        )
        return [entity_from_row(rec.values(), self._ns) for rec in rows]

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

        async def work(tx: Tx) -> None:
            await records(
                tx,
                "UNWIND $rows AS row "
                "MERGE (m:Memory {id: row.id}) SET m.user_id = row.u, m.memory_type = row.mtype "
                "WITH m OPTIONAL MATCH (m)-[x:MENTIONS]->() DELETE x",
                rows=rows,
            )
            if linked:
                await records(
                    tx,
                    "UNWIND $rows AS row "
                    "MATCH (m:Memory {id: row.id}) MATCH (e:Entity) "
                    "WHERE e.id IN row.ids AND e.user_id = row.u CREATE (m)-[:MENTIONS]->(e)",
                    rows=linked,
                )

        await self._db.call("link_memories", work)

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

        async def work(tx: Tx) -> list[tuple[str, MemoryType, int]]:
            # Breadth-first, one query per hop: the hop count cannot be a Cypher parameter.
            distance = dict.fromkeys(ns.keys(entity_ids), 0)
            frontier = list(distance)
            for hop in range(1, max(hops, 0) + 1):
                found = await records(tx, NEIGHBOURS, ids=frontier, u=uid)
                frontier = [rec["id"] for rec in found if rec["id"] not in distance]
                if not frontier:
                    break
                distance.update(dict.fromkeys(frontier, hop))
            found = await records(tx, MENTIONED_BY, ids=list(distance), u=uid)
            mentions = ((rec["mid"], rec["mtype"], rec["eid"]) for rec in found)
            nearest = nearest_mentions(mentions, distance, limit)
            return [(ns.strip(mid), mtype, d) for mid, mtype, d in nearest]

        return await self._db.call("memories_for_entities", work, write=False)

    async def delete_memory(self, memory_id: str) -> None:
        await self._db.query("delete_memory", DELETE_MEMORY, id=self._ns.key(memory_id))

    async def forget(self, user_id: str, memory_ids: Sequence[str] | None = None) -> GraphForgotten:
        queries, params = forget_plan(user_id, memory_ids, self._ns)
        counts = []
        for query in queries:  # in batches: each transaction stays small on large graphs
            total = 0
            while deleted := (await self._db.query("forget", query, **params))[0]["deleted"]:
                total += deleted
            counts.append(total)
        return GraphForgotten(*counts)

    async def compact(self) -> bool:
        return False  # the server owns its files (and its transaction logs)

    async def memory_ids(self) -> dict[str, str | None]:
        rows = await self._db.query("memory_ids", _MEMORY_OWNERS, write=False, **self._ns.params)
        return owners((rec.values() for rec in rows), self._ns)

    async def entity_owners(self, entity_ids: Sequence[str]) -> dict[str, str | None]:
        ids = self._ns.keys(sorted(set(entity_ids)))
        if not ids:
            return {}
        rows = await self._db.query(
            "entity_owners", _ENTITY_OWNERS, write=False, ids=ids, **self._ns.params
        )
        return owners((rec.values() for rec in rows), self._ns)

    async def all_relations(self) -> list[Relation]:
        rows = await self._db.query("all_relations", _ALL_RELATIONS, write=False, **self._ns.params)
        return [relation_from_row(rec.values(), _from_db, self._ns) for rec in rows]

    async def acquire_lease(self, key: str, owner: str, ttl_s: float) -> int:
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

        async def work(tx: Tx) -> int:
            if not await records(tx, _LEASE_CLAIM, claim=uuid.uuid4().hex, **params):
                return 0
            taken = await records(tx, _LEASE_TAKE, **params)
            return int(taken[0]["token"]) if taken else 0

        return await self._db.call("acquire_lease", work, fenced=False)

    async def fence_holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        return await self._db.fence_holds(tokens)

    def lease_key(self, key: str) -> str:
        return self._lease(key)

    def _lease(self, key: str) -> str:
        return self._ns.prefix + key  # any string is a lease key: no check for the separator

    async def release_lease(self, key: str, owner: str) -> None:
        check_lease(key, owner)
        params = {"key": self._lease(key), "owner": owner}

        async def work(tx: Tx) -> None:
            if await records(tx, _LEASE_CLAIM_MINE, claim=uuid.uuid4().hex, **params):
                await records(tx, _LEASE_FREE, **params)

        await self._db.call("release_lease", work, fenced=False)

    async def erasures(self, key: str) -> int:
        check_lease(key, "-")
        rows = await self._db.query("erasures", _ERASURES, write=False, key=self._lease(key))
        return int(rows[0]["erasures"] or 0) if rows else 0

    async def count_erasure(self, key: str) -> int:
        check_lease(key, "-")
        rows = await self._db.query("count_erasure", _COUNT_ERASURE, key=self._lease(key))
        return int(rows[0]["erasures"])

    async def reset(self) -> None:
        # Batches keep each transaction small on large graphs.
        while (await self._db.query("reset", _RESET_BATCH, **self._ns.params))[0]["deleted"] > 0:
            pass

    async def close(self) -> None:
        await self._db.close()
