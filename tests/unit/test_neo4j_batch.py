"""Deferred graph writes sent as one statement (`octomem.stores.neo4j_batch`): each in a
subquery of its own, its parameters renamed apart, behind the writer's fence."""

from __future__ import annotations

from octomem.stores.neo4j_batch import combined, grouped


def test_statements_become_subqueries_with_parameters_of_their_own() -> None:
    query, params = combined(
        [
            ("MERGE (a:A {id: $id}) SET a.v = $v", {"id": 1, "v": 2}),
            ("CREATE (:B {id: $id})", {"id": 3}),
        ],
        [("lease-a", 7)],
    )
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
    query, params = combined([("CREATE (:B {id: $id})", {"id": 3})], [])
    assert query == "WITH 1 AS held CALL { CREATE (:B {id: $s0_id}) } RETURN held"
    assert params == {"s0_id": 3}


def test_consecutive_statement_lists_are_grouped_and_units_of_work_kept_in_order() -> None:
    async def work(tx: object) -> None:
        return None

    one, two, three = ("Q1", {}), ("Q2", {}), ("Q3", {})
    works = [("a", [one]), ("b", [two]), ("c", work), ("d", [three])]
    assert list(grouped(works)) == [[one, two], work, [three]]
