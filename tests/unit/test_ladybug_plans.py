"""The embedded graph's batch writes find the nodes they write or link by primary key,
never by reading whole node tables (MERGE, which LadybugDB plans as a scan of its table, is
left to the graph servers): LadybugDB plans two nodes of one MATCH clause found by
a row's fields (`UNWIND $rows AS row MATCH (a {id: row.x}), (b {id: row.y})`) as a cross
product of both tables, so that every batch of a message's facts read the whole graph, all
users' (a message of N facts cost N^2; 0.86 s a batch of 128 at 40k nodes against 3 ms).
Timings cannot be asserted: the plans are read (`EXPLAIN`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ladybug as lb
import pytest

from octomem.models import Entity, MemoryType
from octomem.stores import cypher_graph
from octomem.stores import ladybug as ladybug_store
from octomem.stores.base import MemoryLink
from octomem.stores.cypher_graph import drive
from octomem.stores.ladybug import LADYBUG, LadybugGraphStore
from octomem.stores.ladybug_rebuild import SCHEMA, rows

# an operator of a plan, as EXPLAIN draws it: "│   SCAN_NODE_TABLE[2]   │"
_OPERATOR = re.compile(r"│\s+([A-Z_]+)\[\d+\]")
_AT = datetime(2026, 1, 1, tzinfo=UTC)
# the batch writes of `CypherGraphStore` that find existing nodes by a row's ids, with one
# row of the parameters each is given (MERGE, in the upserts, is planned otherwise)
BATCHES: dict[str, tuple[str, dict[str, Any]]] = {
    "create_relations": (
        cypher_graph._create_relations(LADYBUG),
        {
            "rows": [
                {
                    "subject_id": "e1",
                    "object_id": "e2",
                    "id": "r1",
                    "user_id": "u",
                    "predicate": "knows",
                    "fact": "A knows B.",
                    "memory_id": "m1",
                    "valid_at": LADYBUG.to_db(_AT),
                    "invalid_at": None,
                    "created_at": LADYBUG.to_db(_AT),
                }
            ]
        },
    ),
    "link_memories": (
        cypher_graph._LINK_MEMORIES,
        {"rows": [{"mid": "m1", "eid": "e1", "u": "u"}]},
    ),
}


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("plans") / "graph.lbdb"
    db = lb.Database(str(path))
    connection = lb.Connection(db)
    for statement in SCHEMA:
        rows(connection, statement)
    yield connection
    connection.close()
    db.close()


def operators(conn: Any, statement: str, params: dict[str, Any]) -> list[str]:
    [[plan]] = rows(conn, "EXPLAIN " + statement, params)
    return _OPERATOR.findall(plan)


def test_the_rule_sees_a_scan_and_passes_a_lookup(conn: Any) -> None:
    together = (
        "UNWIND $rows AS row MATCH (m:Memory {id: row.a}), (e:Entity {id: row.b}) RETURN m.id"
    )
    apart = (
        "UNWIND $rows AS row MATCH (m:Memory {id: row.a}) MATCH (e:Entity {id: row.b}) RETURN m.id"
    )
    params = {"rows": [{"a": "m1", "b": "e1"}]}
    assert "SCAN_NODE_TABLE" in operators(conn, together, params)
    assert "SCAN_NODE_TABLE" not in operators(conn, apart, params)
    upsert, batch, _ = UPSERTS["Memory"]
    assert "SCAN_NODE_TABLE" in operators(conn, upsert.merge, {"rows": batch})


@pytest.mark.parametrize("name", BATCHES)
def test_a_batch_write_finds_its_nodes_by_key_not_by_reading_their_tables(
    conn: Any, name: str
) -> None:
    statement, params = BATCHES[name]
    found = operators(conn, statement, params)
    assert "SCAN_NODE_TABLE" not in found, f"{name}: {found}"
    assert found.count("QUERY_PRIMARY_KEY_LOOKUP") == 2, f"{name}: {found}"


UPSERTS = {
    "Entity": (
        cypher_graph._ENTITIES,
        [
            {"id": f"e{i}", "user_id": "u", "name": "A", "name_lc": "a", "entity_type": "x"}
            for i in range(3)
        ],
        "entity_type",
    ),
    "Memory": (
        cypher_graph._MEMORIES,
        [{"id": f"m{i}", "u": "u", "mtype": "semantic"} for i in range(3)],
        "memory_type",
    ),
}


@pytest.mark.parametrize("label", UPSERTS)
def test_an_upsert_finds_creates_and_updates_its_nodes_by_key(conn: Any, label: str) -> None:
    upsert, batch, field = UPSERTS[label]
    assert LADYBUG.upsert_by_key
    planned: list[list[str]] = []

    def execute(statement: Any, params: Any) -> list[Any]:
        planned.append(operators(conn, statement, params))
        return list(rows(conn, statement, dict(params)))

    first = drive(upsert.work(batch[:2], by_key=True), execute)
    renamed = [{**row, "entity_type": "y", "mtype": "episodic"} for row in batch]
    second = drive(upsert.work(renamed, by_key=True), execute)
    assert (first, second) == (set(), {batch[0]["id"], batch[1]["id"]})
    # found (twice), created (twice: two new, then one), updated (once)
    assert len(planned) == 5
    # nodes as they are already stored are found and left alone: no update logged
    assert drive(upsert.work(renamed, by_key=True), execute) == {row["id"] for row in batch}
    assert len(planned) == 6
    for found in planned:
        assert "SCAN_NODE_TABLE" not in found, found
    stored = rows(
        conn,
        f"MATCH (n:{label}) WHERE n.id IN $ids RETURN n.id, n.{field}",
        {"ids": [row["id"] for row in batch]},
    )
    assert sorted(map(tuple, stored)) == [
        (row["id"], "y" if label == "Entity" else "episodic") for row in batch
    ]


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Each statement the embedded store runs from now on, with its plan's operators."""
    runs: list[tuple[str, list[str]]] = []

    def recorded(conn: Any, statement: str, params: dict[str, Any] | None = None) -> Any:
        runs.append((statement, operators(conn, statement, params or {})))
        return rows(conn, statement, params)

    monkeypatch.setattr(ladybug_store, "_rows", recorded)
    return runs


async def _a_graph(tmp_path: Path) -> LadybugGraphStore:
    """Two users' entities and memories, each memory mentioning its user's entities: a
    table that is empty is planned otherwise (a scan of nothing)."""
    store = LadybugGraphStore(tmp_path / "graph")
    for user in ("alice", "bob"):
        await store.upsert_entities(
            [Entity(id=f"{user}-e{i}", user_id=user, name=f"E{i}") for i in range(3)]
        )
        await store.link_memories(
            [
                MemoryLink(f"{user}-m{i}", MemoryType.SEMANTIC, user, [f"{user}-e{i}"])
                for i in range(3)
            ]
        )
    return store


async def test_replacing_a_memorys_mentions_reads_no_node_table(
    tmp_path: Path, planned: list[tuple[str, list[str]]]
) -> None:
    """An update of a memory unlinks its mentions by its id, not by a join over every
    memory and mention of the graph (all users'): a statement per memory."""
    store = await _a_graph(tmp_path)
    try:
        planned.clear()
        await store.link_memories(
            [
                MemoryLink("alice-m0", MemoryType.SEMANTIC, "alice", ["alice-e1", "alice-e2"]),
                MemoryLink("alice-m1", MemoryType.EPISODIC, "alice", []),
                MemoryLink("alice-m9", MemoryType.SEMANTIC, "alice", ["alice-e0"]),
            ]
        )
        assert planned
        for statement, found in planned:
            assert "SCAN_NODE_TABLE" not in found, f"{statement}: {found}"
        _, near = await store.memories_for_names("alice", ["E0", "E1"], hops=0)
        assert sorted(mid for mid, _, _ in near) == ["alice-m0", "alice-m9"]
        assert (await store.memories_for_names("bob", ["E0", "E1"], hops=0))[1]
    finally:
        await store.close()


async def test_forgetting_given_memories_finds_them_by_key(
    tmp_path: Path, planned: list[tuple[str, list[str]]]
) -> None:
    """`forget(user, ids)` deletes those memories found by their ids, not by reading the
    Memory table; another user's memory of the same id list is not deleted."""
    store = await _a_graph(tmp_path)
    try:
        planned.clear()
        forgotten = await store.forget("alice", ["alice-m0", "alice-m2", "bob-m1"])
        assert forgotten.memories == 2
        deletes = [(s, found) for s, found in planned if ":Memory" in s]
        assert deletes
        for statement, found in deletes:
            assert "SCAN_NODE_TABLE" not in found, f"{statement}: {found}"
        assert await store.memory_ids() == {
            "alice-m1": "alice",
            **{f"bob-m{i}": "bob" for i in range(3)},
        }
    finally:
        await store.close()
