"""Whether a user's graph writes cost more as the whole graph grows (they should not: each
touches that user's nodes and edges, found by index).

    python -m benchmarks.graph_growth [--users 400] [--facts 50]

On an ArcadeDB Bolt server started here: `users` users, each with `facts` facts written as
a fact add writes them (entities, the relations between them, the memories that mention
them), one user at a time. Prints the milliseconds a user's writes took, per kind, for
every tenth of the users (flat when no write scans the graph), then the median of five
forgets of five memories of a user (an agent's scope) and of five of a whole user, with
the graph full.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.servers import arcadedb_server
from octomem.memory_types import MemoryType
from octomem.models import Entity, Relation
from octomem.stores.base import MemoryLink
from octomem.stores.neo4j import Neo4jGraphStore


async def _write_user(graph: Neo4jGraphStore, u: int, facts: int, spent: dict[str, float]) -> None:
    user, now = f"user{u}", datetime.now(UTC)
    entities = [
        Entity(id=f"e{u}-{i}", user_id=user, name=f"name {u} {i}") for i in range(facts + 1)
    ]
    relations = [
        Relation(
            id=f"m{u}-{i}",
            user_id=user,
            subject_id=f"e{u}-{i}",
            predicate="knows",
            object_id=f"e{u}-{i + 1}",
            memory_id=f"m{u}-{i}",
            valid_at=now,
        )
        for i in range(facts)
    ]
    links = [
        MemoryLink(f"m{u}-{i}", MemoryType.KNOWLEDGE, user, [f"e{u}-{i}", f"e{u}-{i + 1}"])
        for i in range(facts)
    ]
    for kind, write in (
        ("entities", graph.upsert_entities(entities)),
        ("relations", graph.upsert_relations(relations)),
        ("links", graph.link_memories(links)),
    ):
        started = time.perf_counter()
        await write
        spent[kind] += 1000 * (time.perf_counter() - started)


async def measure(graph: Neo4jGraphStore, users: int, facts: int) -> None:
    await graph.init()
    step = max(1, users // 10)
    spent: dict[str, float] = dict.fromkeys(("entities", "relations", "links"), 0.0)
    print(f"ms a user's writes took ({facts} facts), mean over each step of {step} users")
    print("| users so far | entities | relations | links |\n|---|---|---|---|")
    for u in range(users):
        await _write_user(graph, u, facts, spent)
        if (u + 1) % step == 0:
            means = " | ".join(f"{spent[k] / step:.1f}" for k in ("entities", "relations", "links"))
            print(f"| {u + 1} | {means} |", flush=True)
            spent.update(dict.fromkeys(spent, 0.0))
    for what, first, forget in (
        ("5 memories of a user (an agent's scope)", 0, lambda u: [f"m{u}-{i}" for i in range(5)]),
        ("a whole user", 5, lambda u: None),
    ):
        took = []
        for u in range(first, first + 5):
            started = time.perf_counter()
            await graph.forget(f"user{u}", forget(u))
            took.append(1000 * (time.perf_counter() - started))
        print(f"forget of {what}: median {statistics.median(took):.1f} ms of 5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--facts", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root, arcadedb_server(Path(root)) as server:
        graph = Neo4jGraphStore(server.uri, server.user, server.password, database=server.database)

        async def run() -> None:
            try:
                await measure(graph, options.users, options.facts)
            finally:
                await graph.close()

        asyncio.run(run())


if __name__ == "__main__":
    main()
