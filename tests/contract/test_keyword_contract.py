"""The KeywordStore contract: every keyword backend must pass this suite unchanged.

- fts5: SQLite FTS5 in a tmp dir (embedded mode);
- arcadedb: the index in the graph server (server mode), on the ArcadeDB Bolt server the
  tests start, each test in a graph namespace of its own (reset at the end).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from octomem.models import (
    TURN_CONTEXT,
    EpisodicMemory,
    MemoryBase,
    MemoryType,
    SemanticMemory,
    WorkingMemory,
    make_memory_id,
)
from octomem.stores.base import KeywordStore
from octomem.stores.fts import FtsKeywordStore
from octomem.stores.graph_keyword import GraphKeywordStore
from octomem.stores.neo4j_client import Neo4jClient

NOW = datetime(2024, 6, 1, tzinfo=UTC)
Opener = Callable[..., Any]  # async (namespace: str | None = None) -> an open KeywordStore


@pytest.fixture(params=["fts5", "arcadedb"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens a store of the backend at one location (the same index every time): the SQLite
    file, or the graph server in this test's namespace; `namespace` names another project
    (its own file; on the server, another namespace beside this test's). Every store
    opened is closed at the end, and every namespace used on the server reset."""
    own = f"t{uuid.uuid4().hex[:12]}"
    used: set[str] = set()

    def client() -> Neo4jClient:
        srv = request.getfixturevalue("arcadedb_server")
        return Neo4jClient(srv.uri, srv.user, srv.password, database=srv.database)

    async with AsyncExitStack() as stack:

        async def open_one(namespace: str | None = None) -> KeywordStore:
            store: KeywordStore
            if request.param == "fts5":
                # a project of its own in embedded mode: a directory of its own
                store = FtsKeywordStore(tmp_path / f"keyword-{namespace or ''}.db")
            else:
                ns = own if namespace is None else f"{own}-{namespace}"
                used.add(ns)
                store = GraphKeywordStore(client(), namespace=ns)  # closing it closes its client
            stack.push_async_callback(store.close)
            await store.init()
            return store

        try:
            yield open_one
        finally:
            for ns in sorted(used):
                cleaner = GraphKeywordStore(client(), namespace=ns)
                await cleaner.reset()
                await cleaner.close()


@pytest.fixture
async def store(open_store: Opener) -> KeywordStore:
    return await open_store()  # type: ignore[no-any-return]


def fact(key: str, content: str, *, user: str | None = "alice", **extra: Any) -> SemanticMemory:
    return SemanticMemory(
        id=make_memory_id(MemoryType.SEMANTIC, user, key),
        user_id=user,
        content=content,
        subject="s",
        attribute=key,
        value="v",
        **extra,
    )


def event(key: str, content: str, *, user: str | None = "alice") -> EpisodicMemory:
    return EpisodicMemory(
        id=make_memory_id(MemoryType.EPISODIC, user, key),
        user_id=user,
        content=content,
        occurred_at=NOW,
        actor="alice",
        event_type="note",
        summary=content,
    )


def task(key: str, content: str, expires_at: datetime) -> WorkingMemory:
    return WorkingMemory(
        id=make_memory_id(MemoryType.WORKING, key),
        user_id="alice",
        content=content,
        key=key,
        value="v",
        expires_at=expires_at,
    )


async def found(store: KeywordStore, query: str, **kwargs: Any) -> list[str]:
    kwargs.setdefault("user_id", "alice")
    kwargs.setdefault("now", NOW)
    return [memory_id for memory_id, _, _ in await store.search(query, **kwargs)]


async def test_implements_protocol(store: KeywordStore) -> None:
    assert isinstance(store, KeywordStore)


async def test_bm25_ranks_more_relevant_first(store: KeywordStore) -> None:
    strong = fact("a", "Paris is lovely. Alice loves Paris and visits Paris every spring.")
    weak = fact("b", "Alice once changed planes in Paris on the way to a conference in Rome.")
    other = fact("c", "Bob prefers green tea in the morning.")
    await store.upsert([weak, other, strong])
    results = await store.search("paris", user_id="alice", now=NOW)
    assert [r[0] for r in results] == [strong.id, weak.id]
    assert results[0][1] is MemoryType.SEMANTIC
    assert results[0][2] > results[1][2] > 0  # higher is better
    both = await found(store, "Rome conference Paris")
    assert both[0] == weak.id  # matches more of the query terms


async def test_stemming_and_case(store: KeywordStore) -> None:
    record = fact("a", "Alice was Running marathons while travelling")
    await store.upsert([record])
    assert await found(store, "RUNS") == [record.id]
    assert await found(store, "travelled") == [record.id]


async def test_limit(store: KeywordStore) -> None:
    await store.upsert([fact(str(n), f"apple number {n}") for n in range(30)])
    assert len(await found(store, "apple")) == 20
    assert len(await found(store, "apple", limit=5)) == 5
    assert await found(store, "apple", limit=0) == []


async def test_scoped_per_user(store: KeywordStore) -> None:
    mine = fact("a", "the secret password is swordfish", user="alice")
    theirs = fact("a", "the secret password is swordfish", user="bob")
    nobody = fact("a", "the secret password is swordfish", user=None)
    await store.upsert([mine, theirs, nobody])
    assert await found(store, "swordfish", user_id="alice") == [mine.id]
    assert await found(store, "swordfish", user_id="bob") == [theirs.id]
    assert await found(store, "swordfish", user_id=None) == [nobody.id]
    assert await found(store, "swordfish", user_id="carol") == []


async def test_filters_by_memory_type(store: KeywordStore) -> None:
    a_fact, an_event = fact("a", "dentist appointment"), event("a", "dentist appointment")
    await store.upsert([a_fact, an_event])
    assert set(await found(store, "dentist")) == {a_fact.id, an_event.id}
    results = await store.search(
        "dentist", user_id="alice", memory_types=[MemoryType.EPISODIC], now=NOW
    )
    assert results == [(an_event.id, MemoryType.EPISODIC, pytest.approx(results[0][2]))]
    assert await found(store, "dentist", memory_types=[]) == []


async def test_superseded_and_expired_are_excluded(store: KeywordStore) -> None:
    old = fact("city", "alice lives in berlin", valid_to=NOW - timedelta(days=1))
    new = fact("city2", "alice lives in paris")
    fresh = task("t1", "lives draft fresh", NOW + timedelta(hours=1))
    stale = task("t2", "lives draft stale", NOW - timedelta(hours=1))
    await store.upsert([old, new, fresh, stale])
    assert set(await found(store, "lives")) == {new.id, fresh.id}
    everything = await found(store, "lives", include_superseded=True)
    assert set(everything) == {old.id, new.id, fresh.id, stale.id}
    assert set(await found(store, "lives", now=NOW + timedelta(hours=2))) == {new.id}


@pytest.mark.parametrize(
    "query",
    [
        '"AND OR NEAR(',
        "*",
        '"',
        "'",
        "",
        "   ",
        "AND",
        "NOT",
        "content:secret",
        "secret*",
        "^secret",
        "a - b + c",
        "(((",
        "NEAR(secret password, 2)",
        '"unterminated phrase',
        "{col1 col2}: x",
        "😀 ☕ 喜欢",
        "secret " * 500,
        "\x00\n\t",
    ],
)
async def test_hostile_query_text_never_raises(store: KeywordStore, query: str) -> None:
    record = fact("a", "the secret password and the near future")
    await store.upsert([record])
    results = await store.search(query, user_id="alice", now=NOW)
    assert isinstance(results, list)
    if "secret" in query:
        assert [r[0] for r in results] == [record.id]


async def test_operators_are_searched_as_words(store: KeywordStore) -> None:
    record = fact("a", "salt and pepper or near nothing")
    await store.upsert([record])
    assert await found(store, "AND") == [record.id]
    assert await found(store, "near(") == [record.id]
    assert await found(store, "") == []


async def test_unicode_content(store: KeywordStore) -> None:
    record = fact("a", "Zoë mag Köln und café crème")
    await store.upsert([record])
    assert await found(store, "köln") == [record.id]
    assert await found(store, "CAFÉ") == [record.id]


async def test_upsert_replaces_by_id(store: KeywordStore) -> None:
    record = fact("a", "alice likes apples")
    await store.upsert([record])
    await store.upsert([record.model_copy(update={"content": "alice likes bananas"})])
    assert await found(store, "apples") == []
    assert await found(store, "bananas") == [record.id]
    superseded = record.model_copy(update={"content": "alice likes bananas", "valid_to": NOW})
    await store.upsert([superseded])
    assert await found(store, "bananas") == []
    assert await found(store, "bananas", include_superseded=True) == [record.id]


async def test_delete_and_reset(store: KeywordStore) -> None:
    a, b = fact("a", "orange juice"), fact("b", "orange peel")
    await store.upsert([a, b])
    await store.delete([a.id, "sem_unknown"])
    await store.delete([])
    assert await found(store, "orange") == [b.id]
    await store.reset()
    assert await found(store, "orange") == []
    await store.upsert([a])
    assert await found(store, "orange") == [a.id]


async def test_survives_reopen(open_store: Opener) -> None:
    first = await open_store()
    await first.upsert([fact("a", "persistent memory")])
    await first.close()
    second = await open_store()
    assert await found(second, "persistent") == [fact("a", "x").id]


async def test_concurrent_calls(store: KeywordStore) -> None:
    records: list[MemoryBase] = [fact(str(n), f"concurrent item {n}") for n in range(40)]
    await asyncio.gather(*(store.upsert([r]) for r in records))
    results = await asyncio.gather(*(found(store, "concurrent", limit=100) for _ in range(10)))
    assert all(len(r) == 40 for r in results)


async def test_listing_pages_a_users_memories_newest_first_by_status(
    store: KeywordStore,
) -> None:
    """The inspector's pages: live, past (superseded, expired) or all (live first), newest
    first, ties by id; another user's, another type's and a deleted memory never listed."""
    at = [NOW - timedelta(minutes=n) for n in range(6)]  # at[0] the newest
    live = [fact(f"live{n}", f"fact {n}", created_at=at[n]) for n in (1, 3, 4)]
    tie = fact("live-tie", "same time as live1", created_at=at[1])
    closed = fact("closed", "superseded", created_at=at[0], valid_to=NOW)
    expired = task("gone", "expired", NOW - timedelta(hours=1)).model_copy(
        update={"created_at": at[5]}
    )
    later = task("later", "live task", NOW + timedelta(hours=1)).model_copy(
        update={"created_at": at[0]}
    )
    others = [fact("bob", "bob's", user="bob", created_at=at[0]), event("e", "an event")]
    dropped = fact("dropped", "deleted", created_at=at[2])
    await store.upsert([*live, tie, closed, expired, later, *others, dropped])
    await store.delete([dropped.id])

    async def page(
        status: Any, memory_type: MemoryType = MemoryType.SEMANTIC, **kw: Any
    ) -> list[str]:
        return await store.listing("alice", memory_type, status=status, now=NOW, **kw)

    newest_live = [*sorted([live[0].id, tie.id], reverse=True), live[1].id, live[2].id]
    assert await page("current") == newest_live
    assert await page("past") == [closed.id]
    assert await page("all") == [*newest_live, closed.id]
    assert await page("all", offset=1, limit=2) == newest_live[1:3]
    assert await page("all", offset=40) == []
    assert await page("current", MemoryType.WORKING) == [later.id]
    assert await page("past", MemoryType.WORKING) == [expired.id]
    # a task is past once it has expired
    assert await store.listing(
        "alice", MemoryType.WORKING, status="past", now=NOW + timedelta(hours=2)
    ) == [later.id, expired.id]
    assert await store.listing("bob", MemoryType.SEMANTIC, status="all", now=NOW) == [others[0].id]
    assert await store.listing("nobody", MemoryType.SEMANTIC, status="all", now=NOW) == []
    assert await store.tallies("alice", now=NOW) == {
        MemoryType.SEMANTIC: (4, 1),
        MemoryType.WORKING: (1, 1),
        MemoryType.EPISODIC: (1, 0),
    }
    assert await store.tallies("alice", now=NOW + timedelta(hours=2)) == {
        MemoryType.SEMANTIC: (4, 1),
        MemoryType.WORKING: (0, 2),
        MemoryType.EPISODIC: (1, 0),
    }
    assert await store.tallies("nobody", now=NOW) == {}
    # what a record says it was created at is what the index keeps
    stored = {e.memory_id: e.created_at for e in await store.entries("alice")}
    assert stored[closed.id] == at[0].timestamp()


def raw_turn(key: str, content: str, context: str) -> EpisodicMemory:
    """A raw conversation turn stored with the turn before it as its context."""
    return event(key, content).model_copy(
        update={"event_type": "message", "internal": {"raw": True, TURN_CONTEXT: context}}
    )


async def test_raw_turn_context_is_searchable_below_content(store: KeywordStore) -> None:
    reply = raw_turn("reply", "Bob: Mostly on weekends, with my sister.", "Ann: Do you kayak?")
    about = raw_turn("about", "Ann: I kayak on the river every summer.", "Bob: Any sports?")
    await store.upsert([reply, about])
    # the reply is found by the words of the question it answers, ranked below a turn
    # that says them itself
    assert await found(store, "kayak") == [about.id, reply.id]
    assert await found(store, "sister") == [reply.id]
    # the context of any other record is not indexed
    plain = event("plain", "a note").model_copy(update={"internal": {TURN_CONTEXT: "zebra"}})
    await store.upsert([plain])
    assert await found(store, "zebra") == []


async def test_projects_never_see_each_other(open_store: Opener) -> None:
    """Two projects holding the same ids and users, each index on its own."""
    mine, theirs = await open_store(), await open_store(namespace="other")
    a, b = fact("a", "shared words about apples"), fact("b", "shared words about pears")
    await mine.upsert([a, b])
    await theirs.upsert([a.model_copy(update={"content": "shared words about plums"})])
    assert await found(mine, "plums") == [] and await found(theirs, "apples") == []
    assert await found(theirs, "plums") == [a.id]
    assert [e.content for e in await theirs.entries()] == ["shared words about plums"]
    await theirs.delete([b.id])  # an id only the other project holds
    await theirs.delete([a.id])
    assert set(await found(mine, "shared")) == {a.id, b.id}
    await theirs.upsert([b])
    await theirs.reset()
    assert {e.memory_id for e in await mine.entries()} == {a.id, b.id}
    assert await theirs.entries() == []


CORPUS = [
    fact("paris", "Paris is lovely. Alice loves Paris and visits Paris every spring."),
    fact("rome", "Alice once changed planes in Paris on the way to a conference in Rome."),
    fact("tea", "Bob prefers green tea in the morning, and Alice drinks tea at noon."),
    fact("old", "Alice used to run marathons in Rome", valid_to=NOW - timedelta(days=3)),
    raw_turn("r1", "Bob: Mostly on weekends, with my sister.", "Ann: Do you kayak in Paris?"),
    raw_turn("r2", "Ann: I kayak on the river every summer near Rome.", "Bob: Any sports?"),
    raw_turn("r3", "Bob: Running, running and more running!", "Ann: What keeps you fit?"),
]


SERVER_ONLY = pytest.mark.parametrize("open_store", ["arcadedb"], indirect=True)


@SERVER_ONLY
async def test_graph_index_ranks_as_fts5(open_store: Opener, tmp_path: Path) -> None:
    """On one user's memories the server's index gives FTS5's own BM25 scores."""
    server = await open_store()
    fts = FtsKeywordStore(tmp_path / "reference.db")
    try:
        for index in (server, fts):
            await index.upsert(CORPUS)
        queries = ["paris", "Rome conference Paris", "kayak sister", "run runs running", "ALICE"]
        for query in queries:
            for superseded in (False, True):
                want = await fts.search(
                    query, user_id="alice", now=NOW, include_superseded=superseded
                )
                got = await server.search(
                    query, user_id="alice", now=NOW, include_superseded=superseded
                )
                assert [(i, t) for i, t, _ in got] == [(i, t) for i, t, _ in want], query
                assert [s for *_, s in got] == pytest.approx([s for *_, s in want]), query
    finally:
        await fts.close()


@SERVER_ONLY
async def test_deleting_a_users_memories_leaves_no_trace(
    open_store: Opener, request: pytest.FixtureRequest
) -> None:
    """After its memories are deleted, no node of the index holds the user's id."""
    server = await open_store()
    user = f"gone-{uuid.uuid4().hex[:8]}"
    records = [fact(str(n), f"private words number {n}", user=user) for n in range(3)]
    await server.upsert(records)
    await server.delete([r.id for r in records])
    srv = request.getfixturevalue("arcadedb_server")
    from neo4j import AsyncGraphDatabase

    async with AsyncGraphDatabase.driver(srv.uri, auth=(srv.user, srv.password)) as driver:
        rows, _, _ = await driver.execute_query(
            "MATCH (n) WHERE (n:KeywordDoc OR n:KeywordPosting OR n:KeywordStats) "
            "AND n.user_id CONTAINS $user RETURN count(n) AS n",
            {"user": user},
            database_=srv.database,
        )
    assert rows[0]["n"] == 0
