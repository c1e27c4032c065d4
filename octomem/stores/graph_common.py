"""What the graph backends compute alike, whatever their query language."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, LiteralString

from octomem.errors import InvalidInputError
from octomem.models import Entity, MemoryType, Relation

# Cypher that every backend runs as it is: ladybug, Neo4j 5 and ArcadeDB's Bolt plugin all
# accept it (`cypher_graph` runs it). Rows are read by position; the names are for Neo4j.
RELATIONS: LiteralString = "MATCH (s:Entity)-[r:RELATES]->(o:Entity) "
# the columns a relation is read as (`relation_from_row`), oldest first
RELATION_RETURN: LiteralString = (
    " RETURN r.id AS id, r.user_id AS user_id, s.id AS subject_id, r.predicate AS predicate, "
    "o.id AS object_id, r.fact AS fact, r.memory_id AS memory_id, r.valid_at AS valid_at, "
    "r.invalid_at AS invalid_at, r.created_at AS created_at ORDER BY r.created_at, r.id"
)
INVALIDATE_RELATION: LiteralString = (
    "MATCH ()-[r:RELATES {id: $id}]->() SET r.invalid_at = $t RETURN r.id AS id"
)
# the entities of `$u` named `$names` (normalised), as `entity_from_row` reads them
FIND_ENTITIES: LiteralString = (
    "MATCH (e:Entity) WHERE e.user_id = $u AND e.name_lc IN $names "
    "RETURN e.id AS id, e.user_id AS user_id, e.name AS name, "
    "e.entity_type AS entity_type ORDER BY e.name_lc, e.id"
)
DELETE_MEMORY: LiteralString = "MATCH (m:Memory {id: $id}) DETACH DELETE m"
# one hop of `memories_for_entities`: the live neighbours of the entities `$ids`
NEIGHBOURS: LiteralString = (
    "MATCH (a:Entity)-[r:RELATES]-(b:Entity) "
    "WHERE a.id IN $ids AND a.user_id = $u AND b.user_id = $u "
    "AND r.user_id = $u AND r.invalid_at IS NULL RETURN DISTINCT b.id AS id"
)
# the (memory, memory type, entity) rows `nearest_mentions` ranks
MENTIONED_BY: LiteralString = (
    "MATCH (m:Memory)-[:MENTIONS]->(e:Entity) "
    "WHERE e.id IN $ids AND e.user_id = $u AND m.user_id = $u "
    "RETURN m.id AS mid, m.memory_type AS mtype, e.id AS eid"
)
# `forget`'s statements, in batches (LIMIT): each is run until it deletes nothing, in this
# order - orphaned entities last, once the memories and their relations are gone. A user's
# entities are never shared with another user.
FORGET_USER: tuple[LiteralString, ...] = (
    "MATCH (m:Memory) WHERE m.user_id = $u WITH m LIMIT 10000 DETACH DELETE m "
    "RETURN count(*) AS deleted",
    "MATCH ()-[r:RELATES]->() WHERE r.user_id = $u WITH r LIMIT 10000 DELETE r "
    "RETURN count(*) AS deleted",
    "MATCH (e:Entity) WHERE e.user_id = $u WITH e LIMIT 10000 DETACH DELETE e "
    "RETURN count(*) AS deleted",
)
FORGET_MEMORIES: tuple[LiteralString, ...] = (
    "MATCH (m:Memory) WHERE m.id IN $ids AND m.user_id = $u WITH m LIMIT 10000 "
    "DETACH DELETE m RETURN count(*) AS deleted",
    "MATCH ()-[r:RELATES]->() WHERE r.user_id = $u AND r.memory_id IN $ids "
    "WITH r LIMIT 10000 DELETE r RETURN count(*) AS deleted",
    "MATCH (e:Entity) WHERE e.user_id = $u OPTIONAL MATCH (e)-[x]-() WITH e, count(x) AS n "
    "WHERE n = 0 WITH e LIMIT 10000 DELETE e RETURN count(*) AS deleted",
)


# between a project and a key in a shared graph: scope ids never hold control characters
SEPARATOR = "\x1f"


class Namespace:
    """How projects that share one graph server keep apart: every user key and every id of
    a node or relation that a project writes or matches goes through `user` / `key`, which
    put ``<project>\x1f`` in front (the default project, "", writes them unchanged, as
    before projects); every value read back goes through `strip`. Nodes of two projects
    never share a key, so no query keyed by user or id reaches another project's, and the
    unique constraints on ids hold across projects (an export imported into another
    project keeps its ids). Whole-graph reads and `reset` match `mine`'s rule in Cypher
    (`NAMESPACED`)."""

    def __init__(self, project: str = "") -> None:
        if SEPARATOR in project:
            raise InvalidInputError("a graph namespace cannot hold a control character")
        self.project = project
        self.prefix = f"{project}{SEPARATOR}" if project else ""

    def user(self, user_id: str | None) -> str:
        """A user id as the graph stores it: "" for no user (graphs match no null keys)."""
        return self.prefix + (user_id or "")

    def key(self, value: str) -> str:
        if SEPARATOR in value:  # it could name a node of another project
            raise InvalidInputError(f"an id cannot hold a control character: {value!r}")
        return self.prefix + value

    def keys(self, values: Iterable[str]) -> list[str]:
        return [self.key(value) for value in values]

    def strip(self, value: Any) -> Any:
        """A key or user read from the graph, as the caller knows it."""
        if self.prefix and isinstance(value, str) and value.startswith(self.prefix):
            return value[len(self.prefix) :]
        return value

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of `NAMESPACED`."""
        return {"nsp": self.prefix, "sep": SEPARATOR}


DEFAULT_NAMESPACE = Namespace()

# the condition (on a node or relation `n` with a user key) of being in the namespace whose
# `params` are given: its prefix, or (the default namespace) none at all
NAMESPACED: LiteralString = (
    "coalesce(n.user_id, '') STARTS WITH $nsp "
    "AND ($nsp <> '' OR NOT coalesce(n.user_id, '') CONTAINS $sep)"
)


def entity_from_row(row: Sequence[Any], ns: Namespace = DEFAULT_NAMESPACE) -> Entity:
    """An Entity from a row of `FIND_ENTITIES`."""
    eid, user_id, name, entity_type = row
    return Entity(
        id=ns.strip(eid),
        user_id=ns.strip(user_id) or None,
        name=name,
        entity_type=entity_type or "entity",
    )


def owners(
    rows: Iterable[Sequence[Any]], ns: Namespace = DEFAULT_NAMESPACE
) -> dict[str, str | None]:
    """id -> user from rows of (id, user_id)."""
    return {ns.strip(row[0]): ns.strip(row[1]) or None for row in rows}


def forget_plan(
    user_id: str, memory_ids: Sequence[str] | None, ns: Namespace = DEFAULT_NAMESPACE
) -> tuple[tuple[LiteralString, ...], dict[str, Any]]:
    """The statements and parameters of `GraphStore.forget`: the whole user's, or only
    these memories' (whose ids go in as `$ids`)."""
    params: dict[str, Any] = {"u": ns.user(user_id)}
    if memory_ids is None:
        return FORGET_USER, params
    return FORGET_MEMORIES, {**params, "ids": ns.keys(sorted(set(memory_ids)))}


def nearest_mentions(
    mentions: Iterable[tuple[str, str, str]], distance: Mapping[str, int], limit: int
) -> list[tuple[str, MemoryType, int]]:
    """(memory_id, memory_type, distance) from (memory_id, memory_type, entity_id) mention
    rows: each memory at the distance of its nearest mentioned entity, nearest first."""
    best: dict[str, tuple[MemoryType, int]] = {}
    for memory_id, memory_type, entity_id in mentions:
        d = distance[entity_id]
        if memory_id not in best or d < best[memory_id][1]:
            best[memory_id] = (MemoryType(memory_type), d)
    ranked = sorted(best.items(), key=lambda item: (item[1][1], item[0]))
    return [(mid, mtype, d) for mid, (mtype, d) in ranked[:limit]]


def relation_from_row(
    row: Sequence[Any],
    to_datetime: Callable[[Any], datetime | None],
    ns: Namespace = DEFAULT_NAMESPACE,
) -> Relation:
    """A Relation from a row of `RELATION_RETURN`, datetimes read with the backend's converter."""
    rid, user_id, sid, predicate, oid, fact, memory_id, valid_at, invalid_at, created_at = row
    rid, user_id, sid, oid, memory_id = (ns.strip(v) for v in (rid, user_id, sid, oid, memory_id))
    return Relation(
        id=rid,
        user_id=user_id or None,
        subject_id=sid,
        predicate=predicate or "",
        object_id=oid,
        fact=fact or "",
        memory_id=memory_id,
        valid_at=to_datetime(valid_at),
        invalid_at=to_datetime(invalid_at),
        created_at=to_datetime(created_at),
    )


def check_lease(key: str, owner: str, ttl_s: float | None = None) -> None:
    """Reject a lease request that no backend could honour, before anything is written."""
    for name, value in (("key", key), ("owner", owner)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"A lease {name} must be a non-empty string, not {value!r}.")
    if ttl_s is not None and (
        isinstance(ttl_s, bool)
        or not isinstance(ttl_s, int | float)
        or not math.isfinite(ttl_s)
        or ttl_s <= 0
    ):
        raise InvalidInputError(
            f"A lease's ttl_s must be a positive, finite number of seconds, not {ttl_s!r}."
        )


class ProcessLeases:
    """Leases of a graph that only this process can open (an embedded database holds a file
    lock): key -> (owner, expiry on the monotonic clock), a dict under a lock. A lease dies
    with the process that holds it. Erasure counts too: they need to outlive only the calls
    under way, which end with the process. Fencing tokens start from the wall clock (in
    microseconds) so that a later process's are larger than an earlier one's: entries and
    history events keep them, and repair compares tokens written by different runs
    (`octomem.orchestrator.doctor`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, float]] = {}
        self._erasures: dict[str, int] = {}
        self._erased_at: dict[str, int] = {}
        self._tokens: dict[str, int] = {}

    def erasures(self, key: str) -> int:
        with self._lock:
            return self._erasures.get(key, 0)

    def count_erasure(self, key: str, token: int = 0) -> int:
        with self._lock:
            self._erasures[key] = self._erasures.get(key, 0) + 1
            self._erased_at[key] = max(self._erased_at.get(key, 0), token)
            return self._erasures[key]

    def erased_at(self, key: str) -> int:
        with self._lock:
            return self._erased_at.get(key, 0)

    def acquire(self, key: str, owner: str, ttl_s: float) -> int:
        """The lease's fencing token if `owner` holds it afterwards (it grows each time the
        lease changes hands), else 0."""
        with self._lock:
            now = time.monotonic()
            holder = self._held.get(key)
            if holder is not None and holder[0] != owner and holder[1] > now:
                return 0
            if holder is None or holder[0] != owner:
                self._tokens[key] = max(self._tokens.get(key, 0) + 1, time.time_ns() // 1000)
            self._held[key] = (owner, now + ttl_s)
            return self._tokens[key]

    def holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        """Whether every (key, token) is still its lease's newest token."""
        with self._lock:
            return all(self._tokens.get(key) == token for key, token in tokens)

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            if (holder := self._held.get(key)) is not None and holder[0] == owner:
                del self._held[key]
