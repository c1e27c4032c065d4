"""The graph expansion of recall (`GraphStore.memories_for_names`): the memories that
mention some entities, or entities up to a few live relations away, each at its nearest
distance. On a server one statement (`expansion`: one round trip); in process a
statement per hop (`stepwise`: cheaper there). Both in the Cypher that LadybugDB, Neo4j 5
and ArcadeDB's Bolt plugin accept.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Any, LiteralString

from octomem.models import MemoryType
from octomem.stores.graph_common import Namespace

Near = list[tuple[str, MemoryType, int]]  # (memory id, type, distance), nearest first

# one hop of `stepwise`: the live neighbours of the entities `$ids`
_NEIGHBOURS: LiteralString = (
    "MATCH (a:Entity)-[r:RELATES]-(b:Entity) "
    "WHERE a.id IN $ids AND a.user_id = $u AND b.user_id = $u "
    "AND r.user_id = $u AND r.invalid_at IS NULL RETURN DISTINCT b.id AS id"
)
_MENTIONED_BY: LiteralString = (
    "MATCH (m:Memory)-[:MENTIONS]->(e:Entity) "
    "WHERE e.id IN $ids AND e.user_id = $u AND m.user_id = $u "
    "RETURN m.id AS mid, m.memory_type AS mtype, e.id AS eid"
)
# the entities `e` an expansion (`expansion`) starts from: the user's of these names
_SEEDS: LiteralString = "MATCH (e:Entity) WHERE e.user_id = $u AND e.name_lc IN $names "
# the entities found at each distance, and the distances: up to 3 hops (`graph_hops`)
_LEVELS: tuple[LiteralString, ...] = ("l0", "l1", "l2", "l3")
_DISTANCES: tuple[LiteralString, ...] = ("0", "1", "2", "3")


def expansion(hops: int) -> LiteralString:
    """One statement (one round trip to a server): the memories that mention the seed
    entities (`_SEEDS`, distance 0) or entities up to `hops` live relations away, each at
    its nearest distance, nearest first, with the seeds' ids in every row. Breadth-first,
    a clause a hop, each finding the neighbours of the level before that no level holds yet
    (the hop count cannot be a Cypher parameter; lists are not indexed: ladybug counts from
    1). Entities are looked up by id one at a time (`UNWIND`): ArcadeDB reads every entity
    and mention for `e.id IN list` there."""
    levels = _LEVELS[: min(max(hops, 0), len(_LEVELS) - 1) + 1]
    query = _SEEDS + "WITH collect(DISTINCT e.id) AS l0 "
    for k in range(1, len(levels)):
        before = ", ".join(levels[:k])
        query += (
            # an empty level still gives one row (of nothing found) to the next hop
            "UNWIND CASE WHEN size("
            + levels[k - 1]
            + ") = 0 THEN [null] ELSE "
            + levels[k - 1]
            + " END AS aid "
            "OPTIONAL MATCH (a:Entity {id: aid})-[r:RELATES]-(b:Entity) "
            "WHERE a.user_id = $u AND b.user_id = $u AND r.user_id = $u "
            "AND r.invalid_at IS NULL"
            + "".join(" AND NOT b.id IN " + level for level in levels[:k])
            + " WITH "
            + before
            + ", collect(DISTINCT b.id) AS "
            + levels[k]
            + " "
        )
    distance = "".join(
        "WHEN e.id IN " + level + " THEN " + d + " "
        for level, d in zip(levels, _DISTANCES, strict=False)
    )
    return query + (
        "WITH " + ", ".join(levels) + ", " + " + ".join(levels) + " AS found "
        "UNWIND found AS fid MATCH (m:Memory)-[:MENTIONS]->(e:Entity {id: fid}) "
        "WHERE e.user_id = $u AND m.user_id = $u "
        "WITH l0 AS seeds, m.id AS mid, m.memory_type AS mtype, "
        "min(CASE " + distance + "END) AS dist "
        "RETURN seeds, mid, mtype, dist ORDER BY dist, mid LIMIT $limit"
    )


def stepwise(
    ns: Namespace, start: list[str], hops: int, limit: int, user_id: str | None
) -> Generator[tuple[LiteralString, Mapping[str, Any]], list[Sequence[Any]], Near]:
    """`expansion` as a unit of work (`cypher_graph.Work`) of a statement per hop."""
    uid = ns.user(user_id)
    distance = dict.fromkeys(start, 0)
    frontier = list(distance)
    for hop in range(1, max(hops, 0) + 1):
        found = yield _NEIGHBOURS, {"ids": frontier, "u": uid}
        frontier = [row[0] for row in found if row[0] not in distance]
        if not frontier:
            break
        distance.update(dict.fromkeys(frontier, hop))
    found = yield _MENTIONED_BY, {"ids": list(distance), "u": uid}
    # each memory at the distance of its nearest mentioned entity, nearest first
    best: dict[str, tuple[MemoryType, int]] = {}
    for mid, mtype, eid in found:
        if mid not in best or distance[eid] < best[mid][1]:
            best[mid] = (MemoryType(mtype), distance[eid])
    ranked = sorted(best.items(), key=lambda item: (item[1][1], item[0]))
    return [(ns.strip(mid), mtype, d) for mid, (mtype, d) in ranked[:limit]]
