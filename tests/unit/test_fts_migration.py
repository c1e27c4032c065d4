"""The FTS5 keyword index opens an index written by an older octomem (content column
only) and rebuilds it with the context column, keeping every memory searchable."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from octomem.models import TURN_CONTEXT, EpisodicMemory, MemoryType, make_memory_id
from octomem.stores.fts import FtsKeywordStore

NOW = datetime(2024, 6, 1, tzinfo=UTC)
OLD_SCHEMA = """
CREATE TABLE keyword_docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    memory_type TEXT NOT NULL,
    user_id TEXT,
    is_current INTEGER NOT NULL,
    expires_at REAL
);
CREATE INDEX keyword_docs_user ON keyword_docs (user_id, memory_type);
CREATE VIRTUAL TABLE keyword_fts USING fts5(content, tokenize = 'porter unicode61');
"""


def _old_index(path: Path, rows: list[tuple[str, str]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(OLD_SCHEMA)
        for rowid, (memory_id, content) in enumerate(rows, 1):
            conn.execute(
                "INSERT INTO keyword_docs VALUES (?, ?, 'episodic', 'alice', 1, NULL)",
                (rowid, memory_id),
            )
            conn.execute("INSERT INTO keyword_fts (rowid, content) VALUES (?, ?)", (rowid, content))
    conn.close()


def _columns(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute("PRAGMA table_info(keyword_fts)")]
    finally:
        conn.close()


def turn(key: str, content: str, context: str) -> EpisodicMemory:
    return EpisodicMemory(
        id=make_memory_id(MemoryType.EPISODIC, "alice", key),
        user_id="alice",
        content=content,
        occurred_at=NOW,
        actor="Bob",
        event_type="message",
        summary=content,
        internal={"raw": True, TURN_CONTEXT: context},
    )


async def _ids(store: FtsKeywordStore, query: str) -> list[str]:
    hits = await store.search(query, user_id="alice", now=NOW)
    return [memory_id for memory_id, _, _ in hits]


async def test_old_index_is_migrated_and_stays_searchable(tmp_path: Path) -> None:
    path = tmp_path / "keyword.sqlite"
    _old_index(path, [("epi_old1", "Alice: I adopted a puppy"), ("epi_old2", "Bob: nice dog")])
    assert _columns(path) == ["content"]

    store = FtsKeywordStore(path)
    assert await _ids(store, "puppy") == ["epi_old1"]
    assert await _ids(store, "dog") == ["epi_old2"]
    assert _columns(path) == ["content", "context"]
    # new records use the context column; old ones can be replaced and deleted by id
    new = turn("new", "Bob: Mostly on weekends.", "Alice: When do you walk the puppy?")
    await store.upsert([new])
    assert await _ids(store, "puppy") == ["epi_old1", new.id]
    await store.delete(["epi_old1"])
    assert await _ids(store, "puppy") == [new.id]
    await store.close()

    # opening the migrated index again changes nothing
    again = FtsKeywordStore(path)
    assert sorted(await _ids(again, "puppy weekends dog")) == sorted([new.id, "epi_old2"])
    await again.close()
    assert _columns(path) == ["content", "context"]
