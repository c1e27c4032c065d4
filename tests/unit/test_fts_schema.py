"""A keyword index of another schema (an older octomem's: content column only) is refused
when opened, with the way out, and left as it was: before 1.0 the format changes without
migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from octomem.errors import StoreError
from octomem.stores.fts import FtsKeywordStore

OLD_SCHEMA = """
CREATE TABLE keyword_docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    memory_type TEXT NOT NULL,
    user_id TEXT,
    is_current INTEGER NOT NULL,
    expires_at REAL
);
CREATE VIRTUAL TABLE keyword_fts USING fts5(content, tokenize = 'porter unicode61');
INSERT INTO keyword_docs VALUES (1, 'epi_old1', 'episodic', 'alice', 1, NULL);
INSERT INTO keyword_fts (rowid, content) VALUES (1, 'Alice: I adopted a puppy');
"""


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


async def test_an_index_of_another_schema_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "keyword.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    before = _dump(path)

    store = FtsKeywordStore(path)
    with pytest.raises(StoreError, match="another octomem version.*Export the memories"):
        await store.search("puppy", user_id="alice")
    with pytest.raises(StoreError, match="columns content, not content, context"):
        await store.init()
    await store.close()
    assert _dump(path) == before
