"""The record cache of embedded Chroma: never serves a record older than the last write."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from octomem.errors import StoreError
from octomem.models import EpisodicMemory, MemoryType, SemanticMemory, make_memory_id
from octomem.stores import chroma_engine
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
    token = cache.begin_write("c", ["a"])
    cache.remember("c", {"b": "b0"}, since=cache.generation)  # a write is under way
    assert cache.lookup("c", ["b"]) == {}
    cache.end_write("c", token, ["a"], {"a": "new"})
    cache.remember("c", {"a": "old", "b": "b1"}, since=before)  # read before the write
    assert cache.lookup("c", ["a", "b"]) == {"a": "new"}
    cache.remember("c", {"b": "b1"}, since=cache.generation)
    assert cache.lookup("c", ["b"]) == {"b": "b1"}
    assert cache.lookup("other", ["a", "b"]) == {}  # keyed by collection too
    token = cache.begin_write("c", ["a"])  # a delete
    assert cache.lookup("c", ["a"]) == {}  # not served while it runs
    cache.end_write("c", token, ["a"], None)
    assert cache.lookup("c", ["a", "b"]) == {"b": "b1"}


def test_a_write_that_ends_after_a_clear_is_not_cached() -> None:
    cache = RecordCache()
    token = cache.begin_write("c", ["a"])
    cache.clear()  # a reset ran while the upsert was in Chroma
    cache.end_write("c", token, ["a"], {"a": "gone"})
    assert cache.lookup("c", ["a"]) == {}


def test_closed_versions_are_known_only_as_long_as_nothing_wrote_them() -> None:
    cache = RecordCache()
    since = cache.generation
    cache.end_write("c", cache.begin_write("c", ["b"]), ["b"], {"b": "b1"})
    cache.mark_closed("c", ["a"], since=since)  # a read from before a write: not kept
    assert cache.closed("c", ["a"]) == set()
    token = cache.begin_write("c", ["b"])
    cache.mark_closed("c", ["a"], since=cache.generation)  # a write is under way
    assert cache.closed("c", ["a"]) == set()
    cache.end_write("c", token, ["b"], None)
    cache.mark_closed("c", ["a", "b"], since=cache.generation)
    assert cache.closed("c", ["a", "b", "x"]) == {"a", "b"}
    assert cache.closed("other", ["a"]) == set()  # keyed by collection too
    cache.end_write("c", cache.begin_write("c", ["a"]), ["a"], {"a": "reopened"})
    assert cache.closed("c", ["a", "b"]) == {"b"}  # a write of the entry forgets its mark
    cache.clear()
    assert cache.closed("c", ["b"]) == set()
    small = RecordCache(max_records=8)  # a quarter of it: 2 marks, then they start again
    small.mark_closed("c", ["a", "b"], since=small.generation)
    small.mark_closed("d", ["e"], since=small.generation)
    assert (small.closed("c", ["a", "b"]), small.closed("d", ["e"])) == (set(), {"e"})


async def test_a_listing_of_what_is_live_parses_a_closed_version_once(tmp_path: Path) -> None:
    """A user's history must not cost every listing: the second listing parses only the
    current record, and a closed version written again as current is listed again."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    current, old = fact(1, "blue"), fact(2, "red").model_copy(update={"valid_to": now})
    await store.upsert(SEM, [current, old], [[1.0, 0.0], [0.0, 1.0]])
    parse, parsed_ids = store._parse, []

    def counting(payload: Any, entry_id: str, *args: Any) -> Any:
        parsed_ids.append(entry_id)
        return parse(payload, entry_id, *args)

    store._parse = counting  # type: ignore[method-assign]
    assert [r.id for r in await store.list(SEM, live_at=now)] == [current.id]
    assert sorted(parsed_ids) == sorted([current.id, old.id])
    parsed_ids.clear()
    assert [r.id for r in await store.list(SEM, live_at=now)] == [current.id]
    assert parsed_ids == [current.id]
    assert len(await store.list(SEM)) == 2  # every version, when asked for
    await store.upsert(SEM, [old.model_copy(update={"valid_to": None})], [[0.0, 1.0]])
    assert {r.id for r in await store.list(SEM, live_at=now)} == {current.id, old.id}
    await store.close()


async def test_listings_interleaved_with_writes_that_close_and_reopen_versions(
    tmp_path: Path,
) -> None:
    """A writer closes each fact's current version for a new one, or reopens the one it
    closed before (as an edited file reverted is), while listings of what is live run
    beside it: no listing returns two live versions of a fact, and once the writes end
    every listing returns exactly the versions left current (a version's closed mark
    never outlives the write that reopened it)."""
    from datetime import UTC, datetime

    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    facts, rounds = 4, 6
    current = {n: fact(n, "v0") for n in range(facts)}
    older: dict[int, SemanticMemory] = {}
    await store.upsert(SEM, list(current.values()), [[1.0, 0.0]] * facts)
    writing = True
    seen_two: list[list[str]] = []
    listed = [0]  # listings done

    async def lister() -> int:
        while writing:
            found = await store.list(SEM, live_at=datetime.now(UTC))
            by_fact: dict[str, list[str]] = {}
            for record in found:
                by_fact.setdefault(str(record.attribute), []).append(record.id)
            seen_two.extend(ids for ids in by_fact.values() if len(ids) > 1)
            listed[0] += 1
            await asyncio.sleep(0)
        return listed[0]

    async def listings(count: int) -> None:  # whole listings after the writes so far
        until = listed[0] + count
        while listed[0] < until:
            await asyncio.sleep(0.001)

    async def writer() -> None:
        nonlocal writing
        try:
            for r in range(1, rounds + 1):
                for n in range(facts):
                    closed = current[n].model_copy(update={"valid_to": datetime.now(UTC)})
                    if r % 3 == 0 and n in older:  # reopen the version closed before
                        new = older[n].model_copy(update={"valid_to": None})
                    else:
                        new = fact(n, f"v{r}").model_copy(
                            update={"id": make_memory_id(SEM, "alice", n, r)}
                        )
                    await store.upsert(SEM, [closed, new], [[1.0, 0.0], [0.0, 1.0]])
                    older[n], current[n] = closed, new
                    await asyncio.sleep(0)
                await listings(2)  # one of them began after the round: it marks what it closed
        finally:
            writing = False

    done, _ = await asyncio.gather(lister(), writer())
    assert done >= 2 * rounds
    assert seen_two == []
    for _ in range(2):  # the first listing marks what it finds closed; the second uses it
        live = await store.list(SEM, live_at=datetime.now(UTC))
        assert sorted(r.id for r in live) == sorted(r.id for r in current.values())
    await store.close()


def test_empty_is_remembered_only_if_nothing_was_written_meanwhile() -> None:
    cache = RecordCache()
    since = cache.generation
    token = cache.begin_write("c", ["a"])
    cache.end_write("c", token, ["a"], {"a": "1"})
    cache.set_empty("c", since=since)  # the count ran before that write
    assert not cache.is_empty("c")
    cache.set_empty("c", since=cache.generation)
    assert cache.is_empty("c")
    cache.begin_write("c", ["b"])
    assert not cache.is_empty("c")  # as soon as a write begins


def test_least_recently_used_records_are_evicted() -> None:
    cache = RecordCache(max_records=2)
    cache.end_write("c", cache.begin_write("c", []), [], {"a": "1", "b": "2"})
    cache.lookup("c", ["a"])  # a is now the most recent
    cache.end_write("c", cache.begin_write("c", []), [], {"c": "3"})
    assert cache.lookup("c", ["a", "b", "c"]) == {"a": "1", "c": "3"}
    off = RecordCache(max_records=0)
    off.end_write("c", off.begin_write("c", []), [], {"a": "1"})
    assert off.lookup("c", ["a"]) == {}


def test_the_cache_holds_at_most_its_byte_bound() -> None:
    """What the cache really holds (traced by tracemalloc) stays within `max_bytes`
    however many records pass through it; the most recent ones stay."""
    bound = 256 * 1024
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cache = RecordCache(max_bytes=bound)
        for n in range(2000):  # ~2.4 MB of records
            payload = json.dumps({"id": n, "content": f"record {n} " + "x" * 900})
            cache.end_write("c", cache.begin_write("c", []), [], {f"sem_{n:024d}": payload})
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.nbytes <= bound
    assert held < 1.1 * bound + 64 * 1024  # a little for the cache object itself
    kept = cache.lookup("c", [f"sem_{n:024d}" for n in range(2000)])
    assert 150 < len(kept) < 250 and f"sem_{1999:024d}" in kept
    cache.end_write("c", cache.begin_write("c", [f"sem_{1999:024d}"]), [], None)
    cache.clear()
    assert cache.nbytes == 0


async def test_a_cancelled_delete_still_updates_the_cache(tmp_path: Path) -> None:
    """Chroma's worker thread finishes a write whose caller was cancelled: the cache
    must follow Chroma, not the caller."""
    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    emb = [1.0, 0.0]
    await store.upsert(SEM, [fact(1, "blue")], [emb])
    assert len(await store.get(SEM, [fact(1, "blue").id])) == 1  # cached
    task = asyncio.ensure_future(store.delete(SEM, [fact(1, "blue").id]))
    await asyncio.sleep(0)  # the delete has started in a worker thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(1000):  # until the thread has finished the delete (10 s at most)
        if await store.count(SEM) == 0:
            break
        await asyncio.sleep(0.01)
    assert await store.get(SEM, [fact(1, "blue").id]) == []
    await store.close()


async def test_types_stay_apart(tmp_path: Path) -> None:
    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    await store.upsert(SEM, [fact(1, "blue")], [[1.0, 0.0]])
    episode = EpisodicMemory(
        id=make_memory_id(MemoryType.EPISODIC, "alice", 9),
        user_id="alice",
        content="alice went home",
        summary="alice went home",
        actor="alice",
        event_type="message",
        occurred_at=fact(1, "blue").created_at,
    )
    await store.upsert(MemoryType.EPISODIC, [episode], [[0.0, 1.0]])
    assert await store.get(MemoryType.EPISODIC, [fact(1, "blue").id]) == []
    await store.close()


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
    # the reset replaced the collections: the first store must not write to the old ones
    await first.upsert(SEM, [fact(3, "pink")], [emb])
    assert [r.value for r in await second.get(SEM, [fact(3, "pink").id])] == ["pink"]
    assert [r.value for r, _ in await first.query(SEM, emb, limit=5)] == ["pink"]
    assert await second.count(SEM) == 1
    await first.close()
    await second.close()
    path = (tmp_path / "chroma").resolve()
    assert path not in chroma_engine._ENGINES  # the last close frees it, and its cache


async def test_a_collection_deleted_under_a_store_fails_clearly_then_recovers(
    tmp_path: Path,
) -> None:
    """Another process (or client) dropping the collections: one clear error, then the
    store reopens them and serves nothing of what it had cached."""
    import chromadb
    from chromadb.config import Settings

    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    await store.upsert(SEM, [fact(1, "blue")], [[1.0, 0.0]])
    settings = Settings(anonymized_telemetry=False)  # as the store's, or Chroma refuses
    other = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=settings)
    other.delete_collection(store.collection_name(SEM))
    with pytest.raises(StoreError, match="deleted meanwhile"):
        await store.upsert(SEM, [fact(2, "red")], [[1.0, 0.0]])
    await store.upsert(SEM, [fact(2, "red")], [[1.0, 0.0]])
    assert [r.value for r, _ in await store.query(SEM, [1.0, 0.0], limit=5)] == ["red"]
    assert await store.get(SEM, [fact(1, "blue").id]) == []  # not from the cache either
    await store.close()


async def test_a_reset_between_steps_of_one_call_uses_the_new_collections(
    tmp_path: Path,
) -> None:
    """Another store's reset lands between the chunks of a long upsert and between the
    pages of a long list: both go on against the new collections instead of failing."""
    first = ChromaVectorStore.embedded(tmp_path / "chroma")
    second = ChromaVectorStore.embedded(tmp_path / "chroma")
    records = [fact(i, "v") for i in range(1200)]  # two chunks / pages of 1000
    await first.upsert(SEM, records, [[1.0, 0.0]] * len(records))
    real_call = second._call
    resets: list[str] = []

    async def call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = await real_call(what, fn, *args, **kwargs)
        if what in ("get", "upsert") and what not in resets:
            resets.append(what)
            await first.reset()  # runs while the second store is between two steps
        return result

    second._call = call  # type: ignore[method-assign]
    # the first page of ids was read before the reset, their records after it: gone
    assert await second.list(SEM) == []
    await second.upsert(SEM, records, [[1.0, 0.0]] * len(records))
    assert resets == ["get", "upsert"]
    assert await first.count(SEM) == 200  # the chunk written after the reset
    await first.close()
    await second.close()


async def test_a_reopened_store_reads_what_it_wrote(tmp_path: Path) -> None:
    store = ChromaVectorStore.embedded(tmp_path / "chroma", cache_records=0)
    await store.upsert(SEM, [fact(1, "blue")], [[1.0, 0.0]])
    await store.close()
    reopened = ChromaVectorStore.embedded(tmp_path / "chroma")
    assert [r.value for r in await reopened.get(SEM, [fact(1, "blue").id])] == ["blue"]
    assert len(await reopened.query(SEM, [1.0, 0.0], limit=3)) == 1
    await reopened.close()


async def test_a_list_of_every_match_reads_what_the_cache_lacks_a_page_at_a_time(
    tmp_path: Path,
) -> None:
    """A list without a limit asks Chroma for the ids, takes the records from the cache and
    reads the others in pages: a store opened with an empty cache lists them all, oldest
    first, as one that wrote them does."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    records = [
        fact(i, "v").model_copy(update={"created_at": t0 + timedelta(seconds=(i * 7) % 1200)})
        for i in range(1200)
    ]
    writer = ChromaVectorStore.embedded(tmp_path / "chroma")
    await writer.upsert(SEM, records, [[1.0, 0.0]] * len(records))
    expected = [r.id for r in sorted(records, key=lambda r: (r.created_at, r.id))]
    assert [r.id for r in await writer.list(SEM)] == expected
    await writer.close()
    reader = ChromaVectorStore.embedded(tmp_path / "chroma")
    assert [r.id for r in await reader.list(SEM)] == expected
    assert [r.id for r in await reader.list(SEM, where={"attribute": "attr7"})] == [records[7].id]
    await reader.close()


def test_vectors_are_kept_as_exactly_as_records() -> None:
    """A read's vectors are cached only if nothing was written meanwhile; a write of an id
    drops its vector (read again when next asked for); a read of records leaves the
    vectors be; half the byte bound holds them."""
    cache = RecordCache(max_bytes=64 * 1024)
    cache.remember("c", {}, since=cache.generation, vectors={"a": b"v1"})
    assert cache.lookup_vectors("c", ["a", "b"]) == {"a": b"v1"}
    before = cache.generation
    token = cache.begin_write("c", ["a"])
    assert cache.lookup_vectors("c", ["a"]) == {}  # not served while it is written
    cache.remember("c", {}, since=before, vectors={"b": b"old"})  # a read older than it
    cache.end_write("c", token, ["a"], {"a": "2"})  # an upsert: its vector is read again
    assert cache.lookup_vectors("c", ["a", "b"]) == {}
    cache.remember("c", {}, since=cache.generation, vectors={"a": b"v2", "b": b"v3"})
    cache.remember("c", {"a": "2"}, since=cache.generation)
    assert cache.lookup_vectors("c", ["a", "b"]) == {"a": b"v2", "b": b"v3"}
    for n in range(200):  # 1.5 KB a vector, as MiniLM's 384 float32
        cache.remember("c", {}, since=cache.generation, vectors={f"sem_{n:024d}": bytes(1536)})
    assert 0 < cache._vectors.nbytes <= 32 * 1024
    assert f"sem_{199:024d}" in cache.lookup_vectors("c", [f"sem_{199:024d}"])
    cache.clear()
    assert cache._vectors.nbytes == 0 and cache.lookup_vectors("c", ["a"]) == {}


async def test_a_search_among_given_entries_scores_them_by_their_current_vectors(
    tmp_path: Path,
) -> None:
    """Embedded, a search among named entries (`{"id": {"in": ...}}`) is scored against
    the vectors the cache keeps, or reads: the same order and scores as Chroma's own
    query, and after another store on the path rewrites an entry, its new vector."""
    import numpy as np

    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(40, 8)).tolist()
    records = [fact(n, f"v{n}") for n in range(40)]
    ids = [r.id for r in records]
    writer = ChromaVectorStore.embedded(tmp_path / "chroma")
    reader = ChromaVectorStore.embedded(tmp_path / "chroma")
    await writer.upsert(SEM, records, vectors)
    query = rng.normal(size=8).tolist()

    async def among(store: ChromaVectorStore) -> list[tuple[str, float]]:
        hits = await store.query(SEM, query, where={"id": {"in": ids}}, limit=40)
        return [(r.id, score) for r, score in hits]

    chroma = await writer._on(
        "query",
        SEM,
        "query",
        query_embeddings=[query],
        ids=ids,
        n_results=40,
        include=["distances"],
    )
    theirs = [(i, 1.0 - d) for i, d in zip(chroma["ids"][0], chroma["distances"][0], strict=True)]
    for found in (await among(writer), await among(reader)):  # read, then cached
        assert [i for i, _ in found] == [i for i, _ in theirs]
        assert np.allclose([s for _, s in found], [s for _, s in theirs], atol=1e-5)
    await reader.upsert(SEM, [records[0]], [query])  # the first entry now the query itself
    assert (await among(writer))[0] == (ids[0], pytest.approx(1.0))
    await writer.close()
    await reader.close()
    cold = ChromaVectorStore.embedded(tmp_path / "chroma")  # a new cache: vectors read
    found = await among(cold)
    assert found[0] == (ids[0], pytest.approx(1.0))
    assert len(found) == 40 and cold._cache is not None
    assert len(cold._cache.lookup_vectors(cold.collection_name(SEM), ids)) == 40
    await cold.close()


async def test_a_search_among_entries_with_a_query_of_another_dimension_fails_clearly(
    tmp_path: Path,
) -> None:
    store = ChromaVectorStore.embedded(tmp_path / "chroma")
    await store.upsert(SEM, [fact(1, "blue")], [[1.0, 0.0]])
    where = {"id": {"in": [fact(1, "blue").id]}}
    with pytest.raises(StoreError, match="dimension.*did the embedding model change"):
        await store.query(SEM, [1.0, 0.0, 0.0], where=where, limit=3)
    await store.close()
