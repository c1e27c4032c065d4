"""The SQLite plumbing the keyword index, the history log and the journal share: one
connection per file, WAL mode, a lock, one transaction per operation, run in a worker
thread. Deleted rows are overwritten with zeros (`secure_delete`), and `compact` rewrites
the file and empties its WAL, so that text deleted from a store is gone from its files."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from octomem import retries
from octomem.errors import OctomemError, StoreError

T = TypeVar("T")


def checkpoint_truncate(
    conn: sqlite3.Connection, *, timeout_s: float = retries.SQLITE_OPEN_S
) -> None:
    """Copy the WAL into the database and truncate it to zero bytes; retried while another
    connection reads (a checkpoint cannot reset a WAL that a reader still uses)."""

    def once() -> None:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise retries.WalInUse("the WAL stays in use by another connection")

    retries.sqlite_setup(timeout_s, lambda exc: isinstance(exc, retries.WalInUse))(once)


class SqliteStore:
    """Subclasses set `SCHEMA` (run once per connection, after `_check_schema`) and
    `LABEL`/`HINT` for errors."""

    SCHEMA: ClassVar[str] = ""
    LABEL: ClassVar[str] = "sqlite store"
    HINT: ClassVar[str] = "check that the file is writable and not corrupt"

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if str(self._path) != ":memory:":
                self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self._path), check_same_thread=False, timeout=30)
            try:
                self._set_up(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _set_up(self, conn: sqlite3.Connection) -> None:
        """WAL mode, schema, its check. Another process opening the same file at the same
        moment can make these fail at once with "database is locked" (switching to WAL and
        creating tables take locks the busy timeout does not wait for): retry a while."""

        def once() -> None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA secure_delete=ON")  # freed space is zeroed, not kept
            self._check_schema(conn)
            conn.executescript(self.SCHEMA)

        retries.sqlite_setup()(once)

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        """Run once per connection before `SCHEMA`: refuse (StoreError) a file of another
        schema, which `CREATE ... IF NOT EXISTS` would leave as it is (none is migrated)."""

    async def _run(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                conn = self._connection()
                with conn:  # one transaction: commit, or roll back on error
                    return fn(conn)

        return await self._thread(what, locked)

    async def _thread(self, what: str, fn: Callable[[], T]) -> T:
        """`fn()` in a worker thread, its SQLite errors as `StoreError`s."""
        try:
            return await asyncio.to_thread(fn)
        except OctomemError:
            raise
        except (sqlite3.Error, ValueError) as exc:
            raise StoreError(
                f"{self.LABEL} at {self._path}: {what} failed: {exc} - {self.HINT}"
            ) from exc

    async def _execute(self, what: str, sql: str, rows: Sequence[Sequence[object]] = ((),)) -> None:
        """Run `sql` once per parameter row. The cursor is closed under the lock: a cursor
        dropped later in another thread resets its cached statement while a worker may be
        running that same statement, which SQLite reports as "API misuse"."""

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(sql, rows).close()

        await self._run(what, run)

    async def _rows(self, what: str, sql: str, *args: object) -> list[Any]:
        """What `sql` reads, its cursor closed under the lock as `_execute` closes its."""

        def read(conn: sqlite3.Connection) -> list[Any]:
            cursor = conn.execute(sql, args)
            rows = cursor.fetchall()
            cursor.close()
            return rows

        return await self._run(what, read)

    async def init(self) -> None:
        await self._run("init", lambda conn: None)

    def _before_compact(self, conn: sqlite3.Connection) -> None:
        """Run in a transaction before `compact` rewrites the file (e.g. merge an index)."""

    async def compact(self) -> bool:
        """Rewrite the file from its live rows (VACUUM) and empty its WAL, so nothing that
        was deleted is left in either: deleted text lives on in old WAL frames and in
        pages written before `secure_delete` was on. Costs about one copy of the file.
        True: this process owns the file, and rewrote it."""

        def work() -> None:
            with self._lock:
                conn = self._connection()
                with conn:
                    self._before_compact(conn)
                conn.execute("VACUUM")
                checkpoint_truncate(conn)

        await self._thread("compacting", work)
        return True

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(shut)
