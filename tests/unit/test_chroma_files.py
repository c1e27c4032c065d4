"""Embedded Chroma's files as octomem reads and maintains them: a store of another layout
is refused when it opens, and the Chroma internals the file maintenance relies on fail
with a clear error when they are not what octomem knows - never by leaving deleted text
in the files."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import chromadb
import pytest
from chromadb.config import Settings

from octomem.errors import StoreError
from octomem.models import MemoryType, SemanticMemory, make_memory_id
from octomem.stores import chroma_engine
from octomem.stores.chroma import ChromaVectorStore
from octomem.stores.chroma_files import held_in_this_process, purge_log, scrub_index_files
from octomem.stores.chroma_layout import LAYOUT, LAYOUT_KEY

SEM = MemoryType.SEMANTIC
EMB = [1.0, 0.0, 0.0, 0.0]


def fact(n: int) -> SemanticMemory:
    return SemanticMemory(
        id=make_memory_id(SEM, "alice", n),
        user_id="alice",
        content=f"alice's attr{n} is quuxberry {n}",
        subject="alice",
        attribute=f"attr{n}",
        value=f"quuxberry {n}",
    )


async def test_a_collection_of_another_layout_is_refused_when_the_store_opens(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chroma"
    store = ChromaVectorStore.embedded(path)
    await store.init()
    await store.upsert(SEM, [fact(1)], [EMB])
    await store.close()
    # what an older version would have left: entries of another layout (public API only)
    client = chromadb.PersistentClient(str(path), Settings(anonymized_telemetry=False))
    collection = client.get_collection(store.collection_name(SEM), embedding_function=None)
    collection.update(ids=[fact(1).id], metadatas=[{LAYOUT_KEY: LAYOUT - 1}])
    client.close()

    again = ChromaVectorStore.embedded(path)
    with pytest.raises(StoreError, match=f"layout {LAYOUT - 1}, not layout {LAYOUT}.*Export"):
        await again.init()
    await again.close()


async def test_collections_take_octomems_sync_threshold(tmp_path: Path) -> None:
    """A collection octomem makes syncs its vector index every `SYNC_THRESHOLD` entries."""
    from octomem.stores.chroma import SYNC_THRESHOLD

    path = tmp_path / "chroma"
    store = ChromaVectorStore.embedded(path)
    await store.init()
    await store.upsert(SEM, [fact(1)], [EMB])
    await store.close()
    # read by another process, as the next open reads it (this one's clients cache it)
    script = (
        "import chromadb, json, sys; from chromadb.config import Settings; "
        "c = chromadb.PersistentClient(sys.argv[1], Settings(anonymized_telemetry=False)); "
        "print(json.dumps({x.name: x.configuration_json['hnsw']['sync_threshold'] "
        "for x in c.list_collections()}))"
    )
    listed = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    thresholds = json.loads(listed.stdout)
    assert len(thresholds) > 1 and set(thresholds.values()) == {SYNC_THRESHOLD}


def _journal_mode(path: Path) -> str:
    """The database's journal mode, read once Chroma's engine has closed the files (it
    closes them in the background after `close` returns)."""
    for _ in range(300):
        if not held_in_this_process(path.resolve()):
            break
        time.sleep(0.1)
    conn = sqlite3.connect(path / "chroma.sqlite3")
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


async def test_chromas_database_is_in_wal_mode_made_or_opened(tmp_path: Path) -> None:
    """Chroma's database is put in WAL mode (one log sync a write, not ~8), one that an
    older octomem left in Chroma's rollback-journal mode too, keeping what it holds; the
    log is emptied when the store closes."""
    path = tmp_path / "chroma"
    client = chromadb.PersistentClient(str(path), Settings(anonymized_telemetry=False))
    client.close()
    assert _journal_mode(path) == "delete"  # as Chroma leaves it
    older = ChromaVectorStore.embedded(path)
    await older.init()
    await older.upsert(SEM, [fact(1)], [EMB])
    await older.close()
    assert _journal_mode(path) == "wal"
    assert not (path / "chroma.sqlite3-wal").exists()

    made = ChromaVectorStore.embedded(tmp_path / "new")
    await made.init()
    await made.upsert(SEM, [fact(2)], [EMB])
    assert [r.id for r in await made.get(SEM, [fact(2).id])] == [fact(2).id]
    await made.close()
    assert _journal_mode(tmp_path / "new") == "wal"
    again = ChromaVectorStore.embedded(path)
    assert [r.content for r in await again.get(SEM, [fact(1).id])] == [fact(1).content]
    await again.close()


def test_a_write_returned_is_kept_when_the_process_dies_before_closing(tmp_path: Path) -> None:
    """A write is in the database's log when it returns: a process killed right after it
    (the log not copied into the database, as a close does) loses nothing."""
    path = tmp_path / "chroma"
    script = (
        "import asyncio, os, sys; "
        "from octomem.stores.chroma import ChromaVectorStore; "
        "from octomem.models import MemoryType, SemanticMemory; "
        "store = ChromaVectorStore.embedded(sys.argv[1]); "
        "fact = SemanticMemory(id='kept-1', user_id='alice', content='a fact kept', "
        "subject='alice', attribute='a', value='kept'); "
        "asyncio.run(store.upsert(MemoryType.SEMANTIC, [fact], [[1.0, 0.0, 0.0, 0.0]])); "
        "os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=120)
    assert (path / "chroma.sqlite3-wal").stat().st_size > 0  # in the log, not copied back
    store = ChromaVectorStore.embedded(path)
    try:
        found = asyncio.run(store.get(SEM, ["kept-1"]))
    finally:
        asyncio.run(store.close())
    assert [r.content for r in found] == ["a fact kept"]


def _log(path: Path, memory_id: str) -> list[tuple[int, str | None]]:
    """(operation, metadata) of the write log's rows of `memory_id` (engine closed)."""
    conn = sqlite3.connect(path / "chroma.sqlite3")
    try:
        query = "SELECT operation, metadata FROM embeddings_queue WHERE id = ? ORDER BY seq_id"
        return conn.execute(query, (memory_id,)).fetchall()
    finally:
        conn.close()


async def _deleted(path: Path, count: int = 3) -> tuple[ChromaVectorStore, str]:
    """A store whose first of `count` facts was deleted (its text still in the log)."""
    store = ChromaVectorStore.embedded(path)
    await store.init()
    facts = [fact(n) for n in range(count)]
    await store.upsert(SEM, facts, [[1.0, float(n), 0.0, 0.0] for n in range(count)])
    await store.delete(SEM, [facts[0].id])
    return store, facts[0].id


async def test_a_purge_stops_clearly_if_chroma_no_longer_says_who_has_the_files_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "chroma"
    store, gone = await _deleted(path)
    with monkeypatch.context() as patch:  # a chromadb that renamed its registry of systems
        patch.setattr(chroma_engine, "_SYSTEMS", "_renamed_in_a_later_release")
        with pytest.raises(StoreError, match="not as octomem knows them.*_renamed_in"):
            await store.purge_deleted([gone])
    assert any("quuxberry 0" in (metadata or "") for _, metadata in _log(path, gone))
    assert await store.purge_deleted([gone])  # with the internal there: purged
    await store.close()
    assert _log(path, gone) == []


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE embeddings_queue RENAME COLUMN metadata TO payload",
        "UPDATE embeddings_queue SET operation = 9 WHERE operation = 3",  # a delete's code
    ],
)
async def test_a_purge_stops_clearly_if_the_write_log_is_not_the_one_octomem_knows(
    tmp_path: Path, change: str
) -> None:
    path = tmp_path / "chroma"
    store, gone = await _deleted(path)
    await store.close()
    conn = sqlite3.connect(path / "chroma.sqlite3")
    conn.execute(change)
    conn.commit()
    conn.close()
    before = (path / "chroma.sqlite3").read_bytes()
    with pytest.raises(StoreError, match="not as octomem knows them.*write log|not a delete"):
        purge_log(path, [gone])
    assert (path / "chroma.sqlite3").read_bytes() == before  # nothing rewritten


async def test_a_purge_stops_clearly_on_vector_index_files_it_does_not_know(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chroma"
    store, gone = await _deleted(path, count=1100)  # past 1,000 writes the index is saved
    await store.close()
    [header] = path.glob("*/header.bin")
    assert scrub_index_files(path, strict=True) >= 0  # Chroma's own files: known
    header.write_bytes(header.read_bytes()[:8])  # a header of another format
    with pytest.raises(StoreError, match="vector index files not recognised"):
        scrub_index_files(path, strict=True)
    assert scrub_index_files(path) == 0  # opening and closing only warn
    again = ChromaVectorStore.embedded(path)
    with pytest.raises(StoreError, match="vector index files not recognised"):
        await again.purge_deleted([gone])
    await again.close()


async def test_a_store_opened_beside_a_chromadb_client_of_this_process_leaves_its_files_alone(
    tmp_path: Path,
) -> None:
    """A chromadb client of this process (not octomem's) has the directory open when a
    store opens it: the store joins that client's engine and touches no file. Opening the
    WAL database with Python's SQLite truncated the shared-memory index the engine had
    mapped: the client's next write failed with a disk I/O error (or the process died of
    SIGBUS)."""
    path = tmp_path / "chroma"
    first = ChromaVectorStore.embedded(path)
    await first.upsert(SEM, [fact(1)], [EMB])
    await first.close()
    assert _journal_mode(path) == "wal"

    client = chromadb.PersistentClient(str(path), Settings(anonymized_telemetry=False))
    theirs = client.get_or_create_collection("their-notes", embedding_function=None)
    for n in range(20):
        theirs.add(ids=[f"note-{n}"], embeddings=[[1.0, float(n), 0.0, 0.0]])
        store = ChromaVectorStore.embedded(path)
        await store.upsert(SEM, [fact(n + 2)], [EMB])
        await store.close()  # their client keeps the engine (and its files) open
    theirs.add(ids=["note-last"], embeddings=[[0.0, 1.0, 0.0, 0.0]])
    assert theirs.count() == 21
    client.close()

    again = ChromaVectorStore.embedded(path)
    assert [r.content for r in await again.get(SEM, [fact(21).id])] == [fact(21).content]
    await again.close()


@pytest.mark.skipif(held_in_this_process(Path.cwd()) is None, reason="needs /proc or F_GETPATH")
async def test_file_work_starts_only_once_chromas_engine_has_closed_its_files(
    tmp_path: Path,
) -> None:
    """Chroma's engine closes its database connections in the background after `close`
    returns. A purge that opened the database from Python meanwhile truncated the
    shared-memory index the engine still had mapped: the process died of SIGBUS (a
    forget in the test suite, stop 76's CI)."""
    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    engine = store._source()
    assert isinstance(engine, chroma_engine.EmbeddedChroma)
    held = []
    for n in range(5):
        await store.upsert(SEM, [fact(n)], [[1.0, float(n), 0.0, 0.0]])
        assert await store.query(SEM, EMB, limit=3)
        await store.delete(SEM, [fact(n).id])
        with engine.closed() as files:
            held.append(held_in_this_process(files))
            purge_log(files, [fact(n).id])
    await store.close()
    assert held == [[]] * 5


async def test_where_open_files_cannot_be_seen_a_close_waits_a_grace_and_an_open_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without /proc or F_GETPATH the engine's files cannot be watched: a close waits the
    grace period before file work may start, an open (after our own close waited) does not."""
    slept: list[float] = []
    monkeypatch.setattr(chroma_engine, "held_in_this_process", lambda path: None)
    clock = SimpleNamespace(monotonic=time.monotonic, sleep=slept.append)
    monkeypatch.setattr(chroma_engine, "time", clock)  # the engine's waits only
    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    await store.upsert(SEM, [fact(1)], [EMB])
    assert slept == []
    await store.close()
    assert slept == [chroma_engine.RELEASE_GRACE_S]


async def test_a_call_still_running_when_its_store_closes_does_not_reopen_the_files(
    tmp_path: Path,
) -> None:
    """A call a close cancelled may still be running in its worker thread (a thread cannot
    be stopped): its next store call fails, instead of opening the directory again with
    an engine no one would close (which would hold the files for the rest of the process)."""
    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    await store.upsert(SEM, [fact(1)], [EMB])
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get(SEM, [fact(1).id])
    assert held_in_this_process(tmp_path / "chroma") == []
