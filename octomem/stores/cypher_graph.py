"""One graph store over a Cypher session port: the data operations of `GraphStore`,
written once for every graph backend.

A backend provides a `CypherSession` (runs a unit of work in one transaction, with its
locking, retries, fencing and tracing), a `Dialect` (what its Cypher or values need that
the others do not), and the rest of `GraphStore`: schema, `location`, `compact`, leases,
`close`.

A unit of work is a generator ("sans I/O"): it yields a statement and its parameters and
is sent back the statement's rows (by position), until it returns its result. The same
unit runs in an embedded database's worker thread (`drive`) and in an async driver's
transaction function (`drive_async`); a session retries a transaction by starting the unit
again (`work` is a factory). Every statement is one that LadybugDB, Neo4j 5 and ArcadeDB's
Bolt plugin all accept; batches are one `UNWIND` statement each.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString, Protocol, TypeAlias, TypeVar

from octomem.errors import InvalidInputError, NotFoundError
from octomem.models import Entity, MemoryType, Relation, as_utc, normalize_text
from octomem.stores.base import GraphForgotten, MemoryLink
from octomem.stores.fence import Fence
from octomem.stores.graph_common import NAMESPACED, Namespace
from octomem.stores.graph_expansion import expansion, stepwise

T = TypeVar("T")
Row: TypeAlias = Sequence[Any]
Statement: TypeAlias = tuple[LiteralString, Mapping[str, Any]]
# a unit of work: yields statements (or a list of them, run in order), is sent their rows
# (of the last), returns its result
Work: TypeAlias = Generator[Statement | list[Statement], list[Row], T]


class CypherSession(Protocol):
    """The port a graph backend provides: run a unit of work in one transaction."""

    async def run(
        self, op: str, work: Callable[[], Work[T]], *, write: bool, fence: Fence | None = None
    ) -> T:
        """`work()`'s result, its statements run in one transaction (a read transaction
        unless `write`). `op` names the operation (spans, errors). A session may call
        `work` again to retry the transaction: units of work are idempotent. A write given
        the `fence` of its writer's leases fails whole once one of them passed to another
        writer, where the backend is shared (`octomem.stores.fence`)."""


def drive(work: Work[T], execute: Callable[[LiteralString, Mapping[str, Any]], list[Row]]) -> T:
    """Run a unit of work on a synchronous connection (`execute` runs one statement)."""
    rows: list[Row] | None = None  # sent first: a fresh generator takes only None
    while True:
        try:
            step = work.send(rows)  # type: ignore[arg-type]
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        for statement in step if isinstance(step, list) else [step]:
            rows = execute(*statement)


async def drive_async(
    work: Work[T], execute: Callable[[LiteralString, Mapping[str, Any]], Awaitable[list[Row]]]
) -> T:
    """Run a unit of work on an asynchronous transaction (`execute` runs one statement)."""
    rows: list[Row] | None = None
    while True:
        try:
            step = work.send(rows)  # type: ignore[arg-type]
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        for statement in step if isinstance(step, list) else [step]:
            rows = await execute(*statement)


def _one(query: LiteralString, params: Mapping[str, Any]) -> Work[list[Row]]:
    """A unit of work of one statement: its rows."""
    return (yield query, params)


def _same(expression: LiteralString) -> LiteralString:
    return expression


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _from_db(value: Any) -> datetime | None:
    """A stored datetime (naive UTC, or the Neo4j driver's, in nanoseconds) as UTC-aware."""
    if value is None:
        return None
    return as_utc(value.to_native() if hasattr(value, "to_native") else value)


@dataclass(frozen=True)
class Dialect:
    """What differs between the graph backends' Cypher and values; nothing else does."""

    # a datetime as the backend stores it (read back by `_from_db`, for every backend)
    to_db: Callable[[datetime | None], Any] = _aware
    # how the timestamp property `expression` of an UNWIND row is written (ladybug types a
    # field that is null in every row of a batch as a string, and needs it cast)
    timestamp: Callable[[LiteralString], LiteralString] = _same
    # `forget` and `reset` delete in batches; an embedded graph deletes them all in one
    # transaction, a server in a transaction per batch (each stays small on large graphs)
    bulk_in_one_transaction: bool = False
    # the graph expansion in one statement, entity lookup included (a server: one round
    # trip), or the lookup, then a statement per hop only if it found some (ladybug, in
    # process: 0.5-0.6 ms a recall where the one statement takes 4-5.5 ms)
    expand_in_one_statement: bool = True
    # nodes upserted by primary key: the batch's ids looked up, then a MATCH ... SET of the
    # nodes found with other values and a CREATE of the rest, in one transaction (ladybug,
    # whose one writer at a time leaves no race between the two, plans MERGE as a scan of
    # the node table); a server keeps MERGE, which its unique keys keep safe under
    # concurrent writers
    upsert_by_key: bool = False
    # a memory's mentions unlinked, and given memories forgotten, each found by primary key:
    # a statement per memory (in the one transaction) and an UNWIND of the ids (ladybug
    # plans `UNWIND $ids AS mid MATCH (m:Memory {id: mid})-[x:MENTIONS]->()` as a hash join
    # over every Memory node and MENTIONS edge, and `WHERE m.id IN $ids` as a scan of the
    # Memory table, all users': 22 ms against 0.6 ms to unlink 3 memories at 50k memories);
    # a server keeps one statement each, which finds the memories by its index
    delete_by_key: bool = False


# Rows are read by position; the names are for Neo4j.
# the columns a relation is read as (`_relation`), oldest first
_RELATION_RETURN: LiteralString = (
    " RETURN r.id AS id, r.user_id AS user_id, s.id AS subject_id, r.predicate AS predicate, "
    "o.id AS object_id, r.fact AS fact, r.memory_id AS memory_id, r.valid_at AS valid_at, "
    "r.invalid_at AS invalid_at, r.created_at AS created_at ORDER BY r.created_at, r.id"
)
_USER_RELATIONS: LiteralString = (
    "MATCH (s:Entity)-[r:RELATES]->(o:Entity) WHERE r.user_id = $u" + _RELATION_RETURN
)
# A relation is found by its id in a WHERE clause: ArcadeDB uses its index on `r.id` for
# `WHERE r.id = ...` and `WHERE r.id IN $ids`, but reads every RELATES edge for a pattern's
# property map (`[r:RELATES {id: $id}]`: 312 ms at 80k edges against 1.7 ms)
_INVALIDATE_RELATION: LiteralString = (
    "MATCH ()-[r:RELATES]->() WHERE r.id = $id SET r.invalid_at = $t RETURN r.id AS id"
)
_DELETE_RELATIONS: LiteralString = "MATCH ()-[r:RELATES]->() WHERE r.id IN $ids DELETE r"
_FIND_ENTITIES: LiteralString = (
    "MATCH (e:Entity) WHERE e.user_id = $u AND e.name_lc IN $names "
    "RETURN e.id AS id, e.user_id AS user_id, e.name AS name, "
    "e.entity_type AS entity_type ORDER BY e.name_lc, e.id"
)
_DELETE_MEMORY: LiteralString = "MATCH (m:Memory {id: $id}) DETACH DELETE m"
# `forget`'s statements, in batches (LIMIT): each is run until it deletes nothing, in this
# order - orphaned entities last, once the memories and their relations are gone. A user's
# entities are never shared with another user.
_FORGET_USER: tuple[LiteralString, ...] = (
    "MATCH (m:Memory) WHERE m.user_id = $u WITH m LIMIT 10000 DETACH DELETE m "
    "RETURN count(*) AS deleted",
    "MATCH ()-[r:RELATES]->() WHERE r.user_id = $u WITH r LIMIT 10000 DELETE r "
    "RETURN count(*) AS deleted",
    "MATCH (e:Entity) WHERE e.user_id = $u WITH e LIMIT 10000 DETACH DELETE e "
    "RETURN count(*) AS deleted",
)
_FORGET_MEMORIES_RELATIONS_ENTITIES: tuple[LiteralString, ...] = (
    "MATCH ()-[r:RELATES]->() WHERE r.user_id = $u AND r.memory_id IN $ids "
    "WITH r LIMIT 10000 DELETE r RETURN count(*) AS deleted",
    # a pattern predicate: ArcadeDB counting each entity's edges (OPTIONAL MATCH) took
    # 94 ms at 80k entities against 10 ms, growing with the whole graph
    "MATCH (e:Entity) WHERE e.user_id = $u AND NOT (e)--() "
    "WITH e LIMIT 10000 DELETE e RETURN count(*) AS deleted",
)
_FORGET_MEMORIES: tuple[LiteralString, ...] = (
    "MATCH (m:Memory) WHERE m.id IN $ids AND m.user_id = $u WITH m LIMIT 10000 "
    "DETACH DELETE m RETURN count(*) AS deleted",
    *_FORGET_MEMORIES_RELATIONS_ENTITIES,
)
# the same, each memory found by its id (`Dialect.delete_by_key`); the ids are distinct
_FORGET_MEMORIES_BY_KEY: tuple[LiteralString, ...] = (
    "UNWIND $ids AS id MATCH (m:Memory {id: id}) WHERE m.user_id = $u WITH m LIMIT 10000 "
    "DETACH DELETE m RETURN count(*) AS deleted",
    *_FORGET_MEMORIES_RELATIONS_ENTITIES,
)


@dataclass(frozen=True)
class _NodeUpsert:
    """The statements that write a batch of one label's nodes, each row by its `id`."""

    fields: tuple[tuple[LiteralString, LiteralString], ...]  # (property, row key)
    merge: LiteralString
    found: LiteralString
    update: LiteralString
    create: LiteralString

    @classmethod
    def of(cls, label: LiteralString, **fields: LiteralString) -> _NodeUpsert:
        """`fields`: each property of node `n` -> the key of `row` it is set from."""
        pairs = tuple(fields.items())
        sets = ", ".join("n." + prop + " = row." + key for prop, key in pairs)
        props = ", ".join("n." + prop for prop, _ in pairs)
        return cls(
            fields=pairs,
            merge="UNWIND $rows AS row MERGE (n:" + label + " {id: row.id}) SET " + sets,
            found="UNWIND $ids AS id MATCH (n:" + label + " {id: id}) RETURN n.id, " + props,
            update="UNWIND $rows AS row MATCH (n:" + label + " {id: row.id}) SET " + sets,
            create="UNWIND $rows AS row CREATE (n:" + label + " {id: row.id}) SET " + sets,
        )

    def work(self, rows: list[dict[str, Any]], *, by_key: bool) -> Work[set[str] | None]:
        """Upsert `rows` (distinct ids); the ids that were there before where the backend
        looked them up (`by_key`), else None. A node found as its row would write it is
        left alone: ladybug logs an update of a node whatever its values, and every 128 KB
        of log is a checkpoint, whose cost grows with the graph (`ladybug._CHECKPOINT_BYTES`)."""
        if not by_key:
            yield self.merge, {"rows": rows}
            return None
        stored = {
            row[0]: tuple(row[1:]) for row in (yield self.found, {"ids": [r["id"] for r in rows]})
        }
        keys = [key for _, key in self.fields]
        changed = [
            r for r in rows if r["id"] in stored and stored[r["id"]] != tuple(r[k] for k in keys)
        ]
        if changed:
            yield self.update, {"rows": changed}
        if new := [r for r in rows if r["id"] not in stored]:
            yield self.create, {"rows": new}
        return set(stored)


_ENTITIES = _NodeUpsert.of(
    "Entity", user_id="user_id", name="name", name_lc="name_lc", entity_type="entity_type"
)


# A batch finds each row's nodes in a MATCH clause of their own: LadybugDB looks up a node
# by its primary key (the row's id) in a clause of one node, but plans two nodes in one
# clause (`MATCH (a {id: row.x}), (b {id: row.y})`) as a cross product of both whole
# tables, filtered: 0.86 s a batch of 128 at 40k nodes against 3 ms, so that a message of
# N facts cost N^2 and every write grew with the whole graph (all users').


def _create_relations(dialect: Dialect) -> LiteralString:
    ts = dialect.timestamp
    return (
        "UNWIND $rows AS row "
        "MATCH (s:Entity {id: row.subject_id}) MATCH (o:Entity {id: row.object_id}) "
        "CREATE (s)-[r:RELATES {id: row.id, user_id: row.user_id, predicate: row.predicate, "
        "fact: row.fact, memory_id: row.memory_id, valid_at: " + ts("row.valid_at") + ", "
        "invalid_at: " + ts("row.invalid_at") + ", created_at: " + ts("row.created_at") + "}]"
        "->(o) RETURN row.id AS id"
    )


_MEMORIES = _NodeUpsert.of("Memory", user_id="u", memory_type="mtype")
_UNLINK_MEMORIES: LiteralString = (
    "UNWIND $ids AS mid MATCH (m:Memory {id: mid})-[x:MENTIONS]->() DELETE x"
)
_UNLINK_MEMORY: LiteralString = "MATCH (m:Memory {id: $id})-[x:MENTIONS]->() DELETE x"
# one row per (memory, entity) mention; an entity of another user is not linked
_LINK_MEMORIES: LiteralString = (
    "UNWIND $rows AS row MATCH (m:Memory {id: row.mid}) MATCH (e:Entity {id: row.eid}) "
    "WHERE e.user_id = row.u CREATE (m)-[:MENTIONS]->(e)"
)
# the whole-graph reads and `reset`, within the store's namespace (`NAMESPACED`)
_MEMORY_OWNERS: LiteralString = (
    "MATCH (n:Memory) WHERE " + NAMESPACED + " RETURN n.id AS id, n.user_id AS user_id"
)
_ENTITY_OWNERS: LiteralString = (
    "MATCH (n:Entity) WHERE n.id IN $ids AND " + NAMESPACED + " "
    "RETURN n.id AS id, n.user_id AS user_id"
)
_ALL_RELATIONS: LiteralString = (
    "MATCH (s:Entity)-[n:RELATES]->(o:Entity) WHERE " + NAMESPACED + " "
    "WITH s, n AS r, o" + _RELATION_RETURN
)
_RESET: tuple[LiteralString, ...] = tuple(
    "MATCH (n:" + label + ") WHERE " + NAMESPACED + " WITH n LIMIT 10000 "
    "DETACH DELETE n RETURN count(*) AS deleted"
    for label in ("Memory", "Entity")
)


class CypherGraphStore:
    """The data operations of `GraphStore` over a `CypherSession` and a `Dialect`, for the
    graph of one `Namespace` (a server shared by projects; an embedded graph has the
    default one). Backends subclass it with the schema, leases, `location`, `compact` and
    `close` (see the module's docstring)."""

    def __init__(self, session: CypherSession, dialect: Dialect, namespace: Namespace) -> None:
        self._session = session
        self._dialect = dialect
        self._ns = namespace
        self._create_relations = _create_relations(dialect)

    async def _query(
        self,
        op: str,
        query: LiteralString,
        *,
        write: bool = True,
        fence: Fence | None = None,
        **params: Any,
    ) -> list[Row]:
        """One statement in a transaction of its own: its rows."""
        return await self._session.run(op, lambda: _one(query, params), write=write, fence=fence)

    def _owners(self, rows: Sequence[Row]) -> dict[str, str | None]:
        """id -> user from rows of (id, user_id)."""
        return {self._ns.strip(row[0]): self._ns.strip(row[1]) or None for row in rows}

    def _relation(self, row: Row) -> Relation:
        """A Relation from a row of `_RELATION_RETURN`."""
        ns, from_db = self._ns, _from_db
        rid, user_id, sid, predicate, oid, fact, memory_id, valid_at, invalid_at, created = row
        return Relation(
            id=ns.strip(rid),
            user_id=ns.strip(user_id) or None,
            subject_id=ns.strip(sid),
            predicate=predicate or "",
            object_id=ns.strip(oid),
            fact=fact or "",
            memory_id=ns.strip(memory_id),
            valid_at=from_db(valid_at),
            invalid_at=from_db(invalid_at),
            created_at=from_db(created),
        )

    async def upsert_entities(
        self, entities: Sequence[Entity], *, fence: Fence | None = None
    ) -> None:
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
            by_key = self._dialect.upsert_by_key
            work = functools.partial(_ENTITIES.work, rows, by_key=by_key)
            await self._session.run("upsert_entities", work, write=True, fence=fence)

    async def upsert_relations(
        self, relations: Sequence[Relation], *, fence: Fence | None = None
    ) -> None:
        ns, to_db = self._ns, self._dialect.to_db
        latest = {ns.key(r.id): r for r in relations}
        if not latest:
            return
        rows = [
            {
                "subject_id": ns.key(r.subject_id),
                "object_id": ns.key(r.object_id),
                "id": key,
                "user_id": ns.user(r.user_id),
                "predicate": r.predicate,
                "fact": r.fact,
                "memory_id": None if r.memory_id is None else ns.key(r.memory_id),
                "valid_at": to_db(r.valid_at),
                "invalid_at": to_db(r.invalid_at),
                "created_at": to_db(r.created_at),
            }
            for key, r in latest.items()
        ]

        def work() -> Work[None]:
            # one list: a server sends it with the writer's other writes (`neo4j_batch`)
            made = yield [
                (_DELETE_RELATIONS, {"ids": list(latest)}),
                (self._create_relations, {"rows": rows}),
            ]
            created = {row[0] for row in made}
            if missing := [r for rid, r in latest.items() if rid not in created]:
                r = missing[0]
                # Raising inside the transaction rolls the whole batch back.
                raise InvalidInputError(
                    f"Relation {r.id!r} links entities that do not exist "
                    f"({r.subject_id!r} -> {r.object_id!r}); upsert the entities first. "
                    "Nothing was stored."
                )

        await self._session.run("upsert_relations", work, write=True, fence=fence)

    async def invalidate_relation(
        self, relation_id: str, invalid_at: datetime, *, fence: Fence | None = None
    ) -> None:
        params = {"id": self._ns.key(relation_id), "t": self._dialect.to_db(invalid_at)}

        def work() -> Work[None]:
            if not (yield _INVALIDATE_RELATION, params):
                raise NotFoundError(f"Relation {relation_id!r} does not exist in the graph.")

        await self._session.run("invalidate_relation", work, write=True, fence=fence)

    async def relations(self, user_id: str | None) -> list[Relation]:
        user = self._ns.user(user_id)
        rows = await self._query("relations", _USER_RELATIONS, write=False, u=user)
        return [self._relation(row) for row in rows]

    async def find_entities(self, user_id: str | None, names: Sequence[str]) -> list[Entity]:
        keys = sorted({normalize_text(n) for n in names})
        if not keys:
            return []
        rows = await self._query(
            "find_entities", _FIND_ENTITIES, write=False, u=self._ns.user(user_id), names=keys
        )
        ns = self._ns
        return [
            Entity(
                id=ns.strip(eid),
                user_id=ns.strip(uid) or None,
                name=name,
                entity_type=et or "entity",
            )
            for eid, uid, name, et in rows
        ]

    async def link_memories(
        self, links: Sequence[MemoryLink], *, fence: Fence | None = None
    ) -> None:
        latest = {link.memory_id: link for link in links}  # a memory twice: the last wins
        if not latest:
            return
        ns = self._ns
        memories = [
            {
                "id": ns.key(link.memory_id),
                "u": ns.user(link.user_id),
                "mtype": MemoryType(link.memory_type).value,
            }
            for link in latest.values()
        ]
        mentions = [
            {"mid": memory["id"], "eid": eid, "u": memory["u"]}
            for memory, link in zip(memories, latest.values(), strict=True)
            for eid in ns.keys(sorted(set(link.entity_ids)))
        ]

        def work() -> Work[None]:
            found = yield from _MEMORIES.work(memories, by_key=self._dialect.upsert_by_key)
            # a memory that was not there before has no mentions to unlink
            linked = [m["id"] for m in memories if found is None or m["id"] in found]
            if linked and self._dialect.delete_by_key:
                for mid in linked:
                    yield _UNLINK_MEMORY, {"id": mid}
            elif linked:
                yield _UNLINK_MEMORIES, {"ids": linked}
            if mentions:
                yield _LINK_MEMORIES, {"rows": mentions}

        await self._session.run("link_memories", work, write=True, fence=fence)

    async def memories_for_names(
        self,
        user_id: str | None,
        names: Sequence[str],
        *,
        hops: int = 1,
        limit: int = 50,
    ) -> tuple[list[str], list[tuple[str, MemoryType, int]]]:
        keys = sorted({normalize_text(n) for n in names})
        if not keys or limit <= 0:
            return [], []
        op = "memories_for_names"
        if not self._dialect.expand_in_one_statement:
            seeds = [entity.id for entity in await self.find_entities(user_id, keys)]
            if not seeds:
                return [], []
            ids = self._ns.keys(seeds)
            work = functools.partial(stepwise, self._ns, ids, hops, limit, user_id)
            return seeds, await self._session.run(op, work, write=False)
        params: dict[str, Any] = {"names": keys, "u": self._ns.user(user_id), "limit": limit}
        rows = await self._query(op, expansion(hops), write=False, **params)
        strip = self._ns.strip
        found = sorted(strip(eid) for eid in rows[0][0]) if rows else []
        return found, [(strip(mid), MemoryType(mtype), int(d)) for _, mid, mtype, d in rows]

    async def delete_memory(self, memory_id: str, *, fence: Fence | None = None) -> None:
        await self._query("delete_memory", _DELETE_MEMORY, fence=fence, id=self._ns.key(memory_id))

    async def _drain(
        self,
        op: str,
        queries: Sequence[LiteralString],
        params: Mapping[str, Any],
        *,
        fence: Fence | None = None,
    ) -> list[int]:
        """Run each batched delete (it returns how many it deleted) until it deletes
        nothing, in order: how many each deleted."""

        def drain(query: LiteralString) -> Work[int]:
            total = 0
            while deleted := int((yield query, params)[0][0]):
                total += deleted
            return total

        def drain_all() -> Work[list[int]]:
            counts = []
            for query in queries:
                counts.append((yield from drain(query)))
            return counts

        if self._dialect.bulk_in_one_transaction:
            return await self._session.run(op, drain_all, write=True, fence=fence)
        # else each batch in a transaction of its own
        return await drive_async(drain_all(), lambda q, p: self._query(op, q, fence=fence, **p))

    async def forget(
        self, user_id: str, memory_ids: Sequence[str] | None = None, *, fence: Fence | None = None
    ) -> GraphForgotten:
        params: dict[str, Any] = {"u": self._ns.user(user_id)}
        queries = _FORGET_USER
        if memory_ids is not None:
            by_key = self._dialect.delete_by_key
            queries = _FORGET_MEMORIES_BY_KEY if by_key else _FORGET_MEMORIES
            params["ids"] = self._ns.keys(sorted(set(memory_ids)))
        return GraphForgotten(*await self._drain("forget", queries, params, fence=fence))

    async def memory_ids(self) -> dict[str, str | None]:
        rows = await self._query("memory_ids", _MEMORY_OWNERS, write=False, **self._ns.params)
        return self._owners(rows)

    async def entity_owners(self, entity_ids: Sequence[str]) -> dict[str, str | None]:
        ids = self._ns.keys(sorted(set(entity_ids)))
        if not ids:
            return {}
        rows = await self._query(
            "entity_owners", _ENTITY_OWNERS, write=False, ids=ids, **self._ns.params
        )
        return self._owners(rows)

    async def all_relations(self) -> list[Relation]:
        rows = await self._query("all_relations", _ALL_RELATIONS, write=False, **self._ns.params)
        return [self._relation(row) for row in rows]

    async def reset(self) -> None:
        """Delete the namespace's Entity and Memory nodes (and their edges); leases and any
        other data in the graph stay."""
        await self._drain("reset", _RESET, self._ns.params)
