"""The history-log and journal backends their contract suites run on.

- sqlite: files in a tmp dir (embedded mode); a namespace is a file of its own.
- arcadedb: the Neo4j stores against the ArcadeDB Bolt server the tests start (the
  `arcadedb_server` fixture in tests/conftest.py); always.
- neo4j: the Neo4j stores against a real Neo4j when OCTOMEM_NEO4J_URI is set (see
  tests/contract/graph_backends.py); skipped otherwise.

On a server every store gets a client of its own (as a host would), and the test's
namespaces start with a prefix of its own: at the end each is reset (a store's `reset`
deletes its namespace's nodes only), so a shared server is safe.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from octomem.stores import fence
from octomem.stores.base import HistoryStore, Journal
from octomem.stores.history import SqliteHistoryStore
from octomem.stores.journal import SqliteJournal
from octomem.stores.neo4j import Neo4jGraphStore
from octomem.stores.neo4j_client import Neo4jClient
from octomem.stores.neo4j_history import Neo4jHistoryStore
from octomem.stores.neo4j_journal import Neo4jJournal
from tests.contract.graph_backends import BACKENDS as GRAPH_BACKENDS
from tests.contract.graph_backends import ServerArgs, server_args

BACKENDS = ["sqlite", *(b for b in GRAPH_BACKENDS if b != "ladybug")]
SERVERS = BACKENDS[1:]
S = TypeVar("S", HistoryStore, Journal)


@dataclass
class LogBackend:
    """Opens history stores and journals of one backend; `namespace` is the test's own."""

    backend: str
    tmp: Path
    namespace: str
    server: ServerArgs | None = None
    opened: list[HistoryStore | Journal] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)

    def other(self, name: str) -> str:
        """Another namespace of this test's (a deployment.project name, as settings make)."""
        return f"{self.namespace}.{name}"

    def client(self) -> Neo4jClient:
        assert self.server is not None
        uri, user, password, database = self.server
        return Neo4jClient(uri, user, password, database=database)

    async def history(self, namespace: str | None = None) -> HistoryStore:
        """A history store of `namespace` (the test's by default), initialised: a second
        one of a namespace shares the first one's log (the same file, or the same server)."""
        ns = self.namespace if namespace is None else namespace
        store: HistoryStore
        if self.server is None:
            store = SqliteHistoryStore(self.tmp / f"{ns}-history.sqlite")
        else:
            store = Neo4jHistoryStore(self.client(), namespace=ns)
        return await self._opened(store, ns)

    async def journal(self, namespace: str | None = None) -> Journal:
        ns = self.namespace if namespace is None else namespace
        store: Journal
        if self.server is None:
            store = SqliteJournal(self.tmp / f"{ns}-journal.sqlite")
        else:
            store = Neo4jJournal(self.client(), namespace=ns)
        return await self._opened(store, ns)

    async def fences(self) -> tuple[fence.Fence, fence.Fence]:
        """(stale, live): the fence of a writer whose lease expired and passed to another
        writer, and that other writer's."""
        graph = Neo4jGraphStore(self.client(), namespace=self.namespace)
        try:
            stale = await graph.acquire_lease("scope", "writer-a", 0.05)
            live = 0
            while not live:  # once writer-a's lease has expired
                await asyncio.sleep(0.05)
                live = await graph.acquire_lease("scope", "writer-b", 60)
        finally:
            await graph.close()
        key = graph.lease_key("scope")
        holds = self._holds
        return fence.Fence(((key, stale),), holds), fence.Fence(((key, live),), holds)

    async def _holds(self, tokens: tuple[tuple[str, int], ...]) -> bool:
        client = self.client()
        try:
            return await client.fence_holds(tokens)
        finally:
            await client.close()

    async def _opened(self, store: S, namespace: str) -> S:
        await store.init()
        self.opened.append(store)
        self.namespaces.add(namespace)
        return store

    async def cleanup(self) -> None:
        try:
            if self.server is not None:  # every namespace the test used, emptied
                for namespace in sorted(self.namespaces):
                    for store in (
                        Neo4jHistoryStore(self.client(), namespace=namespace),
                        Neo4jJournal(self.client(), namespace=namespace),
                    ):
                        try:
                            await store.reset()
                        finally:
                            await store.close()
                client = self.client()  # and the leases of `fences`
                try:
                    await client.query(
                        "cleanup",
                        "MATCH (l:OctomemLease) WHERE l.key STARTS WITH $ns DELETE l",
                        ns=self.namespace,
                    )
                finally:
                    await client.close()
        finally:
            for store in self.opened:
                await store.close()


@asynccontextmanager
async def open_log_backend(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[LogBackend]:
    server = None if backend == "sqlite" else server_args(backend, request)
    opened = LogBackend(backend, tmp_path, f"t{uuid.uuid4().hex[:12]}", server)
    try:
        yield opened
    finally:
        await opened.cleanup()
