"""The engine's start-up, recovery and shutdown: opening the configured stores into a
`Services`, bringing them up to date and completing what a crash left when they open,
probing, resetting and closing them.

`build_services` builds (does not yet open) the stores; `open_stores` creates
collections, tables and indexes, upgrades records an older version stored, then completes
the writes and forgets a crash interrupted. An Orchestrator runs it once (`Opening`), when
it is opened or on its first call; nothing below its public methods opens the stores.
`close` completes the writes a cancel cut short, then releases the stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path

from octomem.agents.base import MemoryAgent
from octomem.agents.registry import check_configured, default_agents, type_registry, with_agents
from octomem.embeddings import (
    KNOWN_SHA256,
    CachedEmbedder,
    Embedder,
    LiteLLMEmbedder,
    LocalEmbedder,
)
from octomem.errors import ConfigurationError
from octomem.id_key import resolve_id_key, resolve_server_id_key
from octomem.llm import LiteLLMClient
from octomem.logs import get_logger
from octomem.memory_types import BUILTIN_REGISTRY, TypeRegistry
from octomem.orchestrator.forget import complete_forgets, resume, rewrite_files
from octomem.orchestrator.locks import ScopeLocks, local_lock
from octomem.orchestrator.services import Services
from octomem.orchestrator.writer import complete_leftovers, recover, restore_vectors
from octomem.settings import ChromaHttp, LiteLLMEmbedderConfig, Neo4jConfig, Settings
from octomem.stores.base import GraphStore, HistoryStore, Journal, KeywordStore, VectorStore
from octomem.stores.blobs import BLOBS_DIR, BlobStore

log = get_logger(__name__)
_UPGRADE_PAGE = 1000
_RECOVERY_S = 30.0  # close() completes writes it cut short for at most this long
MB = 1024 * 1024


async def open_stores(services: Services) -> None:
    """Create collections, tables, constraints and indexes, read the id key (kept on the
    graph server in server mode), bring records stored by an older version up to date,
    then complete any write a crash interrupted (`writer.recover`)."""
    for store in services.stores:
        await store.init()
    if services.id_key_source is not None:
        services.id_key = await services.id_key_source()
    await upgrade_layout(services.vector, services.types)
    await complete_interrupted(services)


class Opening:
    """`open_stores` for one Orchestrator: once, however many first calls await it at once
    (from several event loops and threads too); idempotent."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.done = False

    async def __call__(self) -> None:
        if self.done:
            return
        # not an asyncio.Lock: the first calls may come from several event loops at once;
        # per project directory: Orchestrators sharing one must not create its files together
        store_dir = str(self.services.settings.store_dir.resolve())
        async with local_lock(("octomem.open", store_dir)):
            if not self.done:
                await open_stores(self.services)
                self.done = True


async def complete_interrupted(services: Services) -> int:
    """Complete the writes, then the forgets, that crashed or cancelled callers left
    unfinished (those of live callers are theirs); how many."""
    return await recover(services, wait=False) + await resume(services, wait=False)


async def settle_users(services: Services, user_ids: set[str | None]) -> int:
    """Complete what callers left unfinished for these users (whose locks the caller holds)
    before the caller reads or writes: their writes (`writer.complete_leftovers`), then
    their forgets a store failure cut short - done later, at the next open, those would
    take what this caller is about to store with them. How many."""
    done = await complete_leftovers(services, user_ids)
    return done + await complete_forgets(services, user_ids)


async def probe(services: Services) -> None:
    """Reach the vector and graph stores (open) with one cheap read each."""
    await services.vector.count(next(iter(services.agents)))
    await services.graph.erasures("octomem-ready-probe")


async def reset(services: Services) -> None:
    """Empty every store; then rewrite the files this process owns (embedded mode), so
    that no deleted text is left in them."""
    for store in services.stores:
        await store.reset()
    if services.blobs is not None:
        await asyncio.to_thread(services.blobs.clear)
    await rewrite_files(services, [])
    await services.journal.compact()


async def close(services: Services, *, cut_short: bool = False) -> None:
    """Release the stores; first, if calls were cancelled (`cut_short`), complete the
    writes they left for at most _RECOVERY_S (else the next open does)."""
    if cut_short:
        try:
            async with asyncio.timeout(_RECOVERY_S):
                await recover(services, wait=False)
        except Exception as exc:
            log.warning("completing cancelled writes failed; the next open will", error=str(exc))
    for store in services.stores:
        try:
            await store.close()
        except Exception as exc:  # closing must not hide the others
            log.warning("store close failed", store=type(store).__name__, error=str(exc))


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
    """The embedder `settings` configure, with its cache; one may be shared by several
    Orchestrators of a process (their `embedder=`)."""
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
            expected_sha256=config.sha256 or KNOWN_SHA256,
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
    store_dir: Path = settings.store_dir
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"data_dir {store_dir} cannot be created ({exc}); set data_dir to a writable folder"
        ) from exc
    # on a graph server the key is kept there and read when the stores open (`init`)
    id_key = None if isinstance(settings.graph, Neo4jConfig) else resolve_id_key(settings)
    if embedder is None:
        embedder = build_embedder(settings)
    vector = _vector_store(settings, types, embedder.name)
    graph, history, journal, keyword, id_key_source = _graph_side(settings, types)

    services: Services  # the lock's hooks run on it once it is built, below
    concurrency = settings.concurrency
    locks = ScopeLocks(
        graph,
        lease_ttl_s=concurrency.lease_ttl_s,
        timeout_s=concurrency.lock_timeout_s,
        settle=lambda users: settle_users(services, users),
        restore=lambda written: restore_vectors(services, written),
    )
    services = Services(
        settings=settings,
        vector=vector,
        keyword=keyword,
        history=history,
        graph=graph,
        journal=journal,
        embedder=embedder,
        locks=locks,
        agents=memory_agents,
        types=types,
        llm=LiteLLMClient(settings.llm) if settings.llm.model else None,
        _id_key=id_key,
        id_key_source=id_key_source,
        blobs=_blob_store(settings, id_key),
    )
    return services


def _vector_store(settings: Settings, types: TypeRegistry, embedder: str) -> VectorStore:
    """The configured vector store; its collections record `embedder`, the name of the
    model their vectors come from, and refuse another's."""
    from octomem.stores.chroma import ChromaVectorStore

    vector_config = settings.vector
    if isinstance(vector_config, ChromaHttp):
        return ChromaVectorStore.http(
            vector_config.host,
            vector_config.port,
            ssl=vector_config.ssl,
            headers=vector_config.headers or None,
            prefix=settings.collection_prefix,
            retry_s=vector_config.retry_s,
            types=types,
            embedder=embedder,
        )
    return ChromaVectorStore.embedded(
        settings.store_dir / "chroma",
        prefix=settings.collection_prefix,
        cache_records=vector_config.cache_records,
        cache_bytes=vector_config.cache_mb * MB,
        types=types,
        embedder=embedder,
    )


def _blob_store(settings: Settings, id_key: bytes | None) -> BlobStore | None:
    """The blob directory of the original bytes: with embedded stores only (servers'
    hosts share no data directory; settings refuse `media.keep_originals` there)."""
    if isinstance(settings.vector, ChromaHttp) or isinstance(settings.graph, Neo4jConfig):
        return None
    return BlobStore(settings.store_dir / BLOBS_DIR, id_key)


IdKeySource = Callable[[], Awaitable[bytes | None]]


def _graph_side(
    settings: Settings, types: TypeRegistry
) -> tuple[GraphStore, HistoryStore, Journal, KeywordStore, IdKeySource | None]:
    """The graph store and the stores kept beside it: on the graph server in server mode
    (log, journal and keyword index too, and the id key), else files under store_dir."""
    graph_config = settings.graph
    if isinstance(graph_config, Neo4jConfig):
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
        namespace = settings.namespace
        return (
            Neo4jGraphStore.on(client, namespace=namespace),
            Neo4jHistoryStore(client, namespace=namespace),
            Neo4jJournal(client, namespace=namespace, types=types),
            GraphKeywordStore(client, namespace=namespace),
            partial(resolve_server_id_key, settings, client),
        )
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
        None,
    )
