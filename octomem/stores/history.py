"""HistoryStore on SQLite: an append-only log of HistoryEvent, idempotent on event id.

One connection (check_same_thread=False) guarded by a lock, WAL mode; every call runs in a
worker thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from octomem.errors import OctomemError, StoreError
from octomem.models import HistoryEvent, as_utc

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    memory_id TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    user_id TEXT,
    at REAL NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_memory ON history (memory_id, at, seq);
CREATE INDEX IF NOT EXISTS history_user ON history (user_id, at, seq);
"""


class SqliteHistoryStore:
    """Append-only change log; see `octomem.stores.base.HistoryStore`."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if str(self._path) != ":memory:":
                self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self._path), check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    async def _run(self, what: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                conn = self._connection()
                with conn:  # one transaction: commit, or roll back on error
                    return fn(conn)

        try:
            return await asyncio.to_thread(locked)
        except OctomemError:
            raise
        except (sqlite3.Error, ValueError) as exc:
            raise StoreError(
                f"history log at {self._path}: {what} failed: {exc} - check that the file "
                "is writable and not corrupt"
            ) from exc

    async def init(self) -> None:
        await self._run("init", lambda conn: None)

    async def record(self, events: Sequence[HistoryEvent]) -> None:
        rows = [
            (
                event.id,
                event.memory_id,
                event.memory_type.value,
                event.user_id,
                as_utc(event.at).timestamp(),
                event.model_dump_json(),
            )
            for event in events
        ]
        if rows:
            await self._run(
                "record",
                lambda conn: conn.executemany(
                    "INSERT OR IGNORE INTO history (id, memory_id, memory_type, user_id, at, event)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                ),
            )

    async def _select(
        self, what: str, where: str, params: tuple[object, ...]
    ) -> list[HistoryEvent]:
        sql = f"SELECT event FROM history WHERE {where} ORDER BY at, seq LIMIT ?"

        def read(conn: sqlite3.Connection) -> list[HistoryEvent]:
            return [
                HistoryEvent.model_validate_json(row[0])
                for row in conn.execute(sql, params).fetchall()
            ]

        return await self._run(what, read)

    async def for_memory(self, memory_id: str) -> list[HistoryEvent]:
        return await self._select("for_memory", "memory_id = ?", (memory_id, -1))

    async def for_user(
        self, user_id: str | None, *, limit: int | None = None
    ) -> list[HistoryEvent]:
        if limit is not None and limit <= 0:
            return []
        return await self._select(
            "for_user", "user_id IS ?", (user_id, -1 if limit is None else limit)
        )

    async def user_ids(self) -> list[str | None]:
        def read(conn: sqlite3.Connection) -> list[str | None]:
            rows = conn.execute("SELECT DISTINCT user_id FROM history ORDER BY user_id")
            return [row[0] for row in rows.fetchall()]

        return await self._run("user_ids", read)

    async def reset(self) -> None:
        await self._run("reset", lambda conn: conn.execute("DELETE FROM history"))

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(shut)
