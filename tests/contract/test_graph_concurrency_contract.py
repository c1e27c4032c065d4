"""Concurrent writers: the contract every GraphStore backend passes (see graph_backends.py
for which).

Writers of the same nodes through two stores must all succeed, as on a graph that several
processes share.
"""

from __future__ import annotations

import asyncio

from octomem.models import MemoryType
from octomem.stores.base import MemoryLink
from tests.contract.graph_backends import Graph

ROUNDS = 20


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
            assert await other.memories_for_entities(u, ids, hops=0) == [
                (link.memory_id, MemoryType.SEMANTIC, 0)
            ]
    finally:
        await other.close()
