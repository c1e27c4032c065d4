"""HistoryStore on SQLite: an append-only log of HistoryEvent, idempotent on event id."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from octomem.models import HistoryEvent, as_utc
from octomem.stores import fence as fences
from octomem.stores.base import ALL_USERS, AllUsers
from octomem.stores.fence import Fence
from octomem.stores.sqlite_base import SqliteStore

_IDS = 500  # ids per statement (below SQLite's limit of bound parameters)

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


class SqliteHistoryStore(SqliteStore):
    """Append-only change log; see `octomem.stores.base.HistoryStore`."""

    SCHEMA = _SCHEMA
    LABEL = "history log"

    async def record(
        self, events: Sequence[HistoryEvent], *, fence: Fence | None = None, stamped: bool = True
    ) -> None:
        rows = [
            (
                event.id,
                event.memory_id,
                event.memory_type.value,
                event.user_id,
                as_utc(event.at).timestamp(),
                fences.body(event, fence if stamped else None),
            )
            for event in events
        ]
        if rows:
            await self._execute(
                "record",
                "INSERT OR IGNORE INTO history (id, memory_id, memory_type, user_id, at, event)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def _select(
        self, what: str, where: str, params: tuple[object, ...]
    ) -> list[HistoryEvent]:
        sql = f"SELECT event FROM history WHERE {where} ORDER BY at, seq"

        def read(conn: sqlite3.Connection) -> list[HistoryEvent]:
            return [
                HistoryEvent.model_validate_json(row[0])
                for row in conn.execute(sql, params).fetchall()
            ]

        return await self._run(what, read)

    async def for_memory(self, memory_id: str) -> list[HistoryEvent]:
        return await self._select("for_memory", "memory_id = ?", (memory_id,))

    async def for_user(self, user_id: str | None) -> list[HistoryEvent]:
        return await self._select("for_user", "user_id IS ?", (user_id,))

    async def user_ids(self) -> list[str | None]:
        sql = "SELECT DISTINCT user_id FROM history ORDER BY user_id"
        return [row[0] for row in await self._rows("user_ids", sql)]

    async def latest(self, user_id: str | None | AllUsers = ALL_USERS) -> dict[str, HistoryEvent]:
        # the last logged: by insertion order, as an event's `at` may be a message's own time
        where, params = ("", ()) if user_id is ALL_USERS else ("WHERE user_id IS ?", (user_id,))
        sql = (
            "SELECT event FROM history WHERE seq IN "
            f"(SELECT MAX(seq) FROM history {where} GROUP BY memory_id)"
        )

        def read(conn: sqlite3.Connection) -> dict[str, HistoryEvent]:
            events = [HistoryEvent.model_validate_json(row[0]) for row in conn.execute(sql, params)]
            return {event.memory_id: event for event in events}

        return await self._run("latest", read)

    async def find(self, ids: Sequence[str]) -> dict[str, HistoryEvent]:
        unique = list(dict.fromkeys(ids))

        def read(conn: sqlite3.Connection) -> dict[str, HistoryEvent]:
            found: dict[str, HistoryEvent] = {}
            for start in range(0, len(unique), _IDS):
                chunk = unique[start : start + _IDS]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(f"SELECT event FROM history WHERE id IN ({marks})", chunk)
                for row in rows:
                    event = HistoryEvent.model_validate_json(row[0])
                    found[event.id] = event
            return found

        return await self._run("find", read)

    async def discard(self, memory_ids: Sequence[str], *, fence: Fence | None = None) -> None:
        rows = [(memory_id,) for memory_id in dict.fromkeys(memory_ids)]
        if rows:
            await self._execute("discard", "DELETE FROM history WHERE memory_id = ?", rows)

    async def reset(self) -> None:
        await self._execute("reset", "DELETE FROM history")
