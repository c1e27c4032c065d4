"""Journal on SQLite: the write-ahead intents of writes that span stores.

An intent is committed before the first store is written and deleted after the last one
has it, so a crash in between leaves it for `octomem.orchestrator.write.recover` to apply
again. A write too large for one row (an import) is journaled as its head row, then its
parts, each in a transaction of its own; until its last part is in, it has written nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from octomem import offload
from octomem.memory_types import BUILTIN_REGISTRY, TypeRegistry
from octomem.models import IntentPart, WriteIntent
from octomem.stores.fence import Fence
from octomem.stores.sqlite_base import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    users TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    intent_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (intent_id, n)
);
"""


class SqliteJournal(SqliteStore):
    """Write-ahead intents; see `octomem.stores.base.Journal`."""

    SCHEMA = _SCHEMA
    LABEL = "write journal"

    def __init__(self, path: Path, *, types: TypeRegistry = BUILTIN_REGISTRY) -> None:
        """`types`: the memory types its intents' records are read as (those of types
        it lacks - another Orchestrator's agents' - as `CustomMemory`)."""
        super().__init__(path)
        self._types = types

    async def begin(self, intent: WriteIntent, *, fence: Fence | None = None) -> None:
        size = len(intent.writes) + len(intent.rewrites) + len(intent.deletes)
        body = await offload.cpu(size, intent.model_dump_json)  # a large one: off the loop
        await self._execute(
            "begin",
            "INSERT OR REPLACE INTO intents (id, users, body) VALUES (?, ?, ?)",
            [(intent.id, json.dumps(intent.user_ids()), body)],
        )

    async def add_part(
        self, intent_id: str, index: int, part: IntentPart, *, fence: Fence | None = None
    ) -> None:
        await self._execute(
            "add_part",
            "INSERT OR REPLACE INTO parts (intent_id, n, body) VALUES (?, ?, ?)",
            [(intent_id, index, part.model_dump_json())],
        )

    async def part(self, intent_id: str, index: int) -> IntentPart | None:
        sql = "SELECT body FROM parts WHERE intent_id = ? AND n = ?"
        rows = await self._rows("part", sql, intent_id, index)
        if not rows:
            return None
        return IntentPart.model_validate_json(rows[0][0], context=self._types.reading_context)

    async def finish(self, intent_id: str, *, fence: Fence | None = None) -> None:
        def drop(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM intents WHERE id = ?", (intent_id,)).close()
            conn.execute("DELETE FROM parts WHERE intent_id = ?", (intent_id,)).close()

        await self._run("finish", drop)

    async def pending(self, touching: set[str | None] | None = None) -> list[WriteIntent]:
        def read(conn: sqlite3.Connection) -> list[WriteIntent]:
            rows = conn.execute("SELECT id, users FROM intents ORDER BY seq").fetchall()
            ids = [i for i, users in rows if touching is None or touching & set(json.loads(users))]
            bodies = [
                conn.execute("SELECT body FROM intents WHERE id = ?", (i,)).fetchone()[0]
                for i in ids
            ]
            context = self._types.reading_context
            return [WriteIntent.model_validate_json(body, context=context) for body in bodies]

        return await self._run("pending", read)

    async def is_pending(self, intent_id: str) -> bool:
        return bool(await self._rows("is_pending", "SELECT 1 FROM intents WHERE id = ?", intent_id))

    async def reset(self) -> None:
        def clear(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM intents")
            conn.execute("DELETE FROM parts")

        await self._run("reset", clear)
