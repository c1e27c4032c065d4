"""Leases and concurrent writers: the contract every GraphStore backend passes (see
graph_backends.py for which).

A lease is what a cross-process scope lock is built on, so besides the single-caller
rules these tests race many owners at once - on one store and on two stores (two drivers)
of the same graph - and require exactly one winner every time. Writers of the same nodes
through two stores must all succeed, as on a graph that several processes share. Nothing
here asserts on timing: expiry is awaited by polling, with a generous bound that only
stops a hung test.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from octomem.errors import InvalidInputError
from octomem.models import MemoryType
from octomem.stores import fence, gather
from octomem.stores.base import GraphStore, MemoryLink
from octomem.stores.fence import Fence, LeaseLostError
from octomem.stores.neo4j_batch import Answered
from tests.contract.graph_backends import Graph, near

HOUR = 3600.0
ROUNDS = 20
OWNERS = 16
EXPIRY_BOUND_S = 30.0  # a lease of a few milliseconds is long gone by then


async def eventually_acquired(store: GraphStore, key: str, owner: str, ttl_s: float) -> None:
    """Poll until `owner` gets the lease (it must, once the holder's short lease is over)."""
    deadline = time.monotonic() + EXPIRY_BOUND_S
    while not await store.acquire_lease(key, owner, ttl_s):
        assert time.monotonic() < deadline, f"{owner} never got the expired lease {key}"
        await asyncio.sleep(0.01)


async def test_acquire_extend_release(graph: Graph) -> None:
    key = graph.id("lease")
    assert await graph.store.acquire_lease(key, "alice", HOUR)
    assert await graph.store.acquire_lease(key, "alice", HOUR)  # the holder again: extended
    await graph.store.release_lease(key, "alice")
    assert await graph.store.acquire_lease(key, "bob", HOUR)  # released: free for anyone
    await graph.store.release_lease(key, "bob")
    await graph.store.release_lease(key, "bob")  # releasing twice is fine
    await graph.store.release_lease(graph.id("never-taken"), "bob")


async def test_held_lease_refuses_other_owners(graph: Graph) -> None:
    key, other_key = graph.id("lease"), graph.id("other")
    assert await graph.store.acquire_lease(key, "alice", HOUR)
    assert not await graph.store.acquire_lease(key, "bob", HOUR)
    assert not await graph.store.acquire_lease(key, "bob", 0.001)
    assert await graph.store.acquire_lease(other_key, "bob", HOUR)  # keys are independent
    assert not await graph.store.acquire_lease(other_key, "alice", HOUR)
    assert await graph.store.acquire_lease(key, "alice", HOUR)  # still alice's


async def test_release_by_another_owner_does_nothing(graph: Graph) -> None:
    key = graph.id("lease")
    assert await graph.store.acquire_lease(key, "alice", HOUR)
    await graph.store.release_lease(key, "bob")
    assert not await graph.store.acquire_lease(key, "bob", HOUR)
    await graph.store.release_lease(key, "alice")
    assert await graph.store.acquire_lease(key, "bob", HOUR)


async def test_expired_lease_is_taken_over(graph: Graph) -> None:
    key = graph.id("lease")
    assert await graph.store.acquire_lease(key, "alice", 0.005)
    await eventually_acquired(graph.store, key, "bob", HOUR)
    assert not await graph.store.acquire_lease(key, "alice", HOUR)  # bob's now
    await graph.store.release_lease(key, "alice")  # alice's lease is over: no effect
    assert not await graph.store.acquire_lease(key, "alice", HOUR)


async def test_extension_outlives_the_first_ttl(graph: Graph) -> None:
    key = graph.id("lease")
    assert await graph.store.acquire_lease(key, "alice", 0.001)
    # Whether or not the first millisecond is over, alice holds it for an hour now.
    assert await graph.store.acquire_lease(key, "alice", HOUR)
    assert not await graph.store.acquire_lease(key, "bob", HOUR)


async def test_fencing_token_grows_when_the_lease_changes_hands(graph: Graph) -> None:
    key = graph.id("fenced")
    stored = graph.store.lease_key(key)
    first = await graph.store.acquire_lease(key, "alice", 0.005)
    assert first > 0
    assert await graph.store.fence_holds([(stored, first)])
    await eventually_acquired(graph.store, key, "bob", HOUR)  # alice stalled past her lease
    second = await graph.store.acquire_lease(key, "bob", HOUR)  # bob extends: same token
    assert second > first
    assert not await graph.store.fence_holds([(stored, first)])  # alice is fenced off
    assert await graph.store.fence_holds([(stored, second)])
    await graph.store.release_lease(key, "bob")
    third = await graph.store.acquire_lease(key, "bob", HOUR)  # released and taken again
    assert third > second
    assert not await graph.store.fence_holds(
        [(stored, second), (graph.store.lease_key(graph.id("x")), 1)]
    )


async def test_a_write_under_a_lost_lease_is_refused(graph: Graph) -> None:
    """What a writer that stalled past its lease gets: its graph write fails whole, and the
    newer holder's writes stand (the embedded graph has one process, which never stalls
    apart from itself: it checks the token on writes from stores that cannot, `verify`)."""
    key = graph.id("fenced-write")
    stored = graph.store.lease_key(key)
    old = await graph.store.acquire_lease(key, "alice", 0.005)
    await eventually_acquired(graph.store, key, "bob", HOUR)
    new = await graph.store.acquire_lease(key, "bob", HOUR)
    alice = Fence(((stored, old),), graph.store.fence_holds)
    with pytest.raises(LeaseLostError):
        await fence.verify(alice)
    await fence.verify(Fence(((stored, new),), graph.store.fence_holds))  # bob's token holds
    if graph.server is not None:  # a server checks inside the write's own transaction
        entity = graph.entity("Fenced", graph.user("u"))
        with pytest.raises(LeaseLostError):
            await graph.store.upsert_entities([entity], fence=alice)
        assert await graph.store.find_entities(graph.user("u"), ["Fenced"]) == []


async def _alices(graph: Graph, key: str) -> Fence:
    """The fence of the lease `key`, taken by "alice" for an hour."""
    token = await graph.store.acquire_lease(key, "alice", HOUR)
    return Fence(((graph.store.lease_key(key), token),), graph.store.fence_holds)


async def test_a_gathered_write_with_a_relation_to_a_missing_entity_stores_nothing(
    graph: Graph,
) -> None:
    """A writer's gathered graph writes go to a server as one statement (`neo4j_batch`):
    a relation whose entity does not exist still fails the whole write, the entities and
    links gathered with it included."""
    if graph.server is None:
        pytest.skip("an embedded graph gathers nothing: each write is a transaction of its own")
    key = graph.id("gathered")
    held = await _alices(graph, key)
    u = graph.user("u")
    a, b, ghost = graph.entity("A", u), graph.entity("B", u), graph.entity("Ghost", u)
    memory = graph.id("m1")
    with pytest.raises(InvalidInputError, match="do not exist"):
        async with gather.gathered(held):
            await graph.store.upsert_entities([a, b], fence=held)
            await graph.store.upsert_relations(
                [graph.rel("ok", a, "knows", b), graph.rel("bad", a, "knows", ghost)], fence=held
            )
            await graph.store.link_memories(
                [MemoryLink(memory, MemoryType.SEMANTIC, u, [a.id])], fence=held
            )
    assert await graph.store.find_entities(u, ["A", "B"]) == []
    assert await graph.store.relations(u) == []
    assert memory not in await graph.store.memory_ids()
    await graph.store.release_lease(key, "alice")


async def test_an_erasure_counted_after_the_lease_expired_is_read(graph: Graph) -> None:
    """A store whose process held a lease reads the erasure count anew once that lease is
    over: another process may have taken it and erased the scope meanwhile, so a call that
    begins after that forget is not refused as if the forget came during it."""
    key = graph.id("erased-meanwhile")
    assert await graph.store.erasures(key) == 0
    assert await graph.store.acquire_lease(key, "stalled", 0.005)
    other = graph.open_another()
    await other.init()
    try:
        await eventually_acquired(other, key, "forgetter", HOUR)
        token = await other.acquire_lease(key, "forgetter", HOUR)
        stored = other.lease_key(key)
        held = Fence(((stored, token),), other.fence_holds)
        assert await other.count_erasure(key, token, fence=held) == 1
        await other.release_lease(key, "forgetter")
    finally:
        await other.close()
    assert await graph.store.erasures(key) == 1


@pytest.mark.parametrize(
    ("key", "owner", "ttl_s"),
    [("", "alice", 1.0), ("k", "", 1.0), ("k", " ", 1.0), ("k", "alice", 0.0)]
    + [("k", "alice", -1.0), ("k", "alice", float("nan")), ("k", "alice", float("inf"))],
)
async def test_bad_lease_input_is_rejected(
    graph: Graph, key: str, owner: str, ttl_s: float
) -> None:
    with pytest.raises(InvalidInputError):
        await graph.store.acquire_lease(key and graph.id(key), owner, ttl_s)
    if ttl_s == 1.0:
        with pytest.raises(InvalidInputError):
            await graph.store.release_lease(key and graph.id(key), owner)


async def race(stores: list[GraphStore], key: str, tag: str) -> list[str]:
    """OWNERS owners ask for `key` at once, spread over `stores`: the owners that got it."""
    owners = [f"{tag}-{i}" for i in range(OWNERS)]
    got = await asyncio.gather(
        *(stores[i % len(stores)].acquire_lease(key, o, HOUR) for i, o in enumerate(owners))
    )
    return [o for o, ok in zip(owners, got, strict=True) if ok]


async def check_races(g: Graph, stores: list[GraphStore]) -> None:
    for n in range(ROUNDS):
        # A key nobody has asked for yet: the owners race to create the lease ...
        key = g.id(f"race-{n}")
        [winner] = await race(stores, key, f"new{n}")
        assert not await stores[-1].acquire_lease(key, "latecomer", HOUR)
        # ... and, once it is released, to take the existing one.
        await stores[0].release_lease(key, winner)
        [again] = await race(stores, key, f"old{n}")
        assert await stores[0].acquire_lease(key, again, HOUR)


async def test_concurrent_acquirers_exactly_one_wins(graph: Graph) -> None:
    await check_races(graph, [graph.store])


async def test_concurrent_acquirers_on_two_stores_exactly_one_wins(graph: Graph) -> None:
    other = graph.open_another()  # its own driver (or, embedded, the same database file)
    await other.init()
    try:
        await check_races(graph, [graph.store, other])
    finally:
        await other.close()


async def test_concurrent_takeover_of_an_expired_lease_exactly_one_wins(graph: Graph) -> None:
    for n in range(ROUNDS // 4):
        key = graph.id(f"expiring-{n}")
        assert await graph.store.acquire_lease(key, "short", 0.005)
        deadline = time.monotonic() + EXPIRY_BOUND_S
        # No winner while the short lease lasts; once it is over, exactly one.
        while not (winners := await race([graph.store], key, f"exp{n}")):
            assert time.monotonic() < deadline, f"nobody ever took the expired lease {key}"
            await asyncio.sleep(0.01)
        assert len(winners) == 1


async def test_concurrent_writers_of_the_same_nodes_all_succeed(graph: Graph) -> None:
    """Idempotent writes of the same entities and memories, at once through two stores: on
    a server that detects conflicts at commit (ArcadeDB), the losers are retried."""
    other = graph.open_another()
    await other.init()
    stores = [graph.store, other]
    u = graph.user("a")
    try:
        for n in range(ROUNDS // 2):
            entities = [graph.entity(f"E{n}-{i}", u) for i in range(4)]
            ids = [e.id for e in entities]
            link = MemoryLink(graph.id(f"m{n}"), MemoryType.SEMANTIC, u, ids)
            await asyncio.gather(*(stores[i % 2].upsert_entities(entities) for i in range(8)))
            await asyncio.gather(*(stores[i % 2].link_memories([link]) for i in range(8)))
            names = [e.name for e in entities]
            assert sorted(await graph.store.find_entities(u, names), key=lambda e: e.id) == sorted(
                entities, key=lambda e: e.id
            )
            assert await near(other, u, entities, hops=0) == [
                (link.memory_id, MemoryType.SEMANTIC, 0)
            ]
    finally:
        await other.close()


async def test_gathered_relations_all_missing_replaced_or_bad_after_good(graph: Graph) -> None:
    """Every relation of a gathered upsert missing (an empty collect);
    two upserts of relations in one gathering, the second replacing the first by id; and
    a second upsert that names a missing entity after a good one."""
    if graph.server is None:
        pytest.skip("an embedded graph gathers nothing")
    key = graph.id("gathered-more")
    held = await _alices(graph, key)
    u = graph.user("u")
    a, b, ghost = graph.entity("A", u), graph.entity("B", u), graph.entity("Ghost", u)
    # 1. all missing: InvalidInputError, not a lost lease
    with pytest.raises(InvalidInputError, match="do not exist"):
        async with gather.gathered(held):
            await graph.store.upsert_entities([a, b], fence=held)
            await graph.store.upsert_relations([graph.rel("bad", a, "knows", ghost)], fence=held)
    assert await graph.store.find_entities(u, ["A", "B"]) == []
    # 2. two upserts of the same relation id in one gathering, then a second gathering
    async with gather.gathered(held):
        await graph.store.upsert_entities([a, b], fence=held)
        await graph.store.upsert_relations([graph.rel("ok", a, "knows", b)], fence=held)
        await graph.store.upsert_relations([graph.rel("ok", a, "likes", b)], fence=held)
    rels = await graph.store.relations(u)
    assert [r.predicate for r in rels] == ["likes"], rels  # the second replaced the first
    async with gather.gathered(held):
        await graph.store.upsert_relations([graph.rel("ok", a, "loves", b)], fence=held)
    rels = await graph.store.relations(u)
    assert [r.predicate for r in rels] == ["loves"], rels
    # 3. a good upsert then a bad one in one gathering: nothing of either
    with pytest.raises(InvalidInputError, match="do not exist"):
        async with gather.gathered(held):
            await graph.store.upsert_relations([graph.rel("ok2", a, "knows", b)], fence=held)
            await graph.store.upsert_relations([graph.rel("bad2", b, "knows", ghost)], fence=held)
    rels = await graph.store.relations(u)
    assert [r.predicate for r in rels] == ["loves"], rels
    await graph.store.release_lease(key, "alice")


@pytest.mark.parametrize("found", [0, 2], ids=["no-row", "two-rows"])
async def test_an_answered_statement_of_any_row_count_runs_the_others_once(
    graph: Graph, found: int
) -> None:
    """An `Answered` statement is told its statement's rows, however many it
    answers; the other writes sent with it run once, and none answered is no lost lease."""
    if graph.server is None:
        pytest.skip("an embedded graph gathers nothing")
    client = graph.store._db  # type: ignore[attr-defined]
    key = graph.id(f"answered-{found}")
    held = await _alices(graph, key)
    ids = [graph.id(f"n{i}-{found}") for i in range(found)]
    mark = graph.id(f"mark-{found}")
    told: list[object] = []
    rows = "UNWIND $ids AS i CREATE (:Entity {id: i}) RETURN i AS made"
    async with gather.gathered(held):
        await client.deferred("t", Answered([(rows, {"ids": ids})], told.append), fence=held)
        await client.deferred("t", [("CREATE (:Entity {id: $id})", {"id": mark})], fence=held)
    assert told == [[[i] for i in ids]]
    marks = await client.query("count", "MATCH (e:Entity {id: $id}) RETURN count(e) AS n", id=mark)
    assert marks[0]["n"] == 1
    await graph.store.release_lease(key, "alice")
