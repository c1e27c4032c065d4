"""VectorStore on Chroma: embedded (PersistentClient) or a server (HttpClient).

One collection per memory type, named ``{prefix}_{memory_type}``, cosine space, no Chroma
embedding function (embeddings are always given) and no Chroma document (its full-text
index is never searched). Entry metadata and filter pushdown: `chroma_layout`. What Chroma
cannot filter exactly is evaluated in Python over an over-fetched set.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import threading
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings
from chromadb.errors import NotFoundError as ChromaNotFoundError

from octomem import filters, retries
from octomem.embeddings import cosines
from octomem.errors import (
    ConfigurationError,
    InvalidInputError,
    OctomemError,
    StoreError,
    StoreUnavailableError,
)
from octomem.logs import get_logger
from octomem.memory_types import BUILTIN_REGISTRY, TypeRegistry
from octomem.models import (
    CustomMemory,
    MemoryBase,
    MemoryType,
    as_utc,
    is_type_name,
)
from octomem.stores import chroma_engine, gather, judged, parsed, record_cache, stuck
from octomem.stores.base import ForeignRecords
from octomem.stores.chroma_files import purge_log, scrub_index_files
from octomem.stores.chroma_layout import (
    LAYOUT,
    LAYOUT_KEY,
    RECORD_KEY,
    STAMP_KEY,
    Where,
    entry_metadata,
    pinned_ids,
    plan,
)
from octomem.stores.chroma_remote import Remote, bound_requests
from octomem.stores.fence import Fence
from octomem.stores.record_cache import RecordCache

log = get_logger(__name__)
_PAGE = 1000
EMBEDDER_KEY = "octomem_embedder"  # collection metadata: the model its vectors come from
# collection metadata: the prefix (project, deployment) it belongs to. Names do not say:
# project acme_eu's `..._acme_eu_semantic` reads as project acme's type `eu_semantic`
OWNER_KEY = "octomem_prefix"
_SELECTIVE_MAX = 4096
# the widest nearest-neighbour search `_query_unfiltered` makes before it leaves a filter to
# Chroma's metadata pre-filter (which costs more per clause than such a search)
_UNFILTERED_MAX = 1600
# Chroma's collection names: 3-512 of [A-Za-z0-9._-], alphanumeric at both ends; ours are
# "{prefix}_{memory type}" (a project's prefix ends in "-p-<project>", up to 43 more)
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
T = TypeVar("T")
# entries Chroma's vector index takes between syncs to disk. A write costs more the more
# entries wait (its default 1,000: 5 ms to 15 ms a write); a sync costs more the larger the
# index. 300: a single write at 100k entries 7.0 ms (11.1 at 1,000), bulk writes as fast
# (docs/decisions.md)
SYNC_THRESHOLD = 300


def _and_live(
    check: Callable[[MemoryBase], bool] | None, live_at: datetime
) -> Callable[[MemoryBase], bool]:
    """`check` (if any) and live at `live_at`."""
    if check is None:
        return lambda record: record.is_live(live_at)
    return lambda record: record.is_live(live_at) and check(record)


def _stamp(fence: Fence | None, user_id: str | None) -> int | None:
    """The token an entry of `user_id` is stamped with: its writer's lease of that user."""
    return fence.stamp(user_id) if fence is not None else None


class ChromaVectorStore:
    """Memory records and embeddings in Chroma; see `octomem.stores.base.VectorStore`."""

    def __init__(
        self,
        remote: Callable[[], Any] | None = None,
        *,
        path: Path | None = None,
        prefix: str = "octomem",
        location: str = "Chroma",
        cache_records: int = record_cache.DEFAULT_MAX_RECORDS,
        cache_bytes: int = record_cache.DEFAULT_MAX_BYTES,
        retry_s: float = 0.0,
        timeout_s: float | None = None,
        types: TypeRegistry = BUILTIN_REGISTRY,
        embedder: str | None = None,
    ) -> None:
        """`remote` connects to a server; `path` is an embedded store's directory. `types`:
        the memory types it holds (a collection each), read as their record classes.
        `embedder`: the name of the embedding model its vectors come from, recorded in each
        collection's metadata when it is first opened; a collection holding vectors of
        another model is refused (ConfigurationError). None: no check."""
        if not _PREFIX_RE.match(prefix):
            raise ConfigurationError(
                f"invalid Chroma collection prefix {prefix!r}: use 1-200 letters, digits, "
                "'.', '_' or '-', starting with a letter or digit"
            )
        self._remote = Remote(remote, timeout_s) if remote is not None else None
        # records parsed to judge a search's candidates against its filter, kept for the
        # next search (most are other users'); never handed out, dropped when written
        self._judged = judged.Judged()
        self._prefix = prefix
        self._location = location
        self._retry_s = retry_s
        # a server's call waits this long at most, retries included (None: embedded)
        self._bound_s = max(retry_s, timeout_s) if timeout_s is not None else None
        self._types = types
        self._embedder = embedder
        # (client, collection) per type: a handle is valid while its client is the open one
        self._collections: dict[MemoryType, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._selective: set[tuple[MemoryType, str]] = set()  # filters to push down
        self._widths: dict[tuple[MemoryType, str], int] = {}  # see `_query_unfiltered`
        # embedded only: the directory's engine and record cache (`chroma_engine`,
        # `record_cache`), acquired on first use, released on close
        self._path = path
        self._engine: chroma_engine.EmbeddedChroma | None = None
        self._closed = False  # a call after `close` (one a cancel left running) reopens nothing
        self._cache_records = cache_records
        self._cache_bytes = cache_bytes
        self._cache: RecordCache | None = None
        self._handles_epoch = 0  # the cache's epoch when the collection handles were valid
        self._id_key: bytes | None = None  # see `use_id_key`

    def use_id_key(self, id_key: bytes | None) -> None:
        self._id_key = id_key

    def _plan(
        self, memory_type: MemoryType | None, where: filters.Filter | None, live_at: datetime | None
    ) -> tuple[Where | None, Callable[[MemoryBase], bool] | None]:
        """`chroma_layout.plan` for the entries of `memory_type` (None: of a type the
        registry lacks), their keys named as this store writes them (`use_id_key`)."""
        if memory_type is None:
            return plan(CustomMemory, where, live_at, self._id_key)
        return plan(self._types.record_class(memory_type), where, live_at, self._id_key)

    def _plan_live(
        self, memory_type: MemoryType, where: filters.Filter | None, live_at: datetime | None
    ) -> tuple[Where | None, Callable[[MemoryBase], bool] | None]:
        """`_plan` with which records are live at `live_at` checked on them, not asked of
        Chroma: its two clauses for it read the rows of every entry of every collection.
        In a filtered search each costs as much as the search; a recall's listing of its
        core blocks paid 3.7 CPU ms of Chroma's for them in the serve bench's mix (0.7
        without)."""
        chroma_where, check = self._plan(memory_type, where, None)
        return chroma_where, check if live_at is None else _and_live(check, live_at)

    @classmethod
    def embedded(
        cls,
        path: Path,
        *,
        prefix: str = "octomem",
        cache_records: int = record_cache.DEFAULT_MAX_RECORDS,
        cache_bytes: int = record_cache.DEFAULT_MAX_BYTES,
        types: TypeRegistry = BUILTIN_REGISTRY,
        embedder: str | None = None,
    ) -> ChromaVectorStore:
        """Chroma running in this process, persisted under `path`; up to `cache_records`
        records, taking up to `cache_bytes` of memory, are cached (0: none)."""
        path = Path(path)
        return cls(
            path=path,
            prefix=prefix,
            location=f"embedded Chroma at {path}",
            cache_records=cache_records,
            cache_bytes=cache_bytes,
            types=types,
            embedder=embedder,
        )

    @classmethod
    def http(
        cls,
        host: str,
        port: int,
        *,
        ssl: bool = False,
        headers: dict[str, str] | None = None,
        prefix: str = "octomem",
        retry_s: float = 15.0,
        timeout_s: float = 15.0,
        types: TypeRegistry = BUILTIN_REGISTRY,
        embedder: str | None = None,
    ) -> ChromaVectorStore:
        """A Chroma server (`chroma run`); the connection is opened on first use. A call
        that cannot reach the server, or loses the connection, is tried again for up to
        `retry_s` seconds (every call is idempotent: upserts and deletes by id, reads)
        before it fails with `StoreUnavailableError`. Each request waits `timeout_s` at most
        (a server that answers nothing: the request failed), and a call at most the larger
        of the two in all (`chroma_remote`)."""

        def connect() -> Any:
            settings = Settings(anonymized_telemetry=False)
            client = chromadb.HttpClient(
                host=host, port=port, ssl=ssl, headers=headers, settings=settings
            )
            return bound_requests(client, timeout_s)

        location = f"Chroma server at {host}:{port}"
        return cls(
            connect,
            prefix=prefix,
            location=location,
            retry_s=retry_s,
            timeout_s=timeout_s,
            types=types,
            embedder=embedder,
        )

    def collection_name(self, memory_type: MemoryType) -> str:
        return f"{self._prefix}_{MemoryType(memory_type).value}"

    # --- plumbing --------------------------------------------------------------------

    def _error(self, what: str, exc: Exception) -> StoreError:
        text = str(exc) or type(exc).__name__
        if _unreachable(exc):
            advice = "is `chroma run` running, and are host and port right?"
            return StoreUnavailableError(f"cannot reach {self._location} - {advice} ({text})")
        if "dimension" in text:
            text += " - all embeddings in a collection need the same dimension; did the "
            text += "embedding model change? (use a new collection prefix or reset the store)"
        return StoreError(f"{self._location}: {what} failed: {text}")

    async def _call(
        self, what: str, fn: Callable[[Any], T], memory_type: MemoryType | None = None
    ) -> T:
        """Run `fn` in a worker thread on the collection of `memory_type` (None: on the
        client): again, for up to `retry_s`, while the server cannot be reached; its
        errors as octomem's."""

        def retrying(exc: BaseException) -> None:
            log.warning("chroma server unreachable; retrying", what=what, error=str(exc))

        policy = retries.chroma_call(self._retry_s, _unreachable, retrying)
        thread = self._remote.run if self._remote is not None else asyncio.to_thread
        try:
            # an embedded store's calls (no bound) are never past their bound
            with stuck.watched(float("inf") if self._bound_s is None else self._bound_s):
                async with asyncio.timeout(self._bound_s):
                    return await policy(thread, self._attempt, fn, memory_type)
        except TimeoutError as exc:  # the bound passed (or the last try timed out)
            if self._bound_s is None:
                raise self._failure(what, exc) from exc
            raise StoreUnavailableError(
                f"{self._location} did not answer '{what}' within {self._bound_s:g} s "
                "(vector.retry_s, vector.timeout_s): it is down, stalled or overloaded; "
                "retry the call later (a retry stores nothing twice)"
            ) from exc
        except OctomemError:
            raise
        except Exception as exc:
            raise self._failure(what, exc) from exc

    def _attempt(self, fn: Callable[[Any], T], memory_type: MemoryType | None) -> T:
        """One store call, with the client open throughout (an embedded engine is not
        closed under it: `chroma_engine`)."""
        with self._source().using() as client:
            return fn(client if memory_type is None else self._handle(client, memory_type))

    def _source(self) -> Remote | chroma_engine.EmbeddedChroma:
        """The server's client, or the embedded engine (acquired with its record cache on
        first use)."""
        if self._remote is not None:
            return self._remote
        if (engine := self._engine) is not None:
            return engine
        with self._lock:
            if self._closed:
                raise StoreError(f"The vector store at {self._path} is closed; open a new one.")
            if self._engine is None:
                assert self._path is not None
                self._engine, self._cache = chroma_engine.acquire(
                    self._path, self._prefix, self._cache_records, self._cache_bytes
                )
                self._handles_epoch = self._cache.epoch
            return self._engine

    def _failure(self, what: str, exc: Exception) -> StoreError:
        if isinstance(exc, ChromaNotFoundError):
            self._forget_collections()
            return StoreError(
                f"{self._location}: {what} failed: its collection was deleted meanwhile "
                f"(reset by another store or process?) - retry ({exc})"
            )
        return self._error(what, exc)

    def _forget_collections(self) -> None:
        """Collections were deleted: the next call opens them afresh, and the cache drops
        what they held."""
        if self._cache is not None:
            self._cache.clear()
        self._judged.clear()
        with self._lock:
            self._collections.clear()
            if self._cache is not None:
                self._handles_epoch = self._cache.epoch

    def _handle(self, client: Any, memory_type: MemoryType) -> Any:
        """The collection of `memory_type` on the open `client` (created if missing)."""
        with self._lock:
            if (cache := self._cache) is not None and cache.epoch != self._handles_epoch:
                self._collections.clear()  # another store on this path dropped them
                self._handles_epoch = cache.epoch
            known = self._collections.get(memory_type)
            if known is not None and known[0] is client:
                return known[1]
            self._types.spec(memory_type)  # a type it holds: no stray collection
            try:
                collection = client.get_or_create_collection(
                    self.collection_name(memory_type),
                    configuration={"hnsw": {"space": "cosine", "sync_threshold": SYNC_THRESHOLD}},
                    embedding_function=None,
                )
            except ChromaNotFoundError as exc:  # e.g. a server's tenant or database
                raise self._error(f"opening collection {memory_type.value}", exc) from exc
            self._claim(collection)
            if cache is not None:
                since = cache.generation
                if collection.count() == 0:
                    cache.set_empty(collection.name, since=since)
            self._collections[memory_type] = (client, collection)
            return collection

    def _claim(self, collection: Any) -> None:
        """Record this prefix (`OWNER_KEY`) and the embedder in the collection's metadata,
        or refuse the collection: it is another prefix's (a custom type whose name ends
        another project's: type `eu_semantic` of project acme is project acme_eu's
        `semantic`), or it holds vectors of another model (an empty one is taken over; one
        written before models were recorded is taken to be of the current one)."""
        metadata = dict(collection.metadata or {})
        owner = metadata.get(OWNER_KEY, self._prefix)
        if owner != self._prefix:
            raise ConfigurationError(
                f"{self._location}: collection {collection.name} belongs to the collection "
                f"prefix {owner!r} (another project or deployment), not to {self._prefix!r}: "
                "name the memory type otherwise"
            )
        wanted = {OWNER_KEY: self._prefix}
        if (embedder := self._embedder) is not None:
            recorded = metadata.get(EMBEDDER_KEY)
            if recorded not in (None, embedder) and collection.count() > 0:
                raise ConfigurationError(
                    f"{self._location}: collection {collection.name} holds vectors of the "
                    f"embedding model {recorded!r}, not of the configured {embedder!r}; "
                    f"vectors of two models must not be mixed. Configure {recorded!r} again, "
                    f"or use a new data_dir or vector.collection_prefix for {embedder!r} (or "
                    "`octomem reset` this store, which deletes its memories)"
                )
            wanted[EMBEDDER_KEY] = embedder
        if any(metadata.get(key) != value for key, value in wanted.items()):
            collection.modify(metadata={**metadata, **wanted})

    async def _on(self, what: str, memory_type: MemoryType, method: str, **kwargs: Any) -> Any:
        """`collection.<method>(**kwargs)` on the collection of `memory_type`."""
        return await self._call(
            what, lambda collection: getattr(collection, method)(**kwargs), memory_type
        )

    def _parse(
        self,
        payload: Any,
        entry_id: str,
        memo: parsed.Memo | None = None,
        memory_type: MemoryType | None = None,
    ) -> MemoryBase:
        """The record stored as `payload` (`memo`: one parsed from the same JSON before;
        `memory_type`: its collection's type)."""
        try:
            text = str(payload) if payload is not None else ""
            read = functools.partial(self._types.record_from_json, memory_type=memory_type)
            return parsed.record(entry_id, text, read, memo)
        except Exception as exc:
            raise StoreError(
                f"{self._location}: entry {entry_id!r} has no readable record; it was not "
                f"written by octomem or is corrupt - delete it or reset the store ({exc})"
            ) from exc

    async def _known_empty(self, memory_type: MemoryType) -> bool:
        """Known (to this process's cache) to hold no entries; opens the collection first,
        which tells the cache whether it is empty."""
        if not self._opened(memory_type):
            await self._call("opening collection", lambda collection: None, memory_type)
        return self.known_empty(memory_type)

    def _opened(self, memory_type: MemoryType) -> bool:
        """Whether the collection's handle is one on the open client (a hint: the engine
        may close meanwhile, and the next call opens it again)."""
        known = self._collections.get(memory_type)
        cache = self._cache
        return (
            known is not None
            and known[0] is self._source().client
            and (cache is None or cache.epoch == self._handles_epoch)
        )

    @property
    def concurrent_writes(self) -> bool:
        """A server's writes overlap (an embedded engine has one writer: nothing to gain)."""
        return self._remote is not None

    def known_empty(self, memory_type: MemoryType) -> bool:
        cache = self._cache
        return cache is not None and cache.is_empty(self.collection_name(MemoryType(memory_type)))

    async def _write(
        self,
        what: str,
        memory_type: MemoryType,
        entry_ids: Sequence[str],
        method: str,
        written: Mapping[str, str] | None = None,
        *,
        fence: Fence | None,
        **kwargs: Any,
    ) -> None:
        """Run a Chroma write (`written`: the record JSON an upsert stores; None for a
        delete) and keep the cache exact: it is updated when Chroma has finished, even if
        the caller is cancelled before (the worker thread cannot be stopped). A writer
        holding leases (`fence`) checks them before and after (Chroma has no conditional
        writes: `octomem.stores.fence`)."""
        await self._write_to(
            self.collection_name(memory_type),
            entry_ids,
            lambda: self._on(what, memory_type, method, **kwargs),
            written,
            fence=fence,
        )

    async def _write_to(
        self,
        name: str,
        entry_ids: Sequence[str],
        run: Callable[[], Awaitable[Any]],
        written: Mapping[str, str] | None = None,
        *,
        fence: Fence | None,
    ) -> None:
        """`_write`'s fencing and cache keeping around `run`, a write to collection `name`."""
        if self._remote is not None:
            await gather.verify(fence)
        self._judged.forget(entry_ids)
        self._source()  # the cache of an embedded store exists from here on
        cache = self._cache
        if cache is None:
            try:
                await run()
            finally:  # as the cache does: also what a search read meanwhile
                self._judged.forget(entry_ids)
            if self._remote is not None:
                await gather.confirm(fence, name.removeprefix(f"{self._prefix}_"), list(entry_ids))
            return
        token = cache.begin_write(name, entry_ids)
        task = asyncio.ensure_future(run())

        def finished(done: asyncio.Future[Any]) -> None:
            ok = not done.cancelled() and done.exception() is None
            cache.end_write(name, token, entry_ids, written if ok else None)
            self._judged.forget(entry_ids)  # what a search read meanwhile

        task.add_done_callback(finished)
        await asyncio.shield(task)

    def _payloads_read(
        self, name: str, ids: Sequence[str], metas: Sequence[Any], since: int
    ) -> dict[str, Any]:
        """The record JSON of entries Chroma returned, remembered by the cache (`since`:
        its generation before the read)."""
        read = {i: _json(meta) for i, meta in zip(ids, metas, strict=True)}
        if self._cache is not None:
            valid = {i: p for i, p in read.items() if isinstance(p, str)}
            self._cache.remember(name, valid, since=since)
        return read

    async def _payloads(self, memory_type: MemoryType, ids: Sequence[str]) -> dict[str, Any]:
        """Record JSON of those of `ids` that exist: cached, or read from Chroma."""
        self._source()
        name = self.collection_name(memory_type)
        cache = self._cache
        found = cache.lookup(name, ids) if cache is not None else {}
        if missing := [i for i in dict.fromkeys(ids) if i not in found]:
            since = cache.generation if cache is not None else 0
            metas = await self._metadatas(memory_type, missing)
            found.update(self._payloads_read(name, list(metas), list(metas.values()), since))
        return found

    async def _scan(
        self, memory_type: MemoryType, where: Where | None, *, metadata: bool = True
    ) -> list[tuple[str, Any]]:
        """(id, metadata) of every entry matching `where` (without `metadata`: None). Fewer
        than `_PAGE` matches (most scans: one user's facts on a subject) come with their
        metadata in one call. Else the ids come in one call; the metadata by id, `_PAGE`
        entries a call (Chroma's local engine cannot return more in one), each call with
        `where` again, so that an entry changed meanwhile is left out rather than read as
        it no longer matches. Pages by offset would cost the square of the count (each
        skips the ones before it: 30 s for 100,000 entries where one call takes 0.4 s,
        benchmarks/browse_pages.py)."""
        if await self._known_empty(memory_type):
            return []
        if metadata:
            page = await self._on(
                "get", memory_type, "get", where=where, include=["metadatas"], limit=_PAGE
            )
            if len(page["ids"]) < _PAGE:
                return list(zip(page["ids"], page["metadatas"] or [], strict=True))
        found = await self._on("get", memory_type, "get", where=where, include=[])
        ids: list[str] = found["ids"]
        if not metadata:
            return [(entry_id, None) for entry_id in ids]
        return list((await self._metadatas(memory_type, ids, where)).items())

    # --- VectorStore -----------------------------------------------------------------

    async def init(self) -> None:
        for memory_type in self._types:
            if not await self._known_empty(memory_type):
                await self._check_layout(memory_type)

    async def _check_layout(self, memory_type: MemoryType) -> None:
        """Refuse a collection whose entries are of another layout than `LAYOUT` (an older
        octomem's, which wrote none or another): read as this one's, their records would
        be misread. One entry is read: a store is written by one version."""
        page = await self._on(
            "checking the layout", memory_type, "get", limit=1, include=["metadatas"]
        )
        found = [(meta or {}).get(LAYOUT_KEY) for meta in page["metadatas"] or []]
        if found and found[0] != LAYOUT:
            what = "no layout version" if found[0] is None else f"layout {found[0]!r}"
            raise StoreError(
                f"{self._location}: collection {self.collection_name(memory_type)} holds "
                f"entries of {what}, not layout {LAYOUT} - written by another octomem "
                "version (the data format may change between versions before 1.0). Export "
                "the memories with the version that wrote them and import them with this one "
                "(docs/operations.md, Data format before 1.0)"
            )

    def _check_type(self, record: MemoryBase, memory_type: MemoryType) -> None:
        if record.memory_type != memory_type:
            raise InvalidInputError(
                f"record {record.id} is {record.memory_type.value} memory, not "
                f"{MemoryType(memory_type).value}; write it under its own type"
            )
        self._types.check_record(record)

    async def upsert(
        self,
        memory_type: MemoryType,
        records: Sequence[MemoryBase],
        embeddings: Sequence[Sequence[float]],
        *,
        fence: Fence | None = None,
        cache: bool = True,
        added: Collection[str] = (),
    ) -> None:
        if len(records) != len(embeddings):
            raise InvalidInputError(
                f"upsert needs one embedding per record: got {len(records)} records and "
                f"{len(embeddings)} embeddings"
            )
        for payloads, vectors, metadatas in self._pages(memory_type, records, fence, embeddings):
            # an entry added has no keys of an older one (an earlier attempt's are its own)
            known = [
                (rid, meta)
                for rid, meta in zip(payloads, metadatas, strict=True)
                if rid not in added
            ]
            await self._clear_old_keys(memory_type, [k for k, _ in known], [m for _, m in known])
            await self._write(
                "upsert",
                memory_type,
                list(payloads),
                "upsert",
                payloads if cache else None,  # None: the cache drops the ids, keeps none
                ids=list(payloads),
                embeddings=vectors,
                metadatas=metadatas,
                fence=fence,
            )

    def _pages(
        self,
        memory_type: MemoryType,
        records: Sequence[MemoryBase],
        fence: Fence | None,
        embeddings: Sequence[Sequence[float]] | None = None,
    ) -> Iterator[tuple[dict[str, str], list[list[float]], list[dict[str, Any]]]]:
        """The last record of each id (all checked to be of `memory_type` first) with its
        embedding, if given, `_PAGE` at a time: their record JSON by id, their embeddings
        and their entries' metadata."""
        latest: dict[str, tuple[MemoryBase, list[float]]] = {}
        for n, record in enumerate(records):
            self._check_type(record, memory_type)
            vector = [] if embeddings is None else [float(x) for x in embeddings[n]]
            latest[record.id] = (record, vector)  # last one wins
        items = list(latest.values())
        for start in range(0, len(items), _PAGE):
            chunk = items[start : start + _PAGE]
            payloads = {rec.id: rec.model_dump_json() for rec, _ in chunk}
            metadatas = [
                entry_metadata(rec, payloads[rec.id], _stamp(fence, rec.user_id), self._id_key)
                for rec, _ in chunk
            ]
            yield payloads, [vector for _, vector in chunk], metadatas

    async def _clear_old_keys(
        self, memory_type: MemoryType, ids: list[str], metadatas: list[dict[str, Any]]
    ) -> list[str]:
        """Chroma's upsert of a stored id merges its metadata, as its update does: a key the
        record no longer has (a metadata key dropped, a field now empty, an older layout's)
        would stay and still match a filter. Set such keys to None (which removes them)
        in the `metadatas` of the ids stored, in place; returns those ids."""
        if not ids or await self._known_empty(memory_type):
            return []
        old = await self._metadatas(memory_type, ids)
        for entry_id, meta in zip(ids, metadatas, strict=True):
            meta.update({key: None for key in old.get(entry_id) or {} if key not in meta})
        return list(old)

    async def rewrite(
        self, memory_type: MemoryType, records: Sequence[MemoryBase], *, fence: Fence | None = None
    ) -> None:
        for payloads, _, metadatas in self._pages(memory_type, records, fence):
            ids = list(payloads)
            stored = set(await self._clear_old_keys(memory_type, ids, metadatas))
            ids, metadatas = (
                [i for i in ids if i in stored],
                [meta for i, meta in zip(ids, metadatas, strict=True) if i in stored],
            )
            if ids:  # the cache forgets them: an entry deleted meanwhile is not updated
                await self._write(
                    "rewrite",
                    memory_type,
                    ids,
                    "update",
                    ids=ids,
                    metadatas=metadatas,
                    fence=fence,
                )

    async def stamps(self, memory_type: MemoryType, ids: Sequence[str]) -> dict[str, int]:
        return {
            entry_id: token
            for entry_id, meta in (await self._metadatas(memory_type, ids)).items()
            if isinstance(token := (meta or {}).get(STAMP_KEY), int)
        }

    async def _metadatas(
        self,
        memory_type: MemoryType,
        ids: Sequence[str],
        where: Where | None = None,
        *,
        part: str = "metadatas",
    ) -> dict[str, Any]:
        """The stored metadata (or other `part`: "embeddings") of those of `ids` that exist
        (and match `where`), read a page of ids at a time (uncached: `_payloads` reads the
        record JSON through the cache, `_cosines` the vectors)."""
        found: dict[str, Any] = {}
        for start in range(0, len(ids), _PAGE):
            wanted = list(ids[start : start + _PAGE])
            page = await self._on(
                "get", memory_type, "get", ids=wanted, where=where, include=[part]
            )
            values = page[part] if page[part] is not None else []  # an array has no `or`
            found.update(zip(page["ids"], values, strict=True))
        return found

    async def get(
        self, memory_type: MemoryType, ids: Sequence[str], *, memo: parsed.Memo | None = None
    ) -> list[MemoryBase]:
        wanted = list(dict.fromkeys(ids))
        if not wanted or await self._known_empty(memory_type):
            return []
        payloads = await self._payloads(memory_type, wanted)
        found = {i: self._parse(payloads[i], i, memo, memory_type) for i in payloads}
        return [found[i] for i in ids if i in found]

    async def query(
        self,
        memory_type: MemoryType,
        embedding: Sequence[float],
        *,
        where: filters.Filter | None = None,
        live_at: datetime | None = None,
        limit: int = 10,
        memo: parsed.Memo | None = None,
    ) -> list[tuple[MemoryBase, float]]:
        if limit <= 0:
            return []
        chroma_where, check = self._plan(memory_type, where, live_at)
        if await self._known_empty(memory_type):
            return []
        vector = [float(x) for x in embedding]
        pinned = pinned_ids(where)
        if pinned is not None:  # a search among these entries alone, none other read
            # their records are read anyway: the whole filter (and live at `live_at`, if
            # given) is checked on them here, not by Chroma's metadata pre-filter (which
            # costs more than the search among them)
            whole = filters.predicate(where)
            whole = whole if live_at is None else _and_live(whole, live_at)
            among = await self._query_among(vector, memory_type, pinned, whole, limit, memo)
            if among is not None:
                return among
        key = (memory_type, repr(where))
        if chroma_where is not None and key not in self._selective:
            # Chroma's metadata pre-filter costs more than the search when most entries
            # match (one user's store): search unfiltered, filter here, and fall back to
            # the filtered search - remembered for this filter - only when too few match.
            hits = await self._query_unfiltered(
                vector, memory_type, where, live_at, limit, key, memo
            )
            if hits is not None:
                return hits
            if len(self._selective) >= _SELECTIVE_MAX:
                self._selective.clear()
            self._selective.add(key)
        if live_at is not None:  # the search widens until enough are live
            chroma_where, check = self._plan_live(memory_type, where, live_at)
        n_results = limit if check is None else max(4 * limit, 50)
        while True:
            ids, distances, payloads = await self._nearest(
                memory_type, vector, n_results, chroma_where
            )
            if payloads is None:
                payloads = await self._payloads(memory_type, ids)
            hits = []
            for entry_id, distance in zip(ids, distances, strict=True):
                if entry_id not in payloads:
                    continue  # deleted since the search
                record = self._parse(payloads[entry_id], entry_id, memo, memory_type)
                if check is None or check(record):
                    hits.append((record, 1.0 - float(distance)))
            if len(hits) >= limit or len(ids) < n_results:
                return hits[:limit]
            n_results *= 4

    async def _nearest(
        self, memory_type: MemoryType, vector: list[float], n_results: int, where: Where | None
    ) -> tuple[list[str], list[float], dict[str, Any] | None]:
        """The ids of the `n_results` entries nearest `vector` (of those `where` admits),
        nearest first, their distances, and their record JSON if it came with the reply.
        Chroma's metadata is what costs in a reply: an embedded store takes the records
        from its cache (`_payloads`, reading the few it lacks), so None; a server's come
        with the reply (another request costs more), and no cache to remember them in."""
        cached = self._cache is not None
        result = await self._on(
            "query",
            memory_type,
            "query",
            query_embeddings=[vector],
            n_results=n_results,
            where=where,
            include=["distances"] if cached else ["metadatas", "distances"],
        )
        ids, distances = result["ids"][0], result["distances"][0]
        if cached:
            return ids, distances, None
        name = self.collection_name(memory_type)
        return ids, distances, self._payloads_read(name, ids, result["metadatas"][0], 0)

    async def _query_among(
        self,
        vector: list[float],
        memory_type: MemoryType,
        ids: list[str],
        check: Callable[[MemoryBase], bool],
        limit: int,
        memo: parsed.Memo | None,
    ) -> list[tuple[MemoryBase, float]] | None:
        """The best `limit` matches (`check`: the whole filter) among the entries `ids`
        (those the filter confines the search to), best first; None if one of them was
        deleted meanwhile (Chroma refuses an id it lacks): the caller searches as for any
        filter."""
        payloads = await self._payloads(memory_type, ids)  # mostly the cache's
        existing = [i for i in ids if i in payloads]
        if not existing:
            return []
        if self._cache is not None:  # embedded: scored here against the vectors
            scored = await self._cosines(memory_type, vector, existing)
        else:
            try:
                result = await self._on(
                    "query",
                    memory_type,
                    "query",
                    query_embeddings=[vector],
                    ids=existing,
                    n_results=len(existing),
                    include=["distances"],
                )
            except StoreError:
                return None
            distances = result["distances"][0]
            scored = [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], distances, strict=True)]
        hits = []
        for entry_id, score in scored:
            record = self._parse(payloads[entry_id], entry_id, memo, memory_type)
            if check(record):
                hits.append((record, score))
                if len(hits) == limit:
                    break
        return hits

    async def _cosines(
        self, memory_type: MemoryType, vector: list[float], ids: list[str]
    ) -> list[tuple[str, float]]:
        """The cosine similarity of `vector` to the stored vector of each of `ids` that
        exists, best first: the vectors the cache holds, the rest read (and remembered,
        until the entry is written). A call of Chroma costs more than the arithmetic for a
        few thousand entries."""
        cache = self._cache
        assert cache is not None
        name = self.collection_name(memory_type)
        vectors = cache.lookup_vectors(name, ids)
        if missing := [i for i in ids if i not in vectors]:
            since = cache.generation
            stored = await self._metadatas(memory_type, missing, part="embeddings")
            # as the record cache keeps them: float32, as Chroma stores them
            read = {i: np.asarray(v, dtype=np.float32).tobytes() for i, v in stored.items()}
            cache.remember(name, {}, since=since, vectors=read)
            vectors |= read
        found = [i for i in ids if i in vectors]
        if not found:
            return []
        matrix = np.frombuffer(b"".join(vectors[i] for i in found), dtype=np.float32)
        matrix = matrix.reshape(len(found), -1)
        if matrix.shape[1] != len(vector):  # as Chroma's own query refuses it
            found_dims = f"{len(vector)}-dimensional query, {matrix.shape[1]}-dimensional entries"
            raise self._error("query", ValueError(f"embedding dimension mismatch: {found_dims}"))
        scores = cosines(vector, matrix)
        return [(found[k], float(scores[k])) for k in np.argsort(-scores, kind="stable")]

    async def _query_unfiltered(
        self,
        vector: list[float],
        memory_type: MemoryType,
        where: filters.Filter | None,
        live_at: datetime | None,
        limit: int,
        key: tuple[MemoryType, str],
        memo: parsed.Memo | None,
    ) -> list[tuple[MemoryBase, float]] | None:
        """The best `limit` matches among the nearest entries of the whole collection, or
        None when too few entries match for that to pay (Chroma's pre-filter then).

        Superseded versions of a fact lie near its current one, so the search widens (4x at
        a time, up to `_UNFILTERED_MAX`) while the share of matches seen says `limit` lie
        within reach; the width that sufficed is where this filter's next search starts."""
        n_results = max(self._widths.get(key, 0), 2 * limit, limit + 20)
        check = filters.predicate(where)
        verdicts: dict[str, MemoryBase | None] = {}  # entries read so far: record if it matches

        replied: dict[str, Any] | None = None  # a server's reply: the entries' record JSON

        async def judge(entry_ids: list[str]) -> None:
            payloads = replied
            if payloads is None:
                payloads = await self._payloads(memory_type, entry_ids)
            for entry_id in entry_ids:
                record = None
                if entry_id in payloads:  # else deleted since the search
                    # judged as for an earlier search; the caller gets a record of its own
                    payload = str(payloads[entry_id])
                    seen = self._judged.matches(
                        entry_id,
                        payload,
                        functools.partial(self._parse, payload, entry_id, None, memory_type),
                        key[1],
                        check,
                    )
                    if seen is not None and (live_at is None or seen.is_live(live_at)):
                        record = self._parse(payload, entry_id, memo, memory_type)
                verdicts[entry_id] = record

        # nearest ids first, then records for as many as needed (the first `limit`, more
        # only if some fail), as `_nearest` gives them
        while True:
            ids, distances, replied = await self._nearest(memory_type, vector, n_results, None)
            hits: list[tuple[MemoryBase, float]] = []
            start, step = 0, limit
            while start < len(ids) and len(hits) < limit:
                chunk = ids[start : start + step]
                if unread := [i for i in chunk if i not in verdicts]:
                    await judge(unread)
                for entry_id, distance in zip(chunk, distances[start : start + step], strict=True):
                    if (record := verdicts[entry_id]) is not None:
                        hits.append((record, 1.0 - float(distance)))
                        if len(hits) == limit:
                            self._remember_width(key, n_results)
                            return hits
                start += step
                step = max(limit - len(hits), 10)
            if len(ids) < n_results:
                return hits  # the whole collection was searched
            wider = n_results * 4
            if wider > _UNFILTERED_MAX or len(hits) * _UNFILTERED_MAX < limit * len(ids):
                return None  # too few match: `limit` of them are not within reach
            n_results = wider

    def _remember_width(self, key: tuple[MemoryType, str], width: int) -> None:
        if len(self._widths) >= _SELECTIVE_MAX and key not in self._widths:
            self._widths.clear()
        self._widths[key] = width

    async def _listed(
        self,
        memory_type: MemoryType,
        where: Where | None,
        check: Callable[[MemoryBase], bool] | None,
        memo: parsed.Memo | None,
        cache: RecordCache,
        live: bool,
    ) -> list[MemoryBase]:
        """`list`'s matches, in its order, from the ids Chroma finds and the records of the
        cache (those it lacks read): Chroma's metadata is what costs in a reply. Listing
        what is `live`, the closed versions the cache knows of are not parsed (a user's
        history would cost every listing more), and those found are marked."""
        name, since = self.collection_name(memory_type), cache.generation
        ids = [entry_id for entry_id, _ in await self._scan(memory_type, where, metadata=False)]
        if live:
            closed = cache.closed(name, ids)
            ids = [entry_id for entry_id in ids if entry_id not in closed]
        payloads = await self._payloads(memory_type, ids)
        records = [self._parse(payloads[i], i, memo, memory_type) for i in ids if i in payloads]
        if live:
            cache.mark_closed(name, [r.id for r in records if not r.is_current], since=since)
        records.sort(key=lambda record: (as_utc(record.created_at).timestamp(), record.id))
        return records if check is None else [r for r in records if check(r)]

    async def list(
        self,
        memory_type: MemoryType,
        *,
        where: filters.Filter | None = None,
        live_at: datetime | None = None,
        memo: parsed.Memo | None = None,
    ) -> list[MemoryBase]:
        self._source()
        if self._cache is not None:  # embedded: the cache has most of the records
            chroma_where, check = self._plan_live(memory_type, where, live_at)
            live = live_at is not None
            return await self._listed(memory_type, chroma_where, check, memo, self._cache, live)
        chroma_where, check = self._plan(memory_type, where, live_at)
        rows = await self._scan(memory_type, chroma_where)
        rows.sort(key=lambda row: (row[1].get("created_at", 0.0), row[0]))
        records = [self._parse(_json(meta), i, memo, memory_type) for i, meta in rows]
        return [record for record in records if check is None or check(record)]

    async def count(self, memory_type: MemoryType, *, where: filters.Filter | None = None) -> int:
        chroma_where, check = self._plan(memory_type, where, None)
        if chroma_where is None and check is None:
            if await self._known_empty(memory_type):
                return 0
            return int(await self._on("count", memory_type, "count"))
        if check is None:  # Chroma decides every condition: its ids are enough
            return len(await self._scan(memory_type, chroma_where, metadata=False))
        rows = await self._scan(memory_type, chroma_where)
        return sum(
            1
            for entry_id, meta in rows
            if check(self._parse(_json(meta), entry_id, None, memory_type))
        )

    async def delete(
        self, memory_type: MemoryType, ids: Sequence[str], *, fence: Fence | None = None
    ) -> None:
        wanted = list(dict.fromkeys(ids))
        if wanted:
            await self._write("delete", memory_type, wanted, "delete", ids=wanted, fence=fence)

    # --- collections of types its registry lacks (other Orchestrators' custom agents) ---

    def _foreign(self, client: Any) -> dict[str, str]:
        """Collection name by type name, of this prefix's collections (`OWNER_KEY`, not
        the name alone) whose memory type the registry lacks."""
        head = f"{self._prefix}_"
        found = {}
        for collection in client.list_collections():
            name, kind = collection.name, collection.name.removeprefix(head)
            if not name.startswith(head) or kind in self._types or not is_type_name(kind):
                continue
            if (collection.metadata or {}).get(OWNER_KEY) == self._prefix:
                found[kind] = name
        return found

    async def foreign_records(self, where: filters.Filter | None = None) -> ForeignRecords:
        chroma_where, check = self._plan(None, where, None)
        if check is not None:
            raise InvalidInputError(
                "a filter on records of unknown types may name only fields every memory has"
            )

        def read(client: Any) -> ForeignRecords:
            found: ForeignRecords = {}
            for kind, name in self._foreign(client).items():
                collection = client.get_collection(name, embedding_function=None)
                records: list[dict[str, Any]] = []
                while True:
                    page = collection.get(
                        where=chroma_where, include=["metadatas"], limit=_PAGE, offset=len(records)
                    )
                    metas = page["metadatas"] or [None] * len(page["ids"])
                    records += [
                        {"memory_type": kind, **_payload(meta), "id": entry_id}
                        for entry_id, meta in zip(page["ids"], metas, strict=True)
                    ]
                    if len(page["ids"]) < _PAGE:
                        break
                found[kind] = records
            return found

        return await self._call("reading collections of other agents' types", read)

    async def delete_foreign(
        self, memory_type: str, ids: Sequence[str], *, fence: Fence | None = None
    ) -> None:
        wanted = list(dict.fromkeys(ids))

        def delete(client: Any) -> None:
            name = self._foreign(client).get(memory_type)
            if name is not None:
                client.get_collection(name, embedding_function=None).delete(ids=wanted)

        if wanted:
            name = f"{self._prefix}_{memory_type}"
            await self._write_to(name, wanted, lambda: self._call("deleting", delete), fence=fence)

    async def purge_deleted(self, ids: Sequence[str]) -> bool:
        """Embedded: with the engine closed, strip these ids from Chroma's write log and
        zero the index files' unused slots (`chroma_files`). A server: False."""
        if self._remote is not None:
            return False
        engine = self._source()
        assert isinstance(engine, chroma_engine.EmbeddedChroma)
        wanted = list(dict.fromkeys(ids))

        def maintain() -> None:  # in a worker thread, outside `using` (it waits for them)
            with engine.closed() as path:
                purge_log(path, wanted)
                scrub_index_files(path, strict=True)

        try:
            await asyncio.to_thread(maintain)
        except OctomemError:
            raise
        except Exception as exc:
            raise self._error("purging deleted entries", exc) from exc
        return True

    async def drop(self) -> None:
        """Delete this store's collections (all records of every type, those of types its
        registry lacks too); `init` recreates its own."""

        def drop(client: Any) -> None:
            with self._lock:
                self._collections.clear()
            names = [self.collection_name(t) for t in self._types]
            try:
                for name in [*names, *self._foreign(client).values()]:
                    with contextlib.suppress(ChromaNotFoundError):
                        client.delete_collection(name)
            finally:
                self._forget_collections()

        await self._call("dropping collections", drop)

    async def reset(self) -> None:
        await self.drop()
        await self.init()

    async def close(self) -> None:
        self._judged.clear()
        with self._lock:
            self._closed = True
            self._collections.clear()
            engine, self._engine = self._engine, None
            cache, self._cache = self._cache, None
        if self._remote is not None:
            self._remote.close()
        if engine is not None and cache is not None:  # the last store of the path closes
            await asyncio.to_thread(chroma_engine.release, engine, cache)  # Chroma, scrubs


def _json(meta: Mapping[str, Any] | None) -> Any:
    """The record JSON an entry's metadata holds (None if none)."""
    return (meta or {}).get(RECORD_KEY)


def _payload(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """The record JSON of an entry, as an object; {} for an entry octomem did not write."""
    try:
        found = json.loads(_json(meta) or "")
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _unreachable(exc: BaseException) -> bool:
    """The server could not be reached, or the connection broke: a retry may cure it."""
    if isinstance(exc, OctomemError):
        return False  # already judged
    if isinstance(exc, ConnectionError | TimeoutError | httpx.TransportError):
        return True
    # chromadb.HttpClient(...) raises a ValueError when its first heartbeat fails
    return "could not connect" in str(exc).lower()
