"""Embedded graph store on ladybug (the maintained Kùzu fork), the default graph backend:
the session (`LadybugSession`: a worker thread on one connection under a lock), the
dialect (`LADYBUG`), leases in this process's memory, and compaction, under
`cypher_graph.CypherGraphStore`'s data operations.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, LiteralString, TypeVar

import ladybug as lb
from opentelemetry import trace

from octomem.errors import OctomemError, StoreError
from octomem.logs import get_logger
from octomem.models import as_utc
from octomem.stores import ladybug_rebuild
from octomem.stores.clock import Clock, SystemClock
from octomem.stores.cypher_graph import CypherGraphStore, Dialect, Row, Work, drive
from octomem.stores.fence import Fence
from octomem.stores.graph_common import Namespace, ProcessLeases, check_lease
from octomem.stores.ladybug_rebuild import DUMP, SCHEMA
from octomem.stores.ladybug_rebuild import rows as _rows
from octomem.telemetry import traced

log = get_logger(__name__)
tracer = trace.get_tracer(__name__)

T = TypeVar("T")

DB_FILE = "graph.lbdb"
# ladybug keeps every committed change in memory until a checkpoint, and an update costs a
# whole column chunk there against a few hundred bytes of log: at ladybug's default (a
# checkpoint per 16 MB of log) memory grew to hundreds of MB (docs/operations.md#memory).
_CHECKPOINT_BYTES = 128 * 1024

_REBUILD_TIMEOUT_S = 600.0
_HOST_CLOCK = SystemClock()


_M_PERTURB = -6  # glibc mallopt parameter
_perturbed = False


def initialise_allocations() -> bool:
    """From now on, have the C library fill memory it allocates (and frees) with a constant
    byte; True if it does (glibc's `mallopt(M_PERTURB)` only; on for the rest of the
    process). ladybug writes buffers whole, and their unused bytes come from the heap: a
    call's text before it was masked, or a forgotten user's values, may lie in freed
    memory. On from the first open, not only from the first forget: a page of metadata
    written at a checkpoint once carried raw secrets of a call (docs/operations.md)."""
    global _perturbed
    if _perturbed:
        return True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing to switch on
        return False
    _perturbed = bool(mallopt(_M_PERTURB, 0x5A) == 1)
    return _perturbed


# the child of a rebuild: runs ladybug_rebuild.py by its path, without the octomem package
_CHILD = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _rebuild(handle: _Handle, file: Path) -> None:
    """Rewrite the database file from its live data (see `LadybugGraphStore.compact`), in a
    child process: ladybug writes partly filled buffers whole, and here their unused bytes
    may be freed memory that held deleted values. Reads go on meanwhile; writes wait until
    the new file is in place."""
    fresh = file.with_name(file.name + ".rebuild")
    with handle.lock:
        while handle.rebuilding:
            handle.changed.wait()
        data = {kind: _rows(handle.conn, query) for kind, query in DUMP.items()}
        handle.rebuilding = True
    try:
        try:
            _remove_files(fresh)
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, ladybug_rebuild.__file__, str(fresh)],
                input=pickle.dumps(data),
                capture_output=True,
                timeout=_REBUILD_TIMEOUT_S,
                check=False,
                cwd=file.parent,
            )
            if child.returncode != 0:
                raise RuntimeError(child.stderr.decode("utf-8", "replace").strip()[-2000:])
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _remove_files(fresh)
            raise _wrap(exc, file, "compact") from exc
        with handle.lock:
            handle.conn.close()
            handle.db.close()
            try:
                os.replace(fresh, file)  # atomic: the old file or the new one, whole
                _remove_files(file, keep_db=True)
            finally:  # reopen whichever file is there
                handle.db = _open(file)
                handle.conn = lb.Connection(handle.db)
    finally:
        with handle.lock:
            handle.rebuilding = False
            handle.changed.notify_all()


def _open(file: Path) -> lb.Database:
    initialise_allocations()
    return lb.Database(str(file), checkpoint_threshold=_CHECKPOINT_BYTES)


def _remove_files(file: Path, *, keep_db: bool = False) -> None:
    """Delete a database file (unless keep_db) and its side files (WAL, shadow)."""
    for path in file.parent.glob(file.name + "*"):
        if path != file or not keep_db:
            path.unlink(missing_ok=True)


def _to_db(value: datetime | None) -> datetime | None:
    """ladybug drops the offset of aware datetimes, so store naive UTC."""
    return None if value is None else as_utc(value).replace(tzinfo=None)


def _cast_timestamp(expression: LiteralString) -> LiteralString:
    return "CAST(" + expression + " AS TIMESTAMP)"


# naive UTC datetimes; timestamp fields of UNWIND rows cast (a field null in every row of a
# batch is typed as a string); bulk deletes in one transaction (one process, one writer
# at a time)
LADYBUG = Dialect(
    to_db=_to_db,
    timestamp=_cast_timestamp,
    bulk_in_one_transaction=True,
    expand_in_one_statement=False,
    upsert_by_key=True,
    delete_by_key=True,
)


@dataclass
class _Handle:
    """One open database shared by every store instance on the same file in this process."""

    file: str
    db: lb.Database
    conn: lb.Connection
    lock: threading.RLock
    refs: int = 0
    schema_ready: bool = False
    leases: ProcessLeases = field(default_factory=ProcessLeases)
    rebuilding: bool = False  # a compaction is writing the new file: writes wait
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


_OPEN: dict[str, _Handle] = {}
_OPEN_LOCK = threading.Lock()


def _acquire(file: Path) -> _Handle:
    key = str(file)
    with _OPEN_LOCK:
        handle = _OPEN.get(key)
        if handle is None:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                db = _open(file)
                conn = lb.Connection(db)
            except (RuntimeError, OSError) as exc:
                raise _wrap(exc, file, "open") from exc
            handle = _Handle(key, db, conn, threading.RLock())
            _OPEN[key] = handle
            log.debug("graph_store_opened", backend="ladybug", path=key)
        handle.refs += 1
        return handle


def _release(handle: _Handle) -> None:
    with _OPEN_LOCK:
        handle.refs -= 1
        if handle.refs > 0:
            return
        _OPEN.pop(handle.file, None)
        with handle.lock:
            handle.conn.close()
            handle.db.close()
        log.debug("graph_store_closed", backend="ladybug", path=handle.file)


def _wrap(exc: BaseException, file: Path | str, op: str) -> StoreError:
    text = " ".join(str(exc).split())
    if "could not set lock" in text.lower():
        return StoreError(
            f"The graph database {file} is locked by another process ({text}). Only one "
            "process can open an embedded graph at a time: stop the other octomem process, give "
            "this one its own data directory, or use the Neo4j backend to share a graph."
        )
    if isinstance(exc, OSError):
        return StoreError(f"Cannot create the graph directory for {file} ({text}): check the path.")
    return StoreError(
        f"Graph operation '{op}' failed on {file} ({text}). If the file is damaged or was "
        "written by another ladybug version, move it aside; a new, empty graph is then created."
    )


@contextlib.contextmanager
def _transaction(conn: lb.Connection) -> Iterator[None]:
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        # A failed statement may already have rolled the transaction back.
        with contextlib.suppress(RuntimeError):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class LadybugSession:
    """The `CypherSession` of an embedded graph: units of work run one at a time, in a worker
    thread, on the connection of the file's shared handle; a write in one transaction, once
    no compaction is writing a new file. The first unit creates the schema."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._handle: _Handle | None = None
        self._closed = False
        self._open_lock = threading.Lock()

    def handle(self) -> _Handle:
        """The open database, opened on first use."""
        with self._open_lock:
            if self._closed:
                raise StoreError(
                    f"The graph store at {self.file.parent} is closed; open a new one."
                )
            if self._handle is None:
                self._handle = _acquire(self.file)
            return self._handle

    @property
    def opened(self) -> bool:
        return self._handle is not None

    def _call(self, op: str, fn: Callable[[lb.Connection], T], write: bool) -> T:
        handle = self.handle()
        with handle.lock:
            while write and handle.rebuilding:  # it would be lost in the file being built
                handle.changed.wait()
            try:
                if not handle.schema_ready:
                    for statement in SCHEMA:
                        _rows(handle.conn, statement)
                    handle.schema_ready = True
                return fn(handle.conn)
            except OctomemError:
                raise
            except RuntimeError as exc:
                raise _wrap(exc, self.file, op) from exc

    async def call(self, op: str, fn: Callable[[lb.Connection], T], *, write: bool) -> T:
        """`fn(connection)` in a worker thread, under the handle's lock."""
        with traced(tracer, f"graph.{op}", {"db.system": "ladybug"}):
            return await asyncio.to_thread(self._call, op, fn, write)

    async def run(
        self, op: str, work: Callable[[], Work[T]], *, write: bool, fence: Fence | None = None
    ) -> T:
        """`fence` is not checked: the embedded graph is one process's, which holds its file."""

        def execute(conn: lb.Connection) -> T:
            def statement(query: LiteralString, params: Mapping[str, Any]) -> list[Row]:
                return list(_rows(conn, query, dict(params)))

            with _transaction(conn) if write else contextlib.nullcontext():
                return drive(work(), statement)

        return await self.call(op, execute, write=write)

    async def close(self) -> None:
        with self._open_lock:
            handle, self._handle = self._handle, None
            self._closed = True
        if handle is not None:
            await asyncio.to_thread(_release, handle)


class LadybugGraphStore(CypherGraphStore):
    """Embedded graph store in ``path`` (a directory; the database is ``path/graph.lbdb``).

    Stores on one path in one process share one database, connection and leases,
    reference-counted (two ladybug ``Database`` objects on one file would not see each
    other's writes); another process cannot open it (ladybug's file lock: a `StoreError`).
    The database is opened by `init()` (or by the first call); `close()` is final.
    """

    def __init__(self, path: Path) -> None:
        self._file = Path(path).expanduser().resolve() / DB_FILE
        self._db = LadybugSession(self._file)
        # one project per graph directory: the default namespace
        super().__init__(self._db, LADYBUG, Namespace())

    @property
    def location(self) -> str:
        return str(self._file)

    @property
    def clock(self) -> Clock:
        return _HOST_CLOCK  # one process writes the file: its host's clock

    async def init(self) -> None:
        await self._db.call("init", lambda conn: None, write=True)

    async def compact(self) -> bool:
        """ladybug leaves deleted values in the file's pages, so the file is rebuilt from
        what is live and swapped in atomically (a crash leaves one or the other whole)."""
        handle = self._db.handle()
        with traced(tracer, "graph.compact", {"db.system": "ladybug"}):
            await asyncio.to_thread(_rebuild, handle, self._file)
        return True

    async def _leases(self) -> ProcessLeases:
        if not self._db.opened:
            await self.init()  # opens the database in a worker thread
        return self._db.handle().leases

    async def acquire_lease(self, key: str, owner: str, ttl_s: float) -> int:
        check_lease(key, owner, ttl_s)
        return (await self._leases()).acquire(key, owner, ttl_s)

    async def fence_holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        return (await self._leases()).holds(tokens)

    def lease_key(self, key: str) -> str:
        return key

    async def release_later(self, key: str, owner: str) -> bool:
        return False  # nothing is gathered in process memory

    def no_leftovers(self, key: str) -> bool:
        return False  # the journal is read (a local file: no round trip)

    async def release_lease(self, key: str, owner: str) -> None:
        check_lease(key, owner)
        (await self._leases()).release(key, owner)

    async def erasures(self, key: str) -> int:
        check_lease(key, "-")
        return (await self._leases()).erasures(key)

    async def count_erasure(self, key: str, token: int = 0, *, fence: Fence | None = None) -> int:
        check_lease(key, "-")
        return (await self._leases()).count_erasure(key, token)

    async def erased_at(self, key: str) -> int:
        check_lease(key, "-")
        return (await self._leases()).erased_at(key)

    async def close(self) -> None:
        await self._db.close()
