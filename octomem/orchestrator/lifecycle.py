"""The engine's start-up, recovery and shutdown: `build_services` builds (does not yet
open) the stores; `open_services` creates collections, tables and indexes, then completes
the writes a crash interrupted (once per Orchestrator: `Opening`); `close` completes the
writes a cancel cut short, then releases the stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
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
from octomem.orchestrator.locks import ScopeLocks, local_lock
from octomem.orchestrator.services import Services
from octomem.orchestrator.write import recover, restore_vectors
from octomem.orchestrator.write.recovery import settle
from octomem.settings import LiteLLMEmbedderConfig, Settings
from octomem.stores.blobs import BLOBS_DIR, BlobStore
from octomem.stores.open import open_stores

log = get_logger(__name__)
_RECOVERY_S = 30.0  # close() completes writes it cut short for at most this long
MB = 1024 * 1024


async def open_services(services: Services) -> None:
    """Create collections, tables, constraints and indexes, read the id key (kept on the
    graph server in server mode), then complete any write a crash interrupted. The graph
    first: an embedded graph's file lock refuses a second process before it opens Chroma's
    files, which one process's engine at a time may hold."""
    graph = services.graph
    for store in (graph, *(store for store in services.stores if store is not graph)):
        await store.init()
    if services.id_key_source is not None:
        services.id_key = await services.id_key_source()
    services.vector.use_id_key(services.id_key)
    await recover(services, wait=False)  # those of live callers are theirs


@dataclass(eq=False)
class Opening:
    """`open_services` for one Orchestrator: once, however many first calls await it at once
    (from several event loops and threads too)."""

    services: Services
    done: bool = False

    async def __call__(self) -> None:
        if self.done:
            return
        # not an asyncio.Lock: the first calls may come from several event loops at once;
        # per project directory: Orchestrators sharing one must not create its files together
        store_dir = str(self.services.settings.store_dir.resolve())
        async with local_lock(("octomem.open", store_dir)):
            if not self.done:
                await open_services(self.services)
                self.done = True


async def probe(services: Services, store: str | None = None) -> None:
    """Reach the vector and graph stores (open) with one cheap read each (or only `store`:
    "vector" or "graph")."""
    if store in (None, "vector"):
        await services.vector.count(next(iter(services.agents)))
    if store in (None, "graph"):
        await services.locks.erasures("octomem-ready-probe", None)


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
            threads=config.threads,
        )
    return CachedEmbedder(inner, max_bytes=config.cache_mb * MB)


def build_services(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    agents: Iterable[MemoryAgent] = (),
) -> Services:
    """Open (not yet initialise) the configured stores of `settings.project`. `embedder`
    lets several Orchestrators in one process share one loaded model; `agents` are added to
    the registered ones (one of a memory type that has an agent replaces it)."""
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
    if embedder is None:
        embedder = build_embedder(settings)
    stores = open_stores(settings, types, embedder.name)
    # a key the graph server keeps is read when the stores open (`init`)
    id_key, id_key_source = None, None
    if stores.id_keys is None:
        id_key = resolve_id_key(settings)
    else:
        id_key_source = partial(resolve_server_id_key, settings, stores.id_keys)
    # the original bytes are files of the data directory: none where hosts share servers
    blobs = None
    if not stores.capabilities.shared:
        blobs = BlobStore(settings.store_dir / BLOBS_DIR, id_key)

    services: Services  # the lock's hooks run on it once it is built, below
    concurrency = settings.concurrency
    locks = ScopeLocks(
        stores.leases,
        lease_ttl_s=concurrency.lease_ttl_s,
        timeout_s=concurrency.lock_timeout_s,
        settle=lambda users, fence: settle(services, users, fence),
        restore=lambda written, fence: restore_vectors(services, written, fence),
    )
    services = Services(
        settings=settings,
        vector=stores.vector,
        keyword=stores.keyword,
        history=stores.history,
        graph=stores.graph,
        journal=stores.journal,
        embedder=embedder,
        locks=locks,
        agents=memory_agents,
        types=types,
        llm=LiteLLMClient(settings.llm) if settings.llm.model else None,
        _id_key=id_key,
        id_key_source=id_key_source,
        blobs=blobs,
    )
    return services
