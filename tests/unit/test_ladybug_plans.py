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

from octomem.stores import cypher_graph
from octomem.stores.cypher_graph import drive
from octomem.stores.ladybug import LADYBUG
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
