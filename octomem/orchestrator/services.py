"""The dependencies the graphs run on, built from settings or injected by tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from octomem.agents.base import MemoryAgent
from octomem.agents.registry import check_configured, default_agents, type_registry, with_agents
from octomem.embeddings import CachedEmbedder, Embedder, LiteLLMEmbedder, LocalEmbedder
from octomem.errors import ConfigurationError, OctomemError
from octomem.id_key import resolve_id_key, resolve_server_id_key
from octomem.llm import LiteLLMClient, LLMClient
from octomem.logs import get_logger
from octomem.memory_types import BUILTIN_REGISTRY, TypeRegistry
from octomem.models import BUILTIN_TYPES, MemoryType
from octomem.orchestrator.locks import ScopeLocks, local_lock
from octomem.settings import (
    ChromaHttp,
    LiteLLMEmbedderConfig,
    Neo4jConfig,
    Settings,
)
from octomem.stores.base import GraphStore, HistoryStore, Journal, KeywordStore, VectorStore

log = get_logger(__name__)
_UPGRADE_PAGE = 1000
MB = 1024 * 1024


@dataclass
class Services:
    """Everything a graph node needs. Built once per Orchestrator; closed with it."""

    settings: Settings
    vector: VectorStore
    keyword: KeywordStore
    history: HistoryStore
    graph: GraphStore
    journal: Journal
    embedder: Embedder
    agents: dict[MemoryType, MemoryAgent] = field(default_factory=default_agents)
    types: TypeRegistry = BUILTIN_REGISTRY  # the agents' memory types (`type_registry`)
    llm: LLMClient | None = None
    _id_key: bytes | None = None  # memory ids are keyed with it (`octomem.id_key`)
    id_key_source: Callable[[], Awaitable[bytes | None]] | None = None  # on a server: `init`
    _initialised: bool = False
    _locks: ScopeLocks | None = None

    @property
    def id_key(self) -> bytes | None:
        if self.id_key_source is not None:  # never the unkeyed ids by mistake
            raise OctomemError(
                "the id key is kept on the graph server and read when the stores open: "
                "await services.init() first (every Orchestrator call does)"
            )
        return self._id_key

    @id_key.setter
    def id_key(self, value: bytes | None) -> None:
        self._id_key, self.id_key_source = value, None

    @property
    def stores(self) -> tuple[VectorStore, KeywordStore, HistoryStore, GraphStore, Journal]:
        return (self.vector, self.keyword, self.history, self.graph, self.journal)

    @property
    def locks(self) -> ScopeLocks:
        """The per-scope write locks every write path holds (`octomem.orchestrator.locks`)."""
        if self._locks is None:
            from octomem.orchestrator.writer import complete_leftovers, restore_vectors

            config = self.settings.concurrency
            self._locks = ScopeLocks(
                self.graph,
                lease_ttl_s=config.lease_ttl_s,
                timeout_s=config.lock_timeout_s,
                settle=lambda users: complete_leftovers(self, users),
                restore=lambda written: restore_vectors(self, written),
            )
        return self._locks

    @property
    def enabled_agents(self) -> list[MemoryType]:
        """The built-in agents `agents.enabled` lists, and every custom agent."""
        enabled = set(self.settings.agents.enabled)
        return [m for m in self.agents if m in enabled or m not in BUILTIN_TYPES]

    async def init(self) -> None:
        """Create collections, tables, constraints and indexes, bring records stored by an
        older version up to date, then complete any write a crash interrupted
        (`writer.recover`); idempotent, once."""
        if self._initialised:
            return
        # not an asyncio.Lock: the first calls may come from several event loops at once;
        # per project directory: Orchestrators sharing one must not create its files together
        async with local_lock(("octomem.services.init", str(self.settings.store_dir.resolve()))):
            if self._initialised:
                return
            from octomem.orchestrator.forget import resume
            from octomem.orchestrator.writer import recover

            for store in self.stores:
                await store.init()
            if self.id_key_source is not None:
                self.id_key = await self.id_key_source()
            await upgrade_layout(self.vector, self.types)
            await recover(self, wait=False)  # a live writer's intents are its own
            await resume(self, wait=False)
            self._initialised = True

    async def close(self) -> None:
        for store in self.stores:
            try:
                await store.close()
            except Exception as exc:  # closing must not hide the others
                log.warning("store close failed", store=type(store).__name__, error=str(exc))

    async def reset(self) -> None:
        """Empty every store; then rewrite the files this process owns (embedded mode), so
        that no deleted text is left in them."""
        for store in self.stores:
            await store.reset()
        await self.rewrite_files([])
        await self.journal.compact()

    async def rewrite_files(self, deleted_ids: Sequence[str]) -> list[str]:
        """Rewrite the files of the vector store (its log of `deleted_ids`), keyword index,
        history and graph that this process owns, so nothing deleted is left in them; the
        names of the stores rewritten (a server's files are the server's). The journal is
        the caller's to compact last."""
        rewritten = []
        if await self.vector.purge_deleted(deleted_ids):
            rewritten.append("vector")
        if await self.keyword.compact():
            rewritten.append("keyword")
        if await self.history.compact():
            rewritten.append("history")
        if await self.graph.compact():
            rewritten.append("graph")
        return rewritten


async def upgrade_layout(vector: VectorStore, types: TypeRegistry = BUILTIN_REGISTRY) -> int:
    """Store the records an older version wrote (octomem's keys in `metadata`, read into
    `internal` by the model) in the current layout, so filters on either find them where
    the backend looks; embeddings are kept. Returns how many were rewritten.

    Idempotent: a store holding none costs one query per memory type. Two processes doing
    it at once write the same data (the upgrade of a record depends on the record alone).
    """
    total = 0
    for memory_type in types:
        done: set[str] = set()
        while batch := await vector.legacy_records(memory_type, limit=_UPGRADE_PAGE):
            fresh = [record for record in batch if record.id not in done]
            if not fresh:  # listed again after a rewrite: never loop on them
                log.warning("records stay in an older layout", memory_type=memory_type.value)
                break
            await vector.rewrite(memory_type, fresh)
            done.update(record.id for record in fresh)
            total += len(fresh)
    if total:
        log.info("records upgraded to the current layout", records=total)
    return total


def build_embedder(settings: Settings) -> Embedder:
    config = settings.embedder
    inner: Embedder
    if isinstance(config, LiteLLMEmbedderConfig):
        inner = LiteLLMEmbedder(
            config.model,
            batch_size=config.batch_size,
            extra=config.extra,
            dimension=config.dimension,
        )
    else:
        inner = LocalEmbedder(
            config.model,
            batch_size=config.batch_size,
            device=config.device,
            expected_sha256=config.sha256,
            backend=config.backend,
            onnx_cache_dir=config.onnx_cache_dir,
        )
    return CachedEmbedder(inner, max_bytes=config.cache_mb * MB)


def build_services(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    agents: Iterable[MemoryAgent] = (),
) -> Services:
    """Open (not yet initialise) the configured stores of `settings.project`: files under
    `settings.store_dir`, its own Chroma collections and graph namespace.

    `embedder` lets several Orchestrators in one process share one loaded model. `agents`
    are added to the registered ones (`octomem.agents.registry`); one of a memory type
    that has an agent replaces it.
    """
    memory_agents = with_agents(default_agents(), agents)
    types = type_registry(memory_agents)
    check_configured(settings, types)
    from octomem.stores.chroma import ChromaVectorStore
    from octomem.stores.fts import FtsKeywordStore
    from octomem.stores.history import SqliteHistoryStore
    from octomem.stores.journal import SqliteJournal

    store_dir: Path = settings.store_dir
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"data_dir {store_dir} cannot be created ({exc}); set data_dir to a writable folder"
        ) from exc
    graph_config = settings.graph
    # on a graph server the key is kept there and read when the stores open (`init`)
    id_key = None if isinstance(graph_config, Neo4jConfig) else resolve_id_key(settings)
    id_key_source: Callable[[], Awaitable[bytes | None]] | None = None
    vector_config = settings.vector
    vector: VectorStore
    if isinstance(vector_config, ChromaHttp):
        vector = ChromaVectorStore.http(
            vector_config.host,
            vector_config.port,
            ssl=vector_config.ssl,
            headers=vector_config.headers or None,
            prefix=settings.collection_prefix,
            retry_s=vector_config.retry_s,
            types=types,
        )
    else:
        vector = ChromaVectorStore.embedded(
            store_dir / "chroma",
            prefix=settings.collection_prefix,
            cache_records=vector_config.cache_records,
            cache_bytes=vector_config.cache_mb * MB,
            types=types,
        )

    graph: GraphStore
    history: HistoryStore
    journal: Journal
    keyword: KeywordStore
    if isinstance(graph_config, Neo4jConfig):  # server mode: log, journal and index there too
        from octomem.stores.graph_keyword import GraphKeywordStore
        from octomem.stores.neo4j import Neo4jGraphStore
        from octomem.stores.neo4j_client import Neo4jClient
        from octomem.stores.neo4j_history import Neo4jHistoryStore
        from octomem.stores.neo4j_journal import Neo4jJournal

        client = Neo4jClient(
            graph_config.uri,
            graph_config.user,
            graph_config.password.get_secret_value(),
            database=graph_config.database,
        )
        graph = Neo4jGraphStore.on(client, namespace=settings.namespace)
        history = Neo4jHistoryStore(client, namespace=settings.namespace)
        journal = Neo4jJournal(client, namespace=settings.namespace, types=types)
        keyword = GraphKeywordStore(client, namespace=settings.namespace)
        id_key_source = partial(resolve_server_id_key, settings, client)
    else:
        from octomem.stores.ladybug import LadybugGraphStore

        graph = LadybugGraphStore(store_dir / "graph")
        history = SqliteHistoryStore(store_dir / "history.sqlite")
        journal = SqliteJournal(store_dir / "journal.sqlite", types=types)
        keyword = FtsKeywordStore(store_dir / "keyword.sqlite")

    return Services(
        settings=settings,
        vector=vector,
        keyword=keyword,
        history=history,
        graph=graph,
        journal=journal,
        embedder=embedder if embedder is not None else build_embedder(settings),
        agents=memory_agents,
        types=types,
        llm=LiteLLMClient(settings.llm) if settings.llm.model else None,
        _id_key=id_key,
        id_key_source=id_key_source,
    )
