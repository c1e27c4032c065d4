"""SQLite stores opened by several connections at the same moment all open.

Switching a new file to WAL mode and creating its tables take locks that SQLite's busy
timeout does not wait for, so without a retry one of two processes opening the same data
directory at once failed with "database is locked" (seen with two server-mode workers).
Threads with a connection each race the same way and are quicker to start."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from octomem.stores.fts import FtsKeywordStore
from octomem.stores.history import SqliteHistoryStore
from octomem.stores.journal import SqliteJournal
from octomem.stores.sqlite_base import SqliteStore


@pytest.mark.parametrize("kind", [SqliteJournal, SqliteHistoryStore, FtsKeywordStore])
def test_connections_opening_the_same_new_file_at_once_all_succeed(
    tmp_path: Path, kind: type[SqliteStore]
) -> None:
    failures: list[BaseException] = []
    for round_ in range(60):
        path = tmp_path / f"round{round_}.sqlite"
        stores = [kind(path) for _ in range(8)]
        start = threading.Barrier(len(stores))

        def open_one(store: SqliteStore, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                asyncio.run(store.init())
            except BaseException as exc:
                failures.append(exc)
            finally:
                asyncio.run(store.close())

        threads = [threading.Thread(target=open_one, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert failures == []
