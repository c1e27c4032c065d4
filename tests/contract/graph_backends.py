"""The GraphStore backends the graph contract suites run on, and their helpers.

- ladybug: the embedded graph in a tmp dir; always.
- arcadedb: the Neo4j backend against the ArcadeDB Bolt server the tests start (the
  `arcadedb_server` fixture in tests/conftest.py); always.
- neo4j: the Neo4j backend against a real Neo4j when OCTOMEM_NEO4J_URI is set
  (OCTOMEM_NEO4J_USER defaults to neo4j, OCTOMEM_NEO4J_PASSWORD); skipped otherwise, with
  that reason.

Every test uses ids, users and lease keys with a unique prefix and deletes them afterwards,
so a shared server is safe. `reset()` wipes every octomem node: it runs on the ArcadeDB
server (ours), and on Neo4j only with OCTOMEM_NEO4J_ALLOW_RESET=1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from octomem.models import Entity, MemoryType, Relation
from octomem.stores.base import GraphStore
from octomem.stores.ladybug import LadybugGraphStore
from octomem.stores.neo4j import Neo4jGraphStore
from octomem.stores.neo4j_client import Neo4jClient

NEO4J_URI = os.environ.get("OCTOMEM_NEO4J_URI")
NEO4J_USER = os.environ.get("OCTOMEM_NEO4J_USER", "neo4j")
NEO4J_PASSWORD = os.environ.get("OCTOMEM_NEO4J_PASSWORD", "")
NEO4J_ALLOW_RESET = os.environ.get("OCTOMEM_NEO4J_ALLOW_RESET") == "1"

BACKENDS = [
    "ladybug",
    "arcadedb",
    pytest.param(
        "neo4j",
        marks=pytest.mark.skipif(
            not NEO4J_URI, reason="set OCTOMEM_NEO4J_URI to run the contract tests on a real Neo4j"
        ),
    ),
]

T = TypeVar("T", Entity, Relation)
ServerArgs = tuple[str, str, str, str | None]  # uri, user, password, database


@dataclass
class Graph:
    store: GraphStore
    backend: str
    prefix: str
    open_another: Callable[[], GraphStore]  # a second store on the same location
    server: ServerArgs | None = None  # the graph server's uri, user, password, database

    def id(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def user(self, name: str) -> str:
        return f"{self.prefix}user-{name}"

    def entity(self, name: str, user: str | None, entity_type: str = "entity") -> Entity:
        return Entity(
            id=self.id(f"{user}:{name}"), user_id=user, name=name, entity_type=entity_type
        )

    def rel(self, name: str, s: Entity, predicate: str, o: Entity, **kw: object) -> Relation:
        return Relation(
            id=self.id(name),
            user_id=s.user_id,
            subject_id=s.id,
            predicate=predicate,
            object_id=o.id,
            **kw,  # type: ignore[arg-type]
        )

    @property
    def may_reset(self) -> bool:
        return self.backend != "neo4j" or NEO4J_ALLOW_RESET


async def near(
    store: GraphStore,
    user_id: str | None,
    entities: Sequence[Entity],
    *,
    hops: int = 1,
    limit: int = 50,
) -> list[tuple[str, MemoryType, int]]:
    """The memories `memories_for_names` finds near these entities, by their names."""
    names = [e.name for e in entities]
    return (await store.memories_for_names(user_id, names, hops=hops, limit=limit))[1]


def mine(g: Graph, items: list[T]) -> list[T]:
    """Entities or relations created by this test (a shared Neo4j server holds other data)."""
    return [x for x in items if x.id.startswith(g.prefix)]


async def _cleanup(server: ServerArgs, prefix: str) -> None:
    """Delete this test's nodes and leases."""
    from neo4j import AsyncGraphDatabase

    uri, user, password, database = server
    async with AsyncGraphDatabase.driver(uri, auth=(user, password)) as driver:
        await driver.execute_query(
            "MATCH (n) WHERE ((n:Entity OR n:Memory) AND n.id STARTS WITH $prefix) "
            "OR (n:OctomemLease AND n.key STARTS WITH $prefix) DETACH DELETE n",
            {"prefix": prefix},
            database_=database,
        )


def server_args(backend: str, request: pytest.FixtureRequest) -> ServerArgs:
    """The graph server of a backend other than ladybug: ours (arcadedb), or Neo4j's."""
    if backend == "arcadedb":
        srv = request.getfixturevalue("arcadedb_server")
        return (srv.uri, srv.user, srv.password, srv.database)
    assert backend == "neo4j" and NEO4J_URI
    return (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, None)


@asynccontextmanager
async def open_graph(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Graph]:
    prefix = f"t{uuid.uuid4().hex[:12]}-"
    factory: Callable[[], GraphStore]
    server: ServerArgs | None = None
    if backend == "ladybug":
        path = tmp_path / "graph"

        def factory() -> GraphStore:
            return LadybugGraphStore(path)

    else:
        server = server_args(backend, request)
        uri, user, password, database = server

        def factory() -> GraphStore:
            return Neo4jGraphStore(Neo4jClient(uri, user, password, database=database))

    store = factory()
    await store.init()
    try:
        yield Graph(store, backend, prefix, factory, server)
    finally:
        try:
            if server is not None:
                await _cleanup(server, prefix)
        finally:
            await store.close()
