"""The record cache of embedded Chroma: never serves a record older than the last write."""

from __future__ import annotations

from pathlib import Path

from octomem.models import MemoryType, SemanticMemory, make_memory_id
from octomem.stores import record_cache
from octomem.stores.chroma import ChromaVectorStore
from octomem.stores.record_cache import RecordCache

SEM = MemoryType.SEMANTIC


def fact(n: int, value: str) -> SemanticMemory:
    return SemanticMemory(
        id=make_memory_id(SEM, "alice", n),
        user_id="alice",
        content=f"alice's attr{n} is {value}",
        subject="alice",
        attribute=f"attr{n}",
        value=value,
    )


def test_a_read_older_than_a_write_is_not_cached() -> None:
    cache = RecordCache()
    before = cache.generation
    cache.written({"a": "new"})  # a write lands while a read of the old value is in flight
    cache.remember({"a": "old", "b": "b1"}, since=before)
    assert cache.lookup(["a", "b"]) == {"a": "new"}
    cache.remember({"b": "b1"}, since=cache.generation)
    assert cache.lookup(["b"]) == {"b": "b1"}
    cache.forget(["a"])
    assert cache.lookup(["a", "b"]) == {"b": "b1"}


def test_least_recently_used_records_are_evicted() -> None:
    cache = RecordCache(max_records=2)
    cache.written({"a": "1", "b": "2"})
    cache.lookup(["a"])  # a is now the most recent
    cache.written({"c": "3"})
    assert cache.lookup(["a", "b", "c"]) == {"a": "1", "c": "3"}
    off = RecordCache(max_records=0)
    off.written({"a": "1"})
    assert off.lookup(["a"]) == {}


async def test_stores_on_one_path_share_the_cache(tmp_path: Path) -> None:
    """Two Orchestrators on one data dir in one process must see each other's writes."""
    first = ChromaVectorStore.embedded(tmp_path / "chroma")
    second = ChromaVectorStore.embedded(tmp_path / "chroma")
    await first.init()
    await second.init()
    emb = [1.0, 0.0, 0.0]
    assert first.known_empty(SEM) and second.known_empty(SEM)
    assert await first.query(SEM, emb, limit=5) == []  # known empty: no search at all
    await second.upsert(SEM, [fact(1, "blue")], [emb])
    assert not first.known_empty(SEM)
    [(found, _)] = await first.query(SEM, emb, limit=5)
    assert found.value == "blue"
    assert [r.value for r in await first.get(SEM, [found.id])] == ["blue"]  # now cached
    await second.upsert(SEM, [fact(1, "green")], [emb])
    assert [r.value for r in await first.get(SEM, [found.id])] == ["green"]
    await second.delete(SEM, [found.id])
    assert await first.get(SEM, [found.id]) == []
    await first.upsert(SEM, [fact(2, "red")], [emb])
    await second.reset()
    assert await first.get(SEM, [fact(2, "red").id]) == []
    assert await first.count(SEM) == 0
    await first.close()
    await second.close()
    path = (tmp_path / "chroma").resolve()
    assert all(key[0] != path for key in record_cache._SHARED)  # the last close frees it


async def test_a_reopened_store_reads_what_it_wrote(tmp_path: Path) -> None:
    store = ChromaVectorStore.embedded(tmp_path / "chroma", cache_records=0)
    await store.upsert(SEM, [fact(1, "blue")], [[1.0, 0.0]])
    await store.close()
    reopened = ChromaVectorStore.embedded(tmp_path / "chroma")
    assert [r.value for r in await reopened.get(SEM, [fact(1, "blue").id])] == ["blue"]
    assert len(await reopened.query(SEM, [1.0, 0.0], limit=3)) == 1
    await reopened.close()
