"""Deferred graph writes sent as one statement (`octomem.stores.neo4j_batch`): each in a
subquery of its own, its parameters renamed apart, behind the writer's fence."""

from __future__ import annotations

import pytest

from octomem.stores.neo4j_batch import Answered, combined


def test_statements_become_subqueries_with_parameters_of_their_own() -> None:
    statement = combined(
        [
            [("MERGE (a:A {id: $id}) SET a.v = $v", {"id": 1, "v": 2})],
            [("CREATE (:B {id: $id})", {"id": 3})],
        ],
        [("lease-a", 7)],
    )
    query, params = statement.query, statement.params
    assert query.startswith("UNWIND $fences AS f MATCH (l:OctomemLease {key: f.key})")
    assert (
        "CALL { MERGE (a:A {id: $s0_id}) SET a.v = $s0_v } CALL { CREATE (:B {id: $s1_id}) }"
        in query
    )
    assert query.endswith("RETURN held")
    assert params == {
        "fences": [{"key": "lease-a", "token": 7}],
        "held": 1,
        "s0_id": 1,
        "s0_v": 2,
        "s1_id": 3,
    }


def test_without_a_fence_the_statements_run_ungated() -> None:
    statement = combined([[("CREATE (:B {id: $id})", {"id": 3})]], [])
    query, params = statement.query, statement.params
    assert query == "WITH 1 AS held CALL { CREATE (:B {id: $s0_id}) } RETURN held"
    assert params == {"s0_id": 3}


def test_an_answered_statement_returns_its_one_row_under_a_name_of_its_own() -> None:
    told: list[object] = []
    made = "UNWIND $rows AS row CREATE (:R {id: row}) RETURN collect(row) AS made"
    answered = [Answered([("DELETE_Q $ids", {"ids": [1]}), (made, {"rows": [1]})], told.append)]
    statement = combined([*answered, [("CREATE (:B)", {})], *answered], [])
    assert statement.query == (
        "WITH 1 AS held CALL { DELETE_Q $s0_ids } "
        "CALL { CALL { UNWIND $s1_rows AS row CREATE (:R {id: row}) RETURN collect(row) AS made }"
        " RETURN collect([made]) AS s1_made } "
        "CALL { CREATE (:B) } CALL { DELETE_Q $s3_ids } "
        "CALL { CALL { UNWIND $s4_rows AS row CREATE (:R {id: row}) RETURN collect(row) AS made }"
        " RETURN collect([made]) AS s4_made } "
        "RETURN held, s1_made, s4_made"
    )
    assert statement.told == [told.append, told.append]


def test_an_answered_statement_must_name_its_column() -> None:
    with pytest.raises(ValueError, match="names no column"):
        combined([Answered([("CREATE (:B) RETURN count(*)", {})], print)], [])


def test_a_leading_statement_opens_the_statement_before_the_gate_and_only_the_first() -> None:
    """ArcadeDB plans an edge match by an indexed property with its index only as a
    statement's first clause: the first answered statement that may lead goes there."""
    told: list[object] = []

    def relations(ids: str) -> Answered:
        delete = ("MATCH ()-[r:R]->() WHERE r.id IN $ids DELETE r", {"ids": ids})
        create = ("UNWIND $rows AS row CREATE (:R {id: row}) RETURN row AS id", {"rows": ids})
        return Answered([delete, create], told.append, leads=True)

    statement = combined([[("CREATE (:B)", {})], relations("a"), relations("b")], [("k", 1)])
    assert statement.query.startswith(
        "MATCH ()-[r:R]->() WHERE r.id IN $s1_ids DELETE r WITH count(*) AS s1_led "
        "UNWIND $fences AS f"
    )
    # the second waits its turn, in a subquery: before it, the first created its rows
    assert statement.query.index("CALL { CREATE (:B) }") < statement.query.index("$s2_rows")
    assert statement.query.index("$s2_rows") < statement.query.index(
        "CALL { MATCH ()-[r:R]->() WHERE r.id IN $s3_ids DELETE r }"
    )
    assert statement.params["s1_ids"] == "a" and statement.params["s3_ids"] == "b"
    assert statement.query.endswith("RETURN held, s2_id, s4_id")
