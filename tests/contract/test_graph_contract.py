"""One contract suite that every GraphStore backend passes: ladybug, the Neo4j backend on
the ArcadeDB Bolt server the tests start, and on a real Neo4j when OCTOMEM_NEO4J_URI is set
(see tests/contract/graph_backends.py). Leases have a suite of their own
(test_graph_concurrency_contract.py).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from octomem.errors import (
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)
from octomem.models import Entity, MemoryType
from octomem.stores.base import GraphStore, MemoryLink
from octomem.stores.ladybug import DB_FILE, LadybugGraphStore
from octomem.stores.neo4j import Neo4jGraphStore
from octomem.stores.neo4j_client import Neo4jClient
from tests.contract.graph_backends import Graph, mine, near
from tests.invariants import relations_of

HOSTILE = "x'\"`}) DETACH DELETE n //`; MATCH (m) DETACH DELETE m; \\ $u {id: 1}"
SEM = MemoryType.SEMANTIC


# --- contract ------------------------------------------------------------------------


async def test_implements_protocol_and_init_is_idempotent(graph: Graph) -> None:
    assert isinstance(graph.store, GraphStore)
    await graph.store.init()
    await graph.store.init()
    u = graph.user("a")
    await graph.store.upsert_entities([graph.entity("Alice", u)])
    await graph.store.init()
    assert [e.name for e in await graph.store.find_entities(u, ["alice"])] == ["Alice"]


async def test_entity_upsert_is_idempotent_and_updates(graph: Graph) -> None:
    u = graph.user("a")
    alice = graph.entity("Alice", u)
    await graph.store.upsert_entities([alice, alice])
    await graph.store.upsert_entities([alice])
    assert await graph.store.find_entities(u, ["Alice"]) == [alice]
    renamed = alice.model_copy(update={"name": "ALICE", "entity_type": "person"})
    await graph.store.upsert_entities([renamed])
    assert await graph.store.find_entities(u, ["alice"]) == [renamed]


async def test_relation_upsert_is_idempotent_and_replaces(graph: Graph) -> None:
    u = graph.user("a")
    a, b, c = (graph.entity(n, u) for n in ("A", "B", "C"))
    await graph.store.upsert_entities([a, b, c])
    r = graph.rel("r1", a, "knows", b, fact="A knows B", memory_id=graph.id("m1"))
    await graph.store.upsert_relations([r])
    await graph.store.upsert_relations([r, r])
    assert await relations_of(graph.store, u) == [r]
    moved = r.model_copy(update={"object_id": c.id, "fact": "A knows C"})
    await graph.store.upsert_relations([moved])
    assert await relations_of(graph.store, u) == [moved]


async def test_a_relation_upserted_with_other_ends_replaces_its_edge(graph: Graph) -> None:
    """Replaced by id wherever its edge was: its subject moved, then both its ends, then
    invalidated and forgotten where it is now."""
    u = graph.user("a")
    a, b, c, d = (graph.entity(n, u) for n in "ABCD")
    await graph.store.upsert_entities([a, b, c, d])
    r = graph.rel("r1", a, "knows", b, memory_id=graph.id("m1"))
    await graph.store.upsert_relations([r, graph.rel("r2", a, "knows", c)])
    subject = r.model_copy(update={"subject_id": c.id, "fact": "C knows B"})
    await graph.store.upsert_relations([subject])
    assert [x.id for x in await relations_of(graph.store, u, subject_id=a.id)] == [graph.id("r2")]
    assert await relations_of(graph.store, u, subject_id=c.id) == [subject]
    both = r.model_copy(update={"subject_id": d.id, "object_id": a.id})
    await graph.store.upsert_relations([both])
    assert [x.id for x in await relations_of(graph.store, u, subject_id=c.id)] == []
    assert await relations_of(graph.store, u, subject_id=d.id) == [both]
    when = datetime(2025, 1, 1, tzinfo=UTC)
    await graph.store.invalidate_relation(r.id, when)
    invalid = both.model_copy(update={"invalid_at": when})
    assert await relations_of(graph.store, u, subject_id=d.id, include_invalid=True) == [invalid]
    assert len(mine(graph, await graph.store.relations(u))) == 2
    assert (await graph.store.forget(u, [graph.id("m1")])).relations == 1
    assert [x.id for x in await graph.store.relations(u)] == [graph.id("r2")]
    with pytest.raises(NotFoundError):
        await graph.store.invalidate_relation(r.id, when)


async def test_relation_with_missing_entity_is_rejected_atomically(graph: Graph) -> None:
    u = graph.user("a")
    a, b = graph.entity("A", u), graph.entity("B", u)
    await graph.store.upsert_entities([a, b])
    ghost = graph.entity("Ghost", u)
    with pytest.raises(InvalidInputError):
        await graph.store.upsert_relations(
            [graph.rel("ok", a, "knows", b), graph.rel("bad", a, "knows", ghost)]
        )
    assert await graph.store.relations(u) == []


async def test_invalidate_keeps_edge(graph: Graph) -> None:
    u = graph.user("a")
    a, b = graph.entity("A", u), graph.entity("B", u)
    await graph.store.upsert_entities([a, b])
    r = graph.rel("r1", a, "lives_in", b, valid_at=datetime(2020, 1, 1, tzinfo=UTC))
    await graph.store.upsert_relations([r])
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    await graph.store.invalidate_relation(r.id, when)
    assert await relations_of(graph.store, u) == []
    [kept] = await graph.store.relations(u)
    assert kept.id == r.id and kept.invalid_at == when and not kept.is_current
    assert kept.valid_at == r.valid_at
    with pytest.raises(NotFoundError):
        await graph.store.invalidate_relation(graph.id("nope"), when)


async def test_relations_are_the_users_every_one_oldest_first(graph: Graph) -> None:
    u = graph.user("a")
    a, b, c = (graph.entity(n, u) for n in ("A", "B", "C"))
    await graph.store.upsert_entities([a, b, c])
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    r1 = graph.rel("r1", a, "knows", b, created_at=t0)
    r2 = graph.rel("r2", a, "likes", c, created_at=t0 + timedelta(seconds=1))
    r3 = graph.rel("r3", b, "knows", c, created_at=t0 + timedelta(seconds=2))
    await graph.store.upsert_relations([r3, r1, r2])
    await graph.store.invalidate_relation(r2.id, t0 + timedelta(days=1))
    got = await graph.store.relations(u)
    assert [r.id for r in got] == [r1.id, r2.id, r3.id]
    assert [r.invalid_at is not None for r in got] == [False, True, False]
    assert await graph.store.relations(graph.user("b")) == []


async def test_find_entities_case_insensitive_and_user_scoped(graph: Graph) -> None:
    u, v = graph.user("a"), graph.user("b")
    await graph.store.upsert_entities(
        [graph.entity("Ada Lovelace", u), graph.entity("Paris", u), graph.entity("Paris", v)]
    )
    found = await graph.store.find_entities(u, ["ada LOVELACE", "PARIS", "London"])
    assert sorted(e.name for e in found) == ["Ada Lovelace", "Paris"]
    assert all(e.user_id == u for e in found)
    assert await graph.store.find_entities(u, ["Ada"]) == []  # exact, not substring
    assert await graph.store.find_entities(u, []) == []
    assert [e.user_id for e in await graph.store.find_entities(v, ["paris"])] == [v]
    assert await graph.store.find_entities(graph.user("nobody"), ["paris"]) == []


async def test_link_memory_replaces_mentions(graph: Graph) -> None:
    u, v = graph.user("a"), graph.user("b")
    a, b, c = (graph.entity(n, u) for n in ("A", "B", "C"))
    other = graph.entity("A", v)
    await graph.store.upsert_entities([a, b, c, other])
    m = graph.id("m1")
    await graph.store.link_memories([MemoryLink(m, SEM, u, [a.id, b.id])])
    await graph.store.link_memories([MemoryLink(m, SEM, u, [a.id, b.id])])  # idempotent
    assert await near(graph.store, u, [a, b], hops=0) == [(m, SEM, 0)]
    await graph.store.link_memories(
        [MemoryLink(m, SEM, u, [b.id, c.id, graph.id("missing"), other.id])]
    )
    assert await near(graph.store, u, [a], hops=0) == []
    assert await near(graph.store, u, [c], hops=0) == [(m, SEM, 0)]
    assert await near(graph.store, v, [other], hops=0) == []
    await graph.store.link_memories([MemoryLink(m, MemoryType.KNOWLEDGE, u, [])])
    assert await near(graph.store, u, [b, c], hops=0) == []
    # one memory twice in a batch (added, then superseded in one process): the last wins
    await graph.store.link_memories([MemoryLink(m, SEM, u, [a.id]), MemoryLink(m, SEM, u, [c.id])])
    assert await near(graph.store, u, [a], hops=0) == []
    assert await near(graph.store, u, [c], hops=0) == [(m, SEM, 0)]


async def test_memories_for_names_distances(graph: Graph) -> None:
    u = graph.user("a")
    a, b, c, d = (graph.entity(n, u) for n in ("A", "B", "C", "D"))
    await graph.store.upsert_entities([a, b, c, d])
    # a -> b <- c -> d : traversal ignores edge direction.
    await graph.store.upsert_relations(
        [graph.rel("ab", a, "p", b), graph.rel("cb", c, "p", b), graph.rel("cd", c, "p", d)]
    )
    m = {n: graph.id(f"m{n}") for n in "abcdx"}
    links = [MemoryLink(m[n], SEM, u, [e.id]) for n, e in zip("abcd", (a, b, c, d), strict=True)]
    links.append(MemoryLink(m["x"], MemoryType.EPISODIC, u, [a.id, c.id]))  # min distance 0
    await graph.store.link_memories(links)  # several memories in one call
    await graph.store.link_memories([])

    assert await near(graph.store, u, [a], hops=0) == sorted(
        [(m["a"], SEM, 0), (m["x"], MemoryType.EPISODIC, 0)]
    )
    got = await near(graph.store, u, [a], hops=2)
    expected = [*sorted([(m["a"], SEM, 0), (m["x"], MemoryType.EPISODIC, 0)]), (m["b"], SEM, 1)]
    assert got == [*expected, (m["c"], SEM, 2)]
    assert await near(graph.store, u, [a], hops=1) == expected
    assert await near(graph.store, u, [a], hops=2, limit=3) == expected
    assert [x[2] for x in await near(graph.store, u, [a], hops=5)] == [
        0,
        0,
        1,
        2,
        3,
    ]
    assert await near(graph.store, u, [], hops=2) == []
    assert await graph.store.memories_for_names(u, ["a", "nobody"], hops=0) == (
        [a.id],
        sorted([(m["a"], SEM, 0), (m["x"], MemoryType.EPISODIC, 0)]),
    )


async def test_invalid_relations_are_not_traversed(graph: Graph) -> None:
    u = graph.user("a")
    a, b, c = (graph.entity(n, u) for n in ("A", "B", "C"))
    await graph.store.upsert_entities([a, b, c])
    await graph.store.upsert_relations([graph.rel("ab", a, "p", b), graph.rel("bc", b, "p", c)])
    await graph.store.link_memories([MemoryLink(graph.id("mc"), SEM, u, [c.id])])
    assert await near(graph.store, u, [a], hops=2) == [(graph.id("mc"), SEM, 2)]
    await graph.store.invalidate_relation(graph.id("bc"), datetime.now(UTC))
    assert await near(graph.store, u, [a], hops=2) == []
    # An edge upserted already invalid is not traversed either.
    await graph.store.upsert_relations(
        [graph.rel("ac", a, "p", c, invalid_at=datetime(2023, 1, 1, tzinfo=UTC))]
    )
    assert await near(graph.store, u, [a], hops=2) == []


async def test_user_isolation(graph: Graph) -> None:
    u, v = graph.user("a"), graph.user("b")
    ua, ub = graph.entity("A", u), graph.entity("B", u)
    va, vb = graph.entity("A", v), graph.entity("B", v)
    await graph.store.upsert_entities([ua, ub, va, vb])
    await graph.store.upsert_relations([graph.rel("u-ab", ua, "p", ub)])
    await graph.store.link_memories([MemoryLink(graph.id("mu"), SEM, u, [ub.id])])
    await graph.store.link_memories([MemoryLink(graph.id("mv"), SEM, v, [vb.id])])
    assert [r.id for r in await relations_of(graph.store, u)] == [graph.id("u-ab")]
    assert await relations_of(graph.store, v) == []
    assert await near(graph.store, u, [ua], hops=1) == [(graph.id("mu"), SEM, 1)]
    assert await near(graph.store, v, [va], hops=1) == []
    # Names find the user's own entities only, whatever links another user's have.
    assert await near(graph.store, v, [ua, ub], hops=2) == [(graph.id("mv"), SEM, 0)]
    assert await near(graph.store, u, [vb], hops=2) == [(graph.id("mu"), SEM, 0)]


async def test_user_none(graph: Graph) -> None:
    a, b = graph.entity("A", None), graph.entity("B", None)
    await graph.store.upsert_entities([a, b])
    r = graph.rel("r", a, "p", b)
    await graph.store.upsert_relations([r])
    await graph.store.link_memories([MemoryLink(graph.id("m"), SEM, None, [b.id])])
    assert mine(graph, await graph.store.find_entities(None, ["a", "b"])) == [a, b]
    assert mine(graph, await relations_of(graph.store, None)) == [r]
    found = await near(graph.store, None, [a])  # a shared server has other tests' None user
    assert [x for x in found if x[0].startswith(graph.prefix)] == [(graph.id("m"), SEM, 1)]
    assert await graph.store.find_entities(graph.user("a"), ["a"]) == []


async def test_delete_memory(graph: Graph) -> None:
    u = graph.user("a")
    a = graph.entity("A", u)
    await graph.store.upsert_entities([a])
    for name in ("m1", "m2"):
        await graph.store.link_memories([MemoryLink(graph.id(name), SEM, u, [a.id])])
    await graph.store.delete_memory(graph.id("m1"))
    await graph.store.delete_memory(graph.id("never-existed"))
    assert await near(graph.store, u, [a]) == [(graph.id("m2"), SEM, 0)]
    assert await graph.store.find_entities(u, ["a"]) == [a]  # entities stay


async def test_forget_of_memories_takes_their_edges_and_the_entities_left_alone(
    graph: Graph,
) -> None:
    """`forget(user, ids)` (an agent's scope): those memories, the relations they stated
    and the user's entities nothing links any more; the rest of the user stays, and another
    user's unlinked entity too."""
    u, v = graph.user("a"), graph.user("b")
    a, b, c, d = (graph.entity(n, u) for n in "ABCD")
    lone = graph.entity("A", v)
    await graph.store.upsert_entities([a, b, c, d, lone])
    gone = graph.rel("m1", a, "p", b, memory_id=graph.id("m1"))
    kept = graph.rel("m2", c, "p", d, memory_id=graph.id("m2"))
    await graph.store.upsert_relations([gone, kept])
    await graph.store.link_memories(
        [
            MemoryLink(graph.id("m1"), SEM, u, [a.id, b.id]),
            MemoryLink(graph.id("m2"), SEM, u, [c.id, d.id]),
            MemoryLink(graph.id("m3"), SEM, u, [b.id]),
        ]
    )
    forgotten = await graph.store.forget(u, [graph.id("m1")])
    assert (forgotten.memories, forgotten.relations, forgotten.entities) == (1, 1, 1)
    assert mine(graph, await relations_of(graph.store, u)) == [kept]
    assert mine(graph, await graph.store.find_entities(u, ["a", "b", "c", "d"])) == [b, c, d]
    assert mine(graph, await graph.store.find_entities(v, ["a"])) == [lone]
    assert await near(graph.store, u, [b]) == [(graph.id("m3"), SEM, 0)]


async def test_erasures_count_per_key_and_start_at_zero(graph: Graph) -> None:
    key, other = graph.id("scope"), graph.id("other")
    assert await graph.store.erasures(key) == 0
    assert await graph.store.count_erasure(key) == 1
    assert await graph.store.count_erasure(key) == 2
    assert await graph.store.erasures(key) == 2
    assert await graph.store.erasures(other) == 0
    await graph.store.acquire_lease(key, "holder", 3600)  # a lease on the key keeps its count
    await graph.store.release_lease(key, "holder")
    assert await graph.store.erasures(key) == 2
    with pytest.raises(InvalidInputError):
        await graph.store.erasures("")


async def test_an_erasure_keeps_the_largest_token_it_was_counted_with(graph: Graph) -> None:
    key, other = graph.id("erased"), graph.id("other")
    assert await graph.store.erased_at(key) == 0
    await graph.store.count_erasure(key)  # no token: none recorded
    assert await graph.store.erased_at(key) == 0
    await graph.store.count_erasure(key, 12)
    await graph.store.count_erasure(key, 5)  # an older forget completing late
    assert await graph.store.erased_at(key) == 12
    assert await graph.store.erasures(key) == 3
    assert await graph.store.erased_at(other) == 0
    with pytest.raises(InvalidInputError):
        await graph.store.erased_at("")


async def test_reset(graph: Graph) -> None:
    if not graph.may_reset:
        pytest.skip("reset() wipes all octomem nodes; set OCTOMEM_NEO4J_ALLOW_RESET=1 to run it")
    u = graph.user("a")
    a, b = graph.entity("A", u), graph.entity("B", u)
    await graph.store.upsert_entities([a, b])
    await graph.store.upsert_relations([graph.rel("r", a, "p", b)])
    await graph.store.link_memories([MemoryLink(graph.id("m"), SEM, u, [a.id])])
    lease = graph.id("lease")
    assert await graph.store.acquire_lease(lease, "holder", 3600)
    await graph.store.count_erasure(lease)
    await graph.store.reset()
    assert await graph.store.find_entities(u, ["a", "b"]) == []
    assert await graph.store.relations(u) == []
    assert await near(graph.store, u, [a]) == []
    assert await graph.store.memory_ids() == {}
    assert await graph.store.all_relations() == []
    assert not await graph.store.acquire_lease(lease, "other", 3600)  # leases survive reset
    assert await graph.store.erasures(lease) == 1  # and erasure counts
    await graph.store.reset()  # reset of an empty graph is fine
    await graph.store.upsert_entities([a])  # the schema survives
    assert await graph.store.find_entities(u, ["a"]) == [a]


async def test_datetimes_round_trip_as_utc(graph: Graph) -> None:
    u = graph.user("a")
    a, b = graph.entity("A", u), graph.entity("B", u)
    await graph.store.upsert_entities([a, b])
    plus2 = timezone(timedelta(hours=2))
    r = graph.rel(
        "r",
        a,
        "p",
        b,
        valid_at=datetime(2024, 3, 1, 12, 30, 15, 654321, tzinfo=plus2),
        created_at=datetime(2024, 3, 2, 8, 0),  # naive is taken as UTC
    )
    await graph.store.upsert_relations([r])
    await graph.store.invalidate_relation(r.id, datetime(2025, 1, 1, 1, 0, tzinfo=plus2))
    [got] = await graph.store.relations(u)
    for value in (got.valid_at, got.invalid_at, got.created_at):
        assert value is not None and value.utcoffset() == timedelta(0)
    assert got.valid_at == datetime(2024, 3, 1, 10, 30, 15, 654321, tzinfo=UTC)
    assert got.invalid_at == datetime(2024, 12, 31, 23, 0, tzinfo=UTC)
    assert got.created_at == datetime(2024, 3, 2, 8, 0, tzinfo=UTC)


async def test_hostile_strings_are_stored_verbatim(graph: Graph) -> None:
    u = graph.user(HOSTILE)
    canary = graph.entity("canary", u)
    evil = Entity(id=graph.id(HOSTILE), user_id=u, name=HOSTILE, entity_type=HOSTILE)
    await graph.store.upsert_entities([canary, evil])
    r = graph.rel(HOSTILE, evil, HOSTILE, canary, fact=HOSTILE, memory_id=HOSTILE)
    await graph.store.upsert_relations([r])
    await graph.store.link_memories(
        [MemoryLink(graph.id(f"m{HOSTILE}"), SEM, u, [evil.id, canary.id])]
    )
    assert await graph.store.find_entities(u, [HOSTILE.upper()]) == [evil]
    assert await graph.store.find_entities(u, ["canary"]) == [canary]
    assert await relations_of(graph.store, u, subject_id=evil.id, predicate=HOSTILE) == [r]
    assert await near(graph.store, u, [evil]) == [(graph.id(f"m{HOSTILE}"), SEM, 0)]
    await graph.store.invalidate_relation(r.id, datetime.now(UTC))
    await graph.store.delete_memory(HOSTILE)
    assert await graph.store.find_entities(u, ["canary", HOSTILE]) == sorted(
        [canary, evil], key=lambda e: (e.name.lower(), e.id)
    )


async def test_location_is_shared_by_stores_on_the_same_graph(graph: Graph) -> None:
    u = graph.user("a")
    other = graph.open_another()
    try:
        assert isinstance(graph.store.location, str) and graph.store.location
        assert other.location == graph.store.location
        await other.init()
        await other.upsert_entities([graph.entity("A", u)])
        assert [e.name for e in await graph.store.find_entities(u, ["a"])] == ["A"]
    finally:
        await other.close()


async def test_location_tells_graphs_apart(tmp_path: Path) -> None:
    assert LadybugGraphStore(tmp_path / "a").location != LadybugGraphStore(tmp_path / "b").location
    assert str(tmp_path / "a") in LadybugGraphStore(tmp_path / "a").location
    uri = "bolt://127.0.0.1:1"
    one = Neo4jGraphStore(Neo4jClient(uri, "u", "p"))
    two = Neo4jGraphStore(Neo4jClient(uri, "u", "p", database="other"))
    assert uri in one.location and "other" in two.location and one.location != two.location
    await one.close()
    await two.close()


async def test_memory_ids_sees_every_user(graph: Graph) -> None:
    u, v = graph.user("a"), graph.user("b")
    a, b = graph.entity("A", u), graph.entity("B", v)
    await graph.store.upsert_entities([a, b])
    m = {n: graph.id(n) for n in ("mu", "mv", "mnone", "unlinked")}
    await graph.store.link_memories(
        [
            MemoryLink(m["mu"], SEM, u, [a.id]),
            MemoryLink(m["mv"], MemoryType.EPISODIC, v, [b.id]),
            MemoryLink(m["mnone"], SEM, None, []),
            MemoryLink(m["unlinked"], SEM, u, []),
        ]
    )
    owners = {i: u for i, u in (await graph.store.memory_ids()).items() if i in m.values()}
    assert owners == {m["mu"]: u, m["mv"]: v, m["mnone"]: None, m["unlinked"]: u}
    await graph.store.delete_memory(m["mv"])
    ids = {i for i in await graph.store.memory_ids() if i.startswith(graph.prefix)}
    assert ids == set(m.values()) - {m["mv"]}


async def test_all_relations_of_every_user_invalidated_too_in_order(graph: Graph) -> None:
    u, v = graph.user("a"), graph.user("b")
    ua, ub, va, vb = (graph.entity(n, w) for w in (u, v) for n in ("A", "B"))
    na, nb = graph.entity("A", None), graph.entity("B", None)
    await graph.store.upsert_entities([ua, ub, va, vb, na, nb])
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rels = [
        graph.rel("r3", va, "knows", vb, created_at=t0 + timedelta(seconds=1), fact="v"),
        graph.rel("r1", ua, "knows", ub, created_at=t0, memory_id=graph.id("m1")),
        graph.rel("r2", ub, "likes", ua, created_at=t0 + timedelta(seconds=1)),  # tie: by id
        graph.rel("r0", na, "p", nb, created_at=t0 + timedelta(seconds=2)),
    ]
    await graph.store.upsert_relations(rels)
    when = datetime(2025, 6, 1, tzinfo=UTC)
    await graph.store.invalidate_relation(graph.id("r2"), when)
    expected = sorted(rels, key=lambda r: (r.created_at, r.id))
    expected = [
        r.model_copy(update={"invalid_at": when}) if r.id == graph.id("r2") else r for r in expected
    ]
    got = mine(graph, await graph.store.all_relations())
    assert got == expected
    assert [r.id for r in got] == [graph.id(n) for n in ("r1", "r2", "r3", "r0")]


# --- ladybug specifics ---------------------------------------------------------------


async def test_ladybug_same_path_twice_in_one_process_shares_the_database(tmp_path: Path) -> None:
    first, second = LadybugGraphStore(tmp_path), LadybugGraphStore(tmp_path)
    await first.init()
    await second.init()
    await first.upsert_entities([Entity(id="e1", user_id="u", name="Ada")])
    assert [e.id for e in await second.find_entities("u", ["ada"])] == ["e1"]
    await first.close()
    await first.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await first.find_entities("u", ["ada"])
    await second.upsert_entities([Entity(id="e2", user_id="u", name="Bob")])
    await second.close()
    reopened = LadybugGraphStore(tmp_path)
    assert len(await reopened.find_entities("u", ["ada", "bob"])) == 2
    await reopened.close()
    assert (tmp_path / DB_FILE).exists()


async def test_ladybug_compaction_serves_reads_and_keeps_writes_made_meanwhile(
    tmp_path: Path,
) -> None:
    """The rebuild's child process writes the new file while this process keeps reading the
    old one; a write made meanwhile waits for the new file instead of being lost."""
    import asyncio

    store = LadybugGraphStore(tmp_path / "g")
    await store.upsert_entities(
        [Entity(id=f"o{i}", user_id="u", name=f"Old {i}") for i in range(200)]
    )
    written: list[Entity] = []
    read_during = 0
    compacting = asyncio.ensure_future(store.compact())
    while not compacting.done():
        if await store.find_entities("u", ["Old 1"]):
            read_during += 1
        entity = Entity(id=f"n{len(written)}", user_id="u", name=f"New {len(written)}")
        await store.upsert_entities([entity])
        written.append(entity)
    assert await compacting
    assert written and read_during
    names = [e.name for e in written]
    assert sorted(e.name for e in await store.find_entities("u", names)) == sorted(names)
    assert len(await store.find_entities("u", [f"Old {i}" for i in range(200)])) == 200
    await store.close()


async def test_ladybug_locked_by_another_process(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, ladybug; db = ladybug.Database(sys.argv[1]); print('ready', flush=True);"
            " sys.stdin.read()",
            str(tmp_path / DB_FILE),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        store = LadybugGraphStore(tmp_path)
        with pytest.raises(StoreError, match="locked by another process"):
            await store.init()
        await store.close()
    finally:
        holder.communicate("", timeout=30)


# --- neo4j without a server ----------------------------------------------------------


async def test_neo4j_unreachable_server_raises_store_unavailable() -> None:
    """A server that cannot be reached is an error that may pass: retry later."""
    store = Neo4jGraphStore(Neo4jClient("bolt://127.0.0.1:1", "neo4j", "secret"))
    with pytest.raises(StoreUnavailableError, match=r"bolt://127\.0\.0\.1:1.*server is running"):
        await store.init()
    await store.close()


def test_neo4j_bad_uri_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="Invalid Neo4j URI"):
        Neo4jClient("nope://x", "neo4j", "secret")
