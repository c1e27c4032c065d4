"""Whether a user's writes to the graph server cost more as the whole graph grows (they
should not: each touches that user's nodes and edges, found by index).

    python -m benchmarks.graph_growth [--users 400] [--facts 50] [--embedded]

On an ArcadeDB Bolt server started here (or, with `--embedded`, the embedded graph and
stores a data directory opens by default): `users` users, each with `facts` facts written as
a fact add writes them to the graph server (entities, the relations between them, the
memories that mention them; the facts' keyword index entries and history events), one user
at a time. Prints the milliseconds a user's writes took, per kind, and the CPU
milliseconds of this process (the embedded stores' work, or the client's), for every tenth
of the users (flat when no write scans the graph), then the median of five forgets of five
memories of a user (an agent's scope) and of five of a whole user, with the graph full.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.servers import BoltServer, arcadedb_server
from benchmarks.synthetic import memories
from octomem.memory_types import BUILTIN_REGISTRY, MemoryType
from octomem.models import Entity, KnowledgeMemory, Operation, Relation
from octomem.orchestrator.events import history_event
from octomem.settings import load_settings
from octomem.stores.base import MemoryLink
from octomem.stores.open import Stores, open_stores

KINDS = ("entities", "relations", "links", "keyword", "history")


def server_stores(server: BoltServer, root: Path, deployment: str = "graph-growth") -> Stores:
    """The stores a project opens on the graph server `server` (a deployment's namespace),
    as the library opens them (`open_stores`); the vector store, embedded under `root`, is
    not used."""
    graph: dict[str, str | None] = {"provider": "neo4j", "uri": server.uri}
    graph |= {"user": server.user, "password": server.password, "database": server.database}
    settings = load_settings(data_dir=root, deployment=deployment, graph=graph)
    return open_stores(settings, BUILTIN_REGISTRY, "graph-growth")


async def _write_user(stores: Stores, u: int, facts: int, spent: dict[str, float]) -> None:
    user, now = f"user{u}", datetime.now(UTC)
    said = memories(facts, seed=u)
    records = [
        KnowledgeMemory(
            id=f"m{u}-{i}",
            user_id=user,
            content=f"name {u} {i} {said[i]}",
            subject=f"name {u} {i}",
            predicate="knows",
            object=f"name {u} {i + 1}",
        )
        for i in range(facts)
    ]
    entities = [
        Entity(id=f"e{u}-{i}", user_id=user, name=f"name {u} {i}") for i in range(facts + 1)
    ]
    relations = [
        Relation(
            id=r.id,
            user_id=user,
            subject_id=f"e{u}-{i}",
            predicate=r.predicate,
            object_id=f"e{u}-{i + 1}",
            memory_id=r.id,
            valid_at=now,
        )
        for i, r in enumerate(records)
    ]
    links = [
        MemoryLink(r.id, MemoryType.KNOWLEDGE, user, [f"e{u}-{i}", f"e{u}-{i + 1}"])
        for i, r in enumerate(records)
    ]
    writes = (
        stores.graph.upsert_entities(entities),
        stores.graph.upsert_relations(relations),
        stores.graph.link_memories(links),
        stores.keyword.upsert(records),
        stores.history.record([history_event(r, Operation.ADD) for r in records]),
    )
    for kind, write in zip(KINDS, writes, strict=True):
        started = time.perf_counter()
        await write
        spent[kind] += 1000 * (time.perf_counter() - started)


async def measure(stores: Stores, users: int, facts: int) -> None:
    for store in (stores.graph, stores.keyword, stores.history):
        await store.init()
    step = max(1, users // 10)
    spent, cpu = dict.fromkeys(KINDS, 0.0), time.process_time()
    print(f"ms a user's writes took ({facts} facts), mean over each step of {step} users")
    print("| users so far | " + " | ".join(KINDS) + " | CPU |\n|---|" + "---|" * (len(KINDS) + 1))
    for u in range(users):
        await _write_user(stores, u, facts, spent)
        if (u + 1) % step == 0:
            cpu_ms = 1000 * (time.process_time() - cpu) / step
            print(
                f"| {u + 1} | "
                + " | ".join(f"{spent[k] / step:.1f}" for k in KINDS)
                + f" | {cpu_ms:.1f} |"
            )
            spent, cpu = dict.fromkeys(KINDS, 0.0), time.process_time()
    for what, first, forget in (
        ("5 memories of a user (an agent's scope)", 0, lambda u: [f"m{u}-{i}" for i in range(5)]),
        ("a whole user", 5, lambda u: None),
    ):
        took = []
        for u in range(first, first + 5):
            started = time.perf_counter()
            await stores.graph.forget(f"user{u}", forget(u))
            took.append(1000 * (time.perf_counter() - started))
        print(f"graph forget of {what}: median {statistics.median(took):.1f} ms of 5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--facts", type=int, default=50)
    parser.add_argument("--embedded", action="store_true", help="the embedded stores")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as root, contextlib.ExitStack() as stack:
        if options.embedded:
            settings = load_settings(data_dir=Path(root) / "app")
            stores = open_stores(settings, BUILTIN_REGISTRY, "graph-growth")
        else:
            server = stack.enter_context(arcadedb_server(Path(root)))
            stores = server_stores(server, Path(root) / "app")

        async def run() -> None:
            try:
                await measure(stores, options.users, options.facts)
            finally:
                # on a server, the graph's connection is the one the others share
                embedded = (stores.keyword, stores.history) if options.embedded else ()
                for store in (*embedded, stores.graph):
                    await store.close()

        asyncio.run(run())


if __name__ == "__main__":
    main()
