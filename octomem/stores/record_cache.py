"""An in-process cache of record JSON for embedded Chroma, shared by every store on a path
(one per collection prefix, kept by the path's engine: `chroma_engine.acquire`).

Reading entries' metadata is what a Chroma search costs, and recall reads the same records
again and again. Embedded Chroma is single-process, so every write to a path passes
through the stores of this process, which keep the cache exact: writes replace entries (a
bulk write drops them instead: `VectorStore.upsert`'s `cache`), deletes drop them. It also
knows which collections are empty. Stores on a server (written by other processes) never
cache.

It keeps entries' vectors too, within half as many bytes again: those read to score a
query against given entries (`ChromaVectorStore._query_among`, a LangGraph store's
searches), until a write of the entry.

It also knows which entries are closed versions (superseded: never live again), as a
listing of what is live found them, so the next such listing need not parse them.

A read remembers what it fetched (and a listing what it found closed) only if no write
began or ended since it started and none is under way, so an older read never overwrites
what a newer write stored; a write updates the cache only once Chroma has finished it
(even if its caller was cancelled).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

V = TypeVar("V", str, bytes)
DEFAULT_MAX_RECORDS = 100_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# what an entry costs besides its id and JSON strings: its key tuple and its dict slot
_ENTRY_OVERHEAD = 136


def entry_bytes(entry_id: str, payload: str | bytes) -> int:
    """The memory one cached record (or vector) holds (its id and JSON string or vector
    bytes, key and slot)."""
    return sys.getsizeof(entry_id) + sys.getsizeof(payload) + _ENTRY_OVERHEAD


class _Lru(Generic[V]):
    """(collection, id) -> value, least recently used first, and the memory its values
    hold (`entry_bytes`). Not locked: the `RecordCache` that holds it locks."""

    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[str, str], V] = OrderedDict()
        self.nbytes = 0

    def get(self, collection: str, ids: Iterable[str]) -> dict[str, V]:
        found: dict[str, V] = {}
        for entry_id in ids:
            value = self.entries.get((collection, entry_id))
            if value is not None:
                self.entries.move_to_end((collection, entry_id))
                found[entry_id] = value
        return found

    def put(
        self, collection: str, values: Mapping[str, V], max_entries: int, max_bytes: int
    ) -> None:
        """Keep `values`, then drop the least recently used past either bound."""
        for entry_id, value in values.items():
            self.drop((collection, entry_id))
            self.entries[(collection, entry_id)] = value
            self.nbytes += entry_bytes(entry_id, value)
        while len(self.entries) > max_entries or self.nbytes > max_bytes:
            (_, entry_id), value = self.entries.popitem(last=False)
            self.nbytes -= entry_bytes(entry_id, value)

    def drop(self, key: tuple[str, str]) -> None:
        value = self.entries.pop(key, None)
        if value is not None:
            self.nbytes -= entry_bytes(key[1], value)

    def clear(self) -> None:
        self.entries.clear()
        self.nbytes = 0


class RecordCache:
    """(collection, id) -> record JSON (LRU, at most `max_records` records and `max_bytes`
    bytes) and the names of the collections known to be empty.

    A write brackets the store call with `begin_write` and `end_write`. Meanwhile no read
    is cached and the written ids are not served, and a `clear` in between keeps the
    write's records out of the cache.
    """

    def __init__(
        self, max_records: int = DEFAULT_MAX_RECORDS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.max_records = max_records
        self.max_bytes = max_bytes
        self._records = _Lru[str]()
        self._vectors = _Lru[bytes]()  # float32
        self._empty: set[str] = set()
        self._closed: dict[str, set[str]] = {}  # per collection, ids of closed versions
        self._marks = 0  # ids in `_closed`
        self._lock = threading.Lock()
        self.generation = 0  # bumped by every write and clear
        self._epoch = 0  # bumped by every clear
        self._writing = 0  # writes begun and not yet ended
        self.users = 0  # stores open on this cache

    @property
    def nbytes(self) -> int:
        """What the cached records hold, by `entry_bytes`."""
        return self._records.nbytes

    def lookup(self, collection: str, ids: Iterable[str]) -> dict[str, str]:
        """The cached JSON of those ids that are cached."""
        with self._lock:
            return self._records.get(collection, ids)

    def lookup_vectors(self, collection: str, ids: Iterable[str]) -> dict[str, bytes]:
        """The cached vectors (float32 bytes) of those ids that are cached."""
        with self._lock:
            return self._vectors.get(collection, ids)

    def remember(
        self,
        collection: str,
        payloads: Mapping[str, str],
        *,
        since: int,
        vectors: Mapping[str, bytes] | None = None,
    ) -> None:
        """Cache what a read fetched (record JSON, `vectors`), unless a write began or ended
        after the read started (`since` is the generation taken before it) or is still
        under way."""
        with self._lock:
            if since == self.generation and not self._writing:
                self._put(collection, payloads, vectors or {})

    def closed(self, collection: str, ids: Iterable[str]) -> set[str]:
        """Those of `ids` whose stored record is known to be a closed version."""
        with self._lock:
            marked = self._closed.get(collection, set())
            return {entry_id for entry_id in ids if entry_id in marked}

    def mark_closed(self, collection: str, ids: Iterable[str], *, since: int) -> None:
        """The records of `ids` a read found closed (`since`: the generation before it),
        kept as `remember` keeps a read; at most a quarter of `max_records` marks (~110
        bytes each; past it, they start again empty)."""
        with self._lock:
            if since != self.generation or self._writing or self.max_records <= 0:
                return
            if self._marks >= self.max_records // 4:
                self._closed, self._marks = {}, 0
            marked = self._closed.setdefault(collection, set())
            self._marks -= len(marked)
            marked.update(ids)
            self._marks += len(marked)

    def begin_write(self, collection: str, ids: Iterable[str]) -> int:
        """A write of (or deletion of) these ids starts; returns the token for `end_write`."""
        with self._lock:
            self.generation += 1
            self._writing += 1
            self._empty.discard(collection)  # wrongly non-empty only costs a query
            for entry_id in ids:
                self._drop((collection, entry_id))
            return self._epoch

    def end_write(
        self, collection: str, token: int, ids: Iterable[str], written: Mapping[str, str] | None
    ) -> None:
        """The write has finished: `written` is what it stored (None if it failed or
        deleted); cached only if no clear happened since it began. The vectors of `ids`
        are read again when next asked for."""
        with self._lock:
            self.generation += 1
            self._writing -= 1
            for entry_id in ids:
                self._drop((collection, entry_id))
            if written is not None and token == self._epoch:
                self._put(collection, written, {})

    def _put(
        self, collection: str, payloads: Mapping[str, str], vectors: Mapping[str, bytes]
    ) -> None:
        if self.max_records <= 0 or self.max_bytes <= 0:
            return
        self._records.put(collection, payloads, self.max_records, self.max_bytes)
        self._vectors.put(collection, vectors, self.max_records, self.max_bytes // 2)

    def _drop(self, key: tuple[str, str]) -> None:
        self._records.drop(key)
        self._vectors.drop(key)
        if key[1] in (marked := self._closed.get(key[0], set())):
            marked.discard(key[1])
            self._marks -= 1

    @property
    def epoch(self) -> int:
        """Bumped by every clear: collection handles opened before it are stale."""
        return self._epoch

    def is_empty(self, collection: str) -> bool:
        return collection in self._empty

    def set_empty(self, collection: str, *, since: int) -> None:
        """The collection held no entries when a count that started at generation `since`
        ran: remembered unless a write began or ended meanwhile."""
        with self._lock:
            if since == self.generation and not self._writing:
                self._empty.add(collection)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._epoch += 1
            self._records.clear()
            self._vectors.clear()
            self._empty.clear()
            self._closed, self._marks = {}, 0
