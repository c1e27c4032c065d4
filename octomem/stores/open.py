"""The stores the settings configure, opened (not yet initialised): the one place that maps
a store's config to its backend. What the code above needs to know of them is in their
`Capabilities`, never a backend's name.

- the vector store: Chroma, embedded under ``store_dir/chroma``, or a Chroma server;
- the graph store and the stores kept beside it - history log, journal, keyword index -
  on the graph server when the graph is one (which also keeps each namespace's id key,
  `IdKeyStore`), else files under ``store_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from octomem.memory_types import TypeRegistry
from octomem.settings import ChromaHttp, Neo4jConfig, Settings
from octomem.stores.base import (
    GraphStore,
    HistoryStore,
    IdKeyStore,
    Journal,
    KeywordStore,
    Leases,
    VectorStore,
)

if TYPE_CHECKING:
    from octomem.stores.neo4j_client import Neo4jClient

MB = 1024 * 1024


@dataclass(frozen=True)
class Capabilities:
    """What the code above the stores needs to know of the configured ones."""

    # other hosts may use these stores too (a Chroma or graph server): the memories' ids
    # need a key every host shares (`octomem.id_key`), and no host keeps files the others
    # would need (no blob directory for original bytes: `media.keep_originals` is refused)
    shared: bool


@dataclass(frozen=True)
class Stores:
    """The configured stores of one project, opened, with their capabilities."""

    vector: VectorStore
    graph: GraphStore
    history: HistoryStore
    journal: Journal
    keyword: KeywordStore
    # where the graph server keeps the id key (read when the stores open); None: the key
    # is configured or in the project's key file (`octomem.id_key.resolve_id_key`)
    id_keys: IdKeyStore | None
    capabilities: Capabilities

    @property
    def leases(self) -> Leases:
        """The scope leases, fencing tokens and erasure counts: the graph backend keeps
        them, apart from its data."""
        assert isinstance(self.graph, Leases)
        return self.graph


def open_stores(settings: Settings, types: TypeRegistry, embedder: str) -> Stores:
    """The stores of `settings.project` (files under `settings.store_dir`, its own Chroma
    collections and graph namespace), holding the memory types of `types`; the vector
    store's collections record `embedder`, the name of the model their vectors come from,
    and refuse another's."""
    vector = _vector_store(settings, types, embedder)
    client = graph_server(settings)
    capabilities = Capabilities(shared=settings.vector.shared or settings.graph.shared)
    if client is None:
        return Stores(vector, *_graph_files(settings, types), None, capabilities)
    from octomem.stores.graph_keyword import GraphKeywordStore
    from octomem.stores.neo4j import Neo4jGraphStore, Neo4jIdKeyStore
    from octomem.stores.neo4j_history import Neo4jHistoryStore
    from octomem.stores.neo4j_journal import Neo4jJournal

    namespace = settings.namespace
    return Stores(
        vector,
        Neo4jGraphStore(client, namespace=namespace),
        Neo4jHistoryStore(client, namespace=namespace),
        Neo4jJournal(client, namespace=namespace, types=types),
        GraphKeywordStore(client, namespace=namespace),
        Neo4jIdKeyStore(client),
        capabilities,
    )


def graph_server(settings: Settings) -> Neo4jClient | None:
    """A new client of the graph server when the graph is one, else None: what every host
    of a deployment shares beyond the stores (the service's API keys) is kept there too."""
    config = settings.graph
    if not isinstance(config, Neo4jConfig):
        return None
    from octomem.stores.neo4j_client import Neo4jClient

    password = config.password.get_secret_value()
    return Neo4jClient(
        config.uri, config.user, password, database=config.database, timeout_s=config.timeout_s
    )


def _vector_store(settings: Settings, types: TypeRegistry, embedder: str) -> VectorStore:
    from octomem.stores.chroma import ChromaVectorStore

    config = settings.vector
    if isinstance(config, ChromaHttp):
        return ChromaVectorStore.http(
            config.host,
            config.port,
            ssl=config.ssl,
            headers=config.headers or None,
            prefix=settings.collection_prefix,
            retry_s=config.retry_s,
            timeout_s=config.timeout_s,
            types=types,
            embedder=embedder,
        )
    return ChromaVectorStore.embedded(
        settings.store_dir / "chroma",
        prefix=settings.collection_prefix,
        cache_records=config.cache_records,
        cache_bytes=config.cache_mb * MB,
        types=types,
        embedder=embedder,
    )


def _graph_files(
    settings: Settings, types: TypeRegistry
) -> tuple[GraphStore, HistoryStore, Journal, KeywordStore]:
    """The embedded graph and the stores beside it, as files under `store_dir`."""
    from octomem.stores.fts import FtsKeywordStore
    from octomem.stores.history import SqliteHistoryStore
    from octomem.stores.journal import SqliteJournal
    from octomem.stores.ladybug import LadybugGraphStore

    store_dir = settings.store_dir
    return (
        LadybugGraphStore(store_dir / "graph"),
        SqliteHistoryStore(store_dir / "history.sqlite"),
        SqliteJournal(store_dir / "journal.sqlite", types=types),
        FtsKeywordStore(
            store_dir / "keyword.sqlite", max_scored=settings.recall.keyword_max_scored
        ),
    )
