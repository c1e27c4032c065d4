"""VectorStore on Chroma: embedded (PersistentClient) or a server (HttpClient).

One collection per memory type, named ``{prefix}_{memory_type}``, cosine space, no Chroma
embedding function (embeddings are always given). Entry metadata and filter pushdown are
laid out in `octomem.stores.chroma_layout`; records round-trip exactly through it. No
Chroma document is stored (octomem never searches Chroma's full-text index, and indexing
one cost ~13% of an upsert). What Chroma cannot filter exactly is evaluated in Python over
an over-fetched set.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import chromadb
import httpx
from chromadb.config import Settings
from chromadb.errors import NotFoundError as ChromaNotFoundError

from octomem import filters
from octomem.errors import (
    ConfigurationError,
    InvalidInputError,
    OctomemError,
    StoreError,
    StoreUnavailableError,
)
from octomem.logs import get_logger
from octomem.models import (
    MemoryBase,
    MemoryType,
    record_from_json,
    record_to_json,
)
from octomem.stores import record_cache
from octomem.stores.chroma_files import purge_log, scrub_index_files
from octomem.stores.chroma_layout import (
    LAYOUT,
    LAYOUT_KEY,
    RECORD_KEY,
    Where,
    entry_metadata,
    plan,
)
from octomem.stores.record_cache import RecordCache

log = get_logger(__name__)
_PAGE = 1000
_FIRST_PAUSE_S = 0.05  # retries of a server call back off from here, doubling ...
_MAX_PAUSE_S = 2.0  # ... up to this
_SELECTIVE_MAX = 4096
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class ChromaVectorStore:
    """Memory records and embeddings in Chroma; see `octomem.stores.base.VectorStore`."""

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        prefix: str = "octomem",
        location: str = "Chroma",
        cache_path: Path | None = None,
        cache_records: int = record_cache.DEFAULT_MAX_RECORDS,
        retry_s: float = 0.0,
    ) -> None:
        if not _PREFIX_RE.match(prefix):
            raise ConfigurationError(
                f"invalid Chroma collection prefix {prefix!r}: use 1-63 letters, digits, "
                "'.', '_' or '-', starting with a letter or digit"
            )
        self._connect = connect
        self._prefix = prefix
        self._location = location
        self._retry_s = retry_s
        self._client: Any = None
        self._collections: dict[MemoryType, Any] = {}
        self._lock = threading.Lock()
        self._selective: set[tuple[MemoryType, str]] = set()  # filters to push down
        # embedded only (see record_cache): acquired on connect, released on close
        self._cache_path = cache_path
        self._cache_records = cache_records
        self._cache: RecordCache | None = None
        self._handles_epoch = 0  # the cache's epoch when the collection handles were valid

    @classmethod
    def embedded(
        cls,
        path: Path,
        *,
        prefix: str = "octomem",
        cache_records: int = record_cache.DEFAULT_MAX_RECORDS,
    ) -> ChromaVectorStore:
        """Chroma running in this process, persisted under `path`; up to `cache_records`
        records are cached in memory (0: none)."""
        path = Path(path)

        def connect() -> Any:
            path.mkdir(parents=True, exist_ok=True)
            scrub_index_files(path)
            settings = Settings(anonymized_telemetry=False)
            return chromadb.PersistentClient(path=str(path), settings=settings)

        return cls(
            connect,
            prefix=prefix,
            location=f"embedded Chroma at {path}",
            cache_path=path,
            cache_records=cache_records,
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
    ) -> ChromaVectorStore:
        """A Chroma server (`chroma run`); the connection is opened on first use. A call
        that cannot reach the server, or loses the connection, is tried again for up to
        `retry_s` seconds (every call is idempotent: upserts and deletes by id, reads)
        before it fails with `StoreUnavailableError`."""

        def connect() -> Any:
            settings = Settings(anonymized_telemetry=False)
            return chromadb.HttpClient(
                host=host, port=port, ssl=ssl, headers=headers, settings=settings
            )

        location = f"Chroma server at {host}:{port}"
        return cls(connect, prefix=prefix, location=location, retry_s=retry_s)

    @classmethod
    def from_client(cls, client: Any, *, prefix: str = "octomem") -> ChromaVectorStore:
        """Wrap an existing chromadb client (never cached: do not mix it with embedded
        stores on the same path in one process, whose cache would miss its writes)."""
        return cls(lambda: client, prefix=prefix, location="Chroma")

    def collection_name(self, memory_type: MemoryType) -> str:
        return f"{self._prefix}_{memory_type.value}"

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

    async def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a Chroma call in a worker thread: again, for up to `retry_s`, while the
        server cannot be reached; its errors as octomem's."""
        deadline = time.monotonic() + self._retry_s
        pause = _FIRST_PAUSE_S
        while True:
            try:
                return await asyncio.to_thread(fn, *args, **kwargs)
            except OctomemError:
                raise
            except Exception as exc:
                if not _unreachable(exc) or time.monotonic() + pause > deadline:
                    raise self._failure(what, exc) from exc
                log.warning("chroma server unreachable; retrying", what=what, error=str(exc))
            await asyncio.sleep(random.uniform(pause / 2, pause))
            pause = min(pause * 2, _MAX_PAUSE_S)

    def _failure(self, what: str, exc: Exception) -> StoreError:
        if isinstance(exc, ChromaNotFoundError):
            if self._cache is not None:  # what it holds was in the deleted collection
                self._cache.clear()
            self._forget_collections()  # the next call opens them afresh
            return StoreError(
                f"{self._location}: {what} failed: its collection was deleted meanwhile "
                f"(reset by another store or process?) - retry ({exc})"
            )
        return self._error(what, exc)

    def _forget_collections(self) -> None:
        with self._lock:
            self._collections.clear()
            if self._cache is not None:
                self._handles_epoch = self._cache.epoch

    def _connected(self) -> Any:
        """The client (and the record cache of an embedded store); call under the lock."""
        if self._client is None:
            self._client = self._connect()
        if self._cache_path is not None and self._cache is None:
            self._cache = record_cache.acquire(self._cache_path, self._prefix, self._cache_records)
            self._handles_epoch = self._cache.epoch
        return self._client

    def _open(self, memory_type: MemoryType) -> Any:
        with self._lock:
            self._connected()
            if memory_type not in self._collections:
                try:
                    collection = self._client.get_or_create_collection(
                        self.collection_name(memory_type),
                        configuration={"hnsw": {"space": "cosine"}},
                        embedding_function=None,
                    )
                except ChromaNotFoundError as exc:  # e.g. a server's tenant or database
                    raise self._error(f"opening collection {memory_type.value}", exc) from exc
                if (cache := self._cache) is not None:
                    since = cache.generation
                    if collection.count() == 0:
                        cache.set_empty(collection.name, since=since)
                self._collections[memory_type] = collection
            return self._collections[memory_type]

    async def _collection(self, memory_type: MemoryType) -> Any:
        memory_type = MemoryType(memory_type)
        if (cache := self._cache) is not None and cache.epoch != self._handles_epoch:
            self._forget_collections()  # another store on this path dropped them
        if (collection := self._collections.get(memory_type)) is not None:
            return collection
        return await self._call(f"opening collection {memory_type.value}", self._open, memory_type)

    def _record(self, meta: Mapping[str, Any] | None, entry_id: str) -> MemoryBase:
        return self._parse((meta or {}).get(RECORD_KEY), entry_id)

    def _parse(self, payload: Any, entry_id: str) -> MemoryBase:
        try:
            return record_from_json(str(payload) if payload is not None else "")
        except Exception as exc:
            raise StoreError(
                f"{self._location}: entry {entry_id!r} has no readable record; it was not "
                f"written by octomem or is corrupt - delete it or reset the store ({exc})"
            ) from exc

    def _empty(self, collection: Any) -> bool:
        """Known (to this process's cache) to hold no entries."""
        return self._cache is not None and self._cache.is_empty(collection.name)

    def known_empty(self, memory_type: MemoryType) -> bool:
        cache = self._cache
        return cache is not None and cache.is_empty(self.collection_name(MemoryType(memory_type)))

    async def _write(
        self,
        what: str,
        collection: Any,
        entry_ids: Sequence[str],
        fn: Callable[..., Any],
        written: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Run a Chroma write (`written`: the record JSON an upsert stores; None for a
        delete) and keep the cache exact: it is updated when Chroma has finished, even if
        the caller is cancelled before (the worker thread cannot be stopped)."""
        cache = self._cache
        if cache is None:
            await self._call(what, fn, **kwargs)
            return
        token = cache.begin_write(collection.name, entry_ids)

        def locked(**arguments: Any) -> Any:
            with cache.files:
                return fn(**arguments)

        task = asyncio.ensure_future(self._call(what, locked, **kwargs))

        def finished(done: asyncio.Future[Any]) -> None:
            ok = not done.cancelled() and done.exception() is None
            cache.end_write(collection.name, token, entry_ids, written if ok else None)

        task.add_done_callback(finished)
        await asyncio.shield(task)

    def _payloads_read(
        self, collection: Any, ids: Sequence[str], metas: Sequence[Any], since: int
    ) -> dict[str, Any]:
        """The record JSON of entries Chroma returned, remembered by the cache (`since`:
        its generation before the read)."""
        read = {i: (meta or {}).get(RECORD_KEY) for i, meta in zip(ids, metas, strict=True)}
        if self._cache is not None:
            valid = {i: p for i, p in read.items() if isinstance(p, str)}
            self._cache.remember(collection.name, valid, since=since)
        return read

    async def _payloads(self, memory_type: MemoryType, ids: Sequence[str]) -> dict[str, Any]:
        """Record JSON of those of `ids` that exist: cached, or read from Chroma."""
        collection = await self._collection(memory_type)
        cache = self._cache
        found = cache.lookup(collection.name, ids) if cache is not None else {}
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            since = cache.generation if cache is not None else 0
            page = await self._call("get", collection.get, ids=missing, include=["metadatas"])
            found.update(
                self._payloads_read(collection, page["ids"], page["metadatas"] or [], since)
            )
        return found

    async def _scan(self, memory_type: MemoryType, where: Where | None) -> list[tuple[str, Any]]:
        collection = await self._collection(memory_type)
        if self._empty(collection):
            return []
        rows: list[tuple[str, Any]] = []
        while True:
            collection = await self._collection(memory_type)  # new if reset meanwhile
            page = await self._call(
                "get",
                collection.get,
                where=where,
                include=["metadatas"],
                limit=_PAGE,
                offset=len(rows),
            )
            rows.extend(zip(page["ids"], page["metadatas"] or [], strict=True))
            if len(page["ids"]) < _PAGE:
                return rows

    # --- VectorStore -----------------------------------------------------------------

    async def init(self) -> None:
        for memory_type in MemoryType:
            await self._collection(memory_type)

    async def upsert(
        self,
        memory_type: MemoryType,
        records: Sequence[MemoryBase],
        embeddings: Sequence[Sequence[float]],
    ) -> None:
        if len(records) != len(embeddings):
            raise InvalidInputError(
                f"upsert needs one embedding per record: got {len(records)} records and "
                f"{len(embeddings)} embeddings"
            )
        latest: dict[str, tuple[MemoryBase, list[float]]] = {}
        for record, embedding in zip(records, embeddings, strict=True):
            _check_type(record, memory_type)
            latest[record.id] = (record, [float(x) for x in embedding])  # last one wins
        if not latest:
            return
        items = list(latest.items())
        for start in range(0, len(items), _PAGE):
            collection = await self._collection(memory_type)  # new if reset meanwhile
            chunk = items[start : start + _PAGE]
            payloads = {rid: record_to_json(rec) for rid, (rec, _) in chunk}
            await self._write(
                "upsert",
                collection,
                list(payloads),
                collection.upsert,
                payloads,
                ids=list(payloads),
                embeddings=[emb for _, (_, emb) in chunk],
                metadatas=[entry_metadata(rec, payloads[rid]) for rid, (rec, _) in chunk],
            )

    async def rewrite(self, memory_type: MemoryType, records: Sequence[MemoryBase]) -> None:
        latest: dict[str, MemoryBase] = {}
        for record in records:
            _check_type(record, memory_type)
            latest[record.id] = record  # last one wins
        items = list(latest.values())
        for start in range(0, len(items), _PAGE):
            chunk = items[start : start + _PAGE]
            collection = await self._collection(memory_type)  # new if reset meanwhile
            stored = await self._call(
                "get", collection.get, ids=[r.id for r in chunk], include=["metadatas"]
            )
            old = dict(zip(stored["ids"], stored["metadatas"] or [], strict=True))
            ids, metadatas = [], []
            for record in chunk:
                if record.id in old:
                    meta = entry_metadata(record, record_to_json(record))
                    # Chroma's update merges entry metadata: keys the record no longer
                    # has (an older layout's) are removed by setting them to None
                    meta.update({key: None for key in old[record.id] or {} if key not in meta})
                    ids.append(record.id)
                    metadatas.append(meta)
            if ids:  # the cache forgets them: an entry deleted meanwhile is not updated
                await self._write(
                    "rewrite", collection, ids, collection.update, ids=ids, metadatas=metadatas
                )

    async def legacy_records(self, memory_type: MemoryType, *, limit: int) -> list[MemoryBase]:
        collection = await self._collection(memory_type)
        if limit <= 0 or self._empty(collection):
            return []
        page = await self._call(
            "get",
            collection.get,
            where={LAYOUT_KEY: {"$ne": LAYOUT}},  # entries without the key match too
            include=["metadatas"],
            limit=limit,
        )
        return [
            self._record(meta, entry_id)
            for entry_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True)
        ]

    async def get(self, memory_type: MemoryType, ids: Sequence[str]) -> list[MemoryBase]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        collection = await self._collection(memory_type)
        if self._empty(collection):
            return []
        payloads = await self._payloads(memory_type, wanted)
        found = {entry_id: self._parse(payloads[entry_id], entry_id) for entry_id in payloads}
        return [found[i] for i in ids if i in found]

    async def query(
        self,
        memory_type: MemoryType,
        embedding: Sequence[float],
        *,
        where: filters.Filter | None = None,
        live_at: datetime | None = None,
        limit: int = 10,
    ) -> list[tuple[MemoryBase, float]]:
        if limit <= 0:
            return []
        chroma_where, check = plan(memory_type, where, live_at)
        collection = await self._collection(memory_type)
        if self._empty(collection):
            return []
        vector = [float(x) for x in embedding]
        key = (memory_type, repr(where))
        if chroma_where is not None and key not in self._selective:
            # Chroma's metadata pre-filter costs more than the search when most entries
            # match (one user's store): search unfiltered, filter here, and fall back to
            # the filtered search - remembered for this filter - only when too few match.
            hits = await self._query_unfiltered(
                collection, vector, memory_type, where, live_at, limit
            )
            if hits is not None:
                return hits
            if len(self._selective) >= _SELECTIVE_MAX:
                self._selective.clear()
            self._selective.add(key)
        n_results = limit if check is None else max(4 * limit, 50)
        while True:
            collection = await self._collection(memory_type)  # new if reset meanwhile
            since = self._cache.generation if self._cache is not None else 0
            result = await self._call(
                "query",
                collection.query,
                query_embeddings=[vector],
                n_results=n_results,
                where=chroma_where,
                include=["metadatas", "distances"],
            )
            ids, metas, distances = (result[k][0] for k in ("ids", "metadatas", "distances"))
            payloads = self._payloads_read(collection, ids, metas, since)
            hits = []
            for entry_id, distance in zip(ids, distances, strict=True):
                record = self._parse(payloads[entry_id], entry_id)
                if check is None or check(record):
                    hits.append((record, 1.0 - float(distance)))
            if len(hits) >= limit or len(ids) < n_results:
                return hits[:limit]
            n_results *= 4

    async def _query_unfiltered(
        self,
        collection: Any,
        vector: list[float],
        memory_type: MemoryType,
        where: filters.Filter | None,
        live_at: datetime | None,
        limit: int,
    ) -> list[tuple[MemoryBase, float]] | None:
        """The best `limit` matches among the nearest entries of the whole collection, or
        None when fewer match than asked and the collection holds more entries."""
        n_results = max(2 * limit, limit + 20)
        check = filters.predicate(where)
        # nearest ids first (cheap), then records for as many as needed (fetching entries'
        # metadata is what costs, so read the first `limit` and more only if some fail)
        result = await self._call(
            "query",
            collection.query,
            query_embeddings=[vector],
            n_results=n_results,
            include=["distances"],
        )
        ids, distances = result["ids"][0], result["distances"][0]
        hits: list[tuple[MemoryBase, float]] = []
        start, step = 0, limit
        while start < len(ids) and len(hits) < limit:
            chunk = ids[start : start + step]
            payloads = await self._payloads(memory_type, chunk)
            for entry_id, distance in zip(chunk, distances[start : start + step], strict=True):
                if entry_id not in payloads:
                    continue  # deleted since the search
                record = self._parse(payloads[entry_id], entry_id)
                if (live_at is None or record.is_live(live_at)) and check(record):
                    hits.append((record, 1.0 - float(distance)))
                    if len(hits) == limit:
                        return hits
            start += step
            step = max(limit - len(hits), 10)
        return hits if len(ids) < n_results else None

    async def list(
        self,
        memory_type: MemoryType,
        *,
        where: filters.Filter | None = None,
        live_at: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[MemoryBase]:
        chroma_where, check = plan(memory_type, where, live_at)
        rows = await self._scan(memory_type, chroma_where)
        rows.sort(key=lambda row: (row[1].get("created_at", 0.0), row[0]))
        end = None if limit is None else offset + max(limit, 0)
        if check is None:
            return [self._record(meta, entry_id) for entry_id, meta in rows[offset:end]]
        records = [self._record(meta, entry_id) for entry_id, meta in rows]
        return [record for record in records if check(record)][offset:end]

    async def count(self, memory_type: MemoryType, *, where: filters.Filter | None = None) -> int:
        chroma_where, check = plan(memory_type, where, None)
        if chroma_where is None and check is None:
            collection = await self._collection(memory_type)
            if self._empty(collection):
                return 0
            return int(await self._call("count", collection.count))
        rows = await self._scan(memory_type, chroma_where)
        if check is None:
            return len(rows)
        return sum(1 for entry_id, meta in rows if check(self._record(meta, entry_id)))

    async def delete(self, memory_type: MemoryType, ids: Sequence[str]) -> None:
        wanted = list(dict.fromkeys(ids))
        if wanted:
            collection = await self._collection(memory_type)
            await self._write("delete", collection, wanted, collection.delete, ids=wanted)

    async def purge_deleted(self, ids: Sequence[str]) -> bool:
        """Embedded: Chroma keeps every write in its log (`embeddings_queue` in
        chroma.sqlite3, with the entry's metadata - our record JSON - and embedding) until
        its vector index is next saved, and deleted rows stay in the file's free pages.
        Each logged write of these (deleted) ids becomes the bare delete Chroma itself logs
        (no embedding, no metadata), so replaying the log still ends with them absent; then
        the file is rewritten (VACUUM). A server: its API is all there is (False)."""
        if self._cache_path is None:
            return False
        wanted = list(dict.fromkeys(ids))
        path = self._cache_path / "chroma.sqlite3"

        await self._call("purging deleted entries", purge_log, path, wanted)
        await self._call("scrubbing index files", self._scrub, self._cache_path)
        return True

    def _scrub(self, cache_path: Path) -> None:
        """Zero the unused slots of the index files, while no write of this process runs."""
        if self._cache is None:
            scrub_index_files(cache_path)
            return
        with self._cache.files:
            scrub_index_files(cache_path)

    async def drop(self) -> None:
        """Delete this store's collections (all records of every type); `init` recreates them."""

        def drop() -> None:
            with self._lock:
                self._connected()
                self._collections.clear()
                try:
                    for memory_type in MemoryType:
                        with contextlib.suppress(ChromaNotFoundError):
                            self._client.delete_collection(self.collection_name(memory_type))
                finally:
                    if self._cache is not None:
                        self._cache.clear()
                        self._handles_epoch = self._cache.epoch

        await self._call("dropping collections", drop)

    async def reset(self) -> None:
        await self.drop()
        await self.init()

    async def close(self) -> None:
        with self._lock:
            self._collections.clear()
            if self._client is not None and self._cache_path is not None:
                with contextlib.suppress(OSError):
                    self._scrub(self._cache_path)
            self._client = None
            if self._cache is not None:
                record_cache.release(self._cache)
                self._cache = None


def _check_type(record: MemoryBase, memory_type: MemoryType) -> None:
    if record.memory_type != memory_type:
        raise InvalidInputError(
            f"record {record.id} is {record.memory_type.value} memory, not "
            f"{MemoryType(memory_type).value}; write it under its own type"
        )


def _unreachable(exc: BaseException) -> bool:
    """The server could not be reached, or the connection broke: a retry may cure it."""
    if isinstance(exc, ConnectionError | TimeoutError | httpx.TransportError):
        return True
    # chromadb.HttpClient(...) raises a ValueError when its first heartbeat fails
    return "could not connect" in str(exc).lower()
