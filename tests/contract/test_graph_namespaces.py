"""Projects on one graph server: Neo4j stores of several namespaces (`namespace=`, the
project) on the same database, holding the same ids and the same user, never see or touch
each other's nodes, leases or erasure counts - reset included. Ladybug needs none: every
project has a graph directory of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from octomem.errors import InvalidInputError
from octomem.models import MemoryType
from octomem.stores.base import MemoryLink
from octomem.stores.graph_common import SEPARATOR
from octomem.stores.neo4j import Neo4jGraphStore
from octomem.stores.neo4j_client import Neo4jClient
from tests.contract.graph_backends import BACKENDS, Graph, near, open_graph
from tests.invariants import relations_of

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
SERVERS = [b for b in BACKENDS if b != "ladybug"]


@pytest.fixture(params=SERVERS)
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Graph, dict[str, Neo4jGraphStore]]]:
    """Stores of the default namespace (`Graph.store`; the Graph deletes the test's nodes at
    the end, and the other namespaces start with its prefix) and of "a" and "b", on one
    server."""
    async with open_graph(request.param, request, tmp_path) as g:
        assert isinstance(g.store, Neo4jGraphStore) and g.server is not None
        uri, user, password, database = g.server
        opened = {"default": g.store}
        try:
            for name in ("a", "b"):
                namespace = f"{g.prefix}{name}"
                client = Neo4jClient(uri, user, password, database=database)
                opened[name] = Neo4jGraphStore(client, namespace=namespace)
                await opened[name].init()
            yield g, opened
        finally:
            for name in ("a", "b"):
                if name in opened:
                    await opened[name].close()


async def _fill(g: Graph, store: Neo4jGraphStore, fact: str) -> None:
    """The same ids and user in every namespace; `fact` tells them apart."""
    user = g.user("alice")
    alice, paris = g.entity("Alice", user), g.entity("Paris", user)
    await store.upsert_entities([alice, paris])
    relation = g.rel(
        "lives", alice, "LIVES_IN", paris, fact=fact, memory_id=g.id("kg_1"), created_at=WHEN
    )
    await store.upsert_relations([relation])
    await store.link_memories(
        [MemoryLink(g.id("kg_1"), MemoryType.KNOWLEDGE, user, [alice.id, paris.id])]
    )


async def _view(g: Graph, store: Neo4jGraphStore) -> tuple[object, ...]:
    user = g.user("alice")
    entities = await store.find_entities(user, ["Alice", "Paris"])
    relations = await store.relations(user)
    linked = await near(store, user, entities)
    nodes = {i: u for i, u in (await store.memory_ids()).items() if i.startswith(g.prefix)}
    every = [r for r in await store.all_relations() if r.id.startswith(g.prefix)]
    owners = await store.entity_owners([e.id for e in entities])
    return entities, relations, linked, nodes, every, owners


def _facts(view: tuple[object, ...]) -> list[str]:
    relations = view[1]
    assert isinstance(relations, list)
    return [r.fact for r in relations]


async def test_namespaces_hold_the_same_ids_apart(
    stores: tuple[Graph, dict[str, Neo4jGraphStore]],
) -> None:
    g, spaces = stores
    for name, store in spaces.items():
        await _fill(g, store, fact=f"fact of {name}")
    views = {name: await _view(g, store) for name, store in spaces.items()}
    for name, view in views.items():
        entities, _, linked, nodes, every, owners = view
        assert isinstance(entities, list) and isinstance(nodes, dict)
        assert isinstance(every, list) and isinstance(owners, dict)
        names = ("Alice", "Paris")
        assert [e.id for e in entities] == [g.id(f"{g.user('alice')}:{n}") for n in names]
        assert _facts(view) == [f"fact of {name}"]
        assert linked == [(g.id("kg_1"), MemoryType.KNOWLEDGE, 0)]
        assert nodes == {g.id("kg_1"): g.user("alice")}
        assert [r.fact for r in every] == [f"fact of {name}"]
        assert set(owners.values()) == {g.user("alice")}
        for value in (*nodes, *nodes.values()):
            assert SEPARATOR not in value


async def test_forget_and_reset_stay_in_their_namespace(
    stores: tuple[Graph, dict[str, Neo4jGraphStore]],
) -> None:
    g, spaces = stores
    for name, store in spaces.items():
        await _fill(g, store, fact=f"fact of {name}")
    before = {name: await _view(g, store) for name, store in spaces.items()}

    forgotten = await spaces["a"].forget(g.user("alice"))
    assert (forgotten.memories, forgotten.relations, forgotten.entities) == (1, 1, 2)
    assert _facts(await _view(g, spaces["a"])) == []
    for name in ("default", "b"):
        assert await _view(g, spaces[name]) == before[name]

    await _fill(g, spaces["a"], fact="fact of a")
    await spaces["b"].reset()
    assert _facts(await _view(g, spaces["b"])) == []
    for name in ("default", "a"):
        assert await _view(g, spaces[name]) == before[name]

    if g.may_reset:  # the default namespace's reset keeps every project's nodes
        await spaces["default"].reset()
        assert await _view(g, spaces["a"]) == before["a"]


async def test_leases_and_erasures_are_per_namespace(
    stores: tuple[Graph, dict[str, Neo4jGraphStore]],
) -> None:
    g, spaces = stores
    key = g.id("lease")
    assert await g.store.acquire_lease(key, "default-owner", 60)
    assert await spaces["a"].acquire_lease(key, "a-owner", 60)
    assert await spaces["b"].acquire_lease(key, "b-owner", 60)
    assert not await spaces["a"].acquire_lease(key, "another", 60)
    await spaces["a"].release_lease(key, "a-owner")
    assert not await g.store.acquire_lease(key, "another", 60)

    assert await spaces["a"].count_erasure(key) == 1
    assert await spaces["a"].count_erasure(key) == 2
    assert await spaces["b"].erasures(key) == 0
    assert await g.store.erasures(key) == 0


async def test_an_id_cannot_name_another_namespace(
    stores: tuple[Graph, dict[str, Neo4jGraphStore]],
) -> None:
    g, spaces = stores
    await _fill(g, spaces["a"], fact="fact of a")
    foreign = f"{g.prefix}a{SEPARATOR}{g.id('kg_1')}"  # a's memory node, as stored
    with pytest.raises(InvalidInputError, match="control character"):
        await g.store.delete_memory(foreign)
    with pytest.raises(InvalidInputError, match="control character"):
        await g.store.entity_owners([foreign])
    with pytest.raises(InvalidInputError, match="control character"):
        await g.store.invalidate_relation(f"{g.prefix}a{SEPARATOR}{g.id('lives')}", WHEN)
    assert _facts(await _view(g, spaces["a"])) == ["fact of a"]
    assert (await _view(g, spaces["a"]))[3] == {g.id("kg_1"): g.user("alice")}
    relations = await relations_of(spaces["a"], g.user("alice"), include_invalid=True)
    assert [r.invalid_at for r in relations] == [None]
