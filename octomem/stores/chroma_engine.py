"""The embedded Chroma engine of one directory, shared by every store on it in this process.

Chroma's engine opens its files with its own SQLite library; two SQLite libraries in one
process do not see each other's POSIX locks, so a rewrite through Python's `sqlite3`
beside a running engine corrupts the database. File maintenance (`chroma_files`) therefore
runs only while the engine is closed: every store call runs inside `using()` (a shared slot
of the engine's gate, opening the engine if closed); `closed()` waits for the calls under
way, lets no new one in and closes the engine until the block ends. Waiting file work is
served before new calls. Two stores on one directory share its engine, as they share
Chroma's own per-path system.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings

from octomem.errors import StoreError
from octomem.logs import get_logger
from octomem.stores.chroma_files import (
    held_in_this_process,
    internals_changed,
    scrub_index_files,
    use_write_ahead_log,
)
from octomem.stores.record_cache import DEFAULT_MAX_BYTES, DEFAULT_MAX_RECORDS, RecordCache

log = get_logger(__name__)
_SYSTEMS = "_identifier_to_system"  # see EmbeddedChroma._close
RELEASE_WAIT_S = 30.0  # how long file work waits for Chroma to let go of its files
RELEASE_GRACE_S = 1.0  # where the system cannot tell which files are open


class Gate:
    """A readers-writer lock for threads: many shared holders or one exclusive holder;
    an exclusive request waiting keeps new shared holders out."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0  # exclusive requests waiting

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive or self._waiting:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                if not self._shared:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            try:
                while self._exclusive or self._shared:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class EmbeddedChroma:
    """One directory's embedded Chroma in this process (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.gate = Gate()
        self._client: Any = None
        self._opening = threading.Lock()
        self.users = 0  # stores open on it
        self.caches: dict[str, RecordCache] = {}  # per collection prefix

    @property
    def client(self) -> Any:
        """The open client, or None."""
        return self._client

    @contextlib.contextmanager
    def using(self) -> Iterator[Any]:
        """The open client, for one store call: the engine stays open until it returns."""
        with self.gate.shared():
            yield self._open()

    @contextlib.contextmanager
    def closed(self) -> Iterator[Path]:
        """Exclusive use of the directory's files with the engine closed: no store call of
        this process runs until the block ends (the next one reopens the engine)."""
        with self.gate.exclusive():
            self._close()
            yield self.path

    def _open(self) -> Any:
        with self._opening:
            if self._client is None:
                self.path.mkdir(parents=True, exist_ok=True)
                # the files as the last close left them, or as a crash did: scrubbed before
                # the engine reads them, unless a client of this process has them open
                try:
                    ours = not self._open_elsewhere()
                    if ours:  # a client of this process closed just now may hold them still
                        self._await_release(grace_s=0.0)  # a close of ours waited already
                except StoreError:  # chromadb no longer tells, or they stay held: left alone
                    ours = False
                if ours:
                    scrub_index_files(self.path)
                    use_write_ahead_log(self.path)  # one log sync a write, not ~8
                settings = Settings(anonymized_telemetry=False)
                self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            return self._client

    def _open_elsewhere(self) -> bool:
        """Whether a chromadb client octomem does not own has the files open in this
        process. A Chroma internal (no public API tells it): the registry of running
        systems by path, from which `close` removes the path once its last client is
        closed. Touching the files under such a client corrupts them: even opening the
        database in WAL mode with Python's SQLite truncates the shared-memory index the
        engine has mapped (a disk I/O error, or SIGBUS). Gone from chromadb: nothing is
        known, nothing is touched (`internals_changed`)."""
        running = getattr(SharedSystemClient, _SYSTEMS, None)
        if not isinstance(running, dict):
            raise internals_changed(f"chromadb has no SharedSystemClient.{_SYSTEMS}")
        return str(self.path) in running

    def _close(self) -> None:
        with self._opening:
            client, self._client = self._client, None
        if client is None:
            return
        client.close()  # the last client of the path stops Chroma's system: files released
        if self._open_elsewhere():
            raise StoreError(
                f"embedded Chroma at {self.path} is also opened by a chromadb client that "
                "octomem does not own, so its files cannot be rewritten safely; close that "
                "client (or do not open octomem's data directory with chromadb directly)"
            )
        self._await_release()

    def _await_release(self, grace_s: float = RELEASE_GRACE_S) -> None:
        """Wait until Chroma's engine, stopped, has closed its files: it drops its database
        connections in the background after `close` returns (~50 ms here), and SQLite
        opened from Python while they live truncated the shared-memory index they had
        mapped (the process died of SIGBUS). StoreError if they stay open; where the system
        does not say which files are open, `grace_s` instead."""
        started = time.monotonic()
        deadline, collected = started + RELEASE_WAIT_S, False
        pause = 0.01
        while (held := held_in_this_process(self.path)) != []:
            if held is None:  # the system does not say: a grace period
                if grace_s:
                    gc.collect()
                    time.sleep(grace_s)
                return
            if not collected and time.monotonic() > started + 0.5:
                gc.collect()  # a reference a traceback keeps can hold the engine alive
                collected = True
            if time.monotonic() > deadline:
                raise StoreError(
                    f"embedded Chroma at {self.path} still has {sorted(set(held))} open "
                    f"{RELEASE_WAIT_S:.0f} s after closing, so its files are not rewritten"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


_ENGINES: dict[Path, EmbeddedChroma] = {}
_ENGINES_LOCK = threading.Lock()


def acquire(
    path: Path,
    prefix: str,
    max_records: int = DEFAULT_MAX_RECORDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[EmbeddedChroma, RecordCache]:
    """The engine of `path` in this process and the record cache of its collections
    `prefix` (bounded by the largest bounds its stores ask for); `release` both when the
    store closes."""
    key = Path(path).expanduser().resolve()
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = EmbeddedChroma(key)
        engine.users += 1
        cache = engine.caches.get(prefix)
        if cache is None:
            cache = engine.caches[prefix] = RecordCache(max_records, max_bytes)
        cache.max_records = max(cache.max_records, max_records)
        cache.max_bytes = max(cache.max_bytes, max_bytes)
        cache.users += 1
        return engine, cache


def release(engine: EmbeddedChroma, cache: RecordCache) -> None:
    """One store of the engine closed: the last store of its prefix frees the cache, the
    last store of the path closes the engine and scrubs the index files it wrote (their
    unused slots come from uninitialised memory)."""
    with _ENGINES_LOCK:  # held throughout: a store opening the path meanwhile waits
        cache.users -= 1
        if cache.users <= 0:
            for prefix, value in list(engine.caches.items()):
                if value is cache:
                    del engine.caches[prefix]
            cache.clear()
        engine.users -= 1
        if engine.users > 0:
            return
        if _ENGINES.get(engine.path) is engine:
            del _ENGINES[engine.path]
        try:
            with engine.closed() as path, contextlib.suppress(OSError):
                scrub_index_files(path)
        except StoreError as exc:  # another client keeps it open: its files stay as they are
            log.warning("chroma index files not scrubbed at close", error=str(exc))
