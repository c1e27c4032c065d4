"""The VectorStore contract: every backend (and mode) must pass this suite unchanged."""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import pytest

from octomem import filters
from octomem.errors import (
    ConfigurationError,
    InvalidInputError,
    StoreError,
    StoreUnavailableError,
)
from octomem.models import (
    ContextualMemory,
    CoreMemory,
    EpisodicMemory,
    KnowledgeMemory,
    MemoryBase,
    MemoryType,
    ProceduralMemory,
    ResourceMemory,
    SemanticMemory,
    SourceRef,
    WorkingMemory,
    make_memory_id,
)
from octomem.stores import fence
from octomem.stores.base import VectorStore
from octomem.stores.chroma import ChromaVectorStore
from octomem.stores.fence import Fence

T0 = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
NOW = datetime(2024, 6, 1, tzinfo=UTC)
DIM = 4


@pytest.fixture(params=["embedded", "http"])
async def store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[VectorStore]:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        backend = ChromaVectorStore.embedded(tmp_path / "chroma", prefix=prefix)
    else:
        url = urlparse(request.getfixturevalue("chroma_server_url"))
        backend = ChromaVectorStore.http(
            url.hostname or "127.0.0.1", url.port or 8000, prefix=prefix
        )
    await backend.init()
    yield backend
    await backend.drop()
    await backend.close()


def vec(*xs: float) -> list[float]:
    return [*xs, *([0.0] * (DIM - len(xs)))]


def fact(
    n: int,
    *,
    user: str | None = "alice",
    content: str | None = None,
    created: datetime | None = None,
    metadata: dict[str, Any] | None = None,
    **extra: Any,
) -> SemanticMemory:
    return SemanticMemory(
        id=make_memory_id(MemoryType.SEMANTIC, user, n),
        user_id=user,
        content=content or f"fact number {n}",
        subject="alice",
        attribute=f"attr{n}",
        value=str(n),
        created_at=created or T0 + timedelta(minutes=n),
        metadata=metadata or {},
        **extra,
    )


async def put(
    store: VectorStore,
    *records: MemoryBase,
    embedding: list[float] | None = None,
    fence: Fence | None = None,
):
    by_type: dict[MemoryType, list[MemoryBase]] = {}
    for record in records:
        by_type.setdefault(record.memory_type, []).append(record)
    for memory_type, batch in by_type.items():
        vectors = [embedding or vec(1, 1, 1, 1)] * len(batch)
        await store.upsert(memory_type, batch, vectors, fence=fence)


def ids(records: list[MemoryBase] | list[tuple[MemoryBase, float]]) -> list[str]:
    return [r[0].id if isinstance(r, tuple) else r.id for r in records]


# --- writes and reads -------------------------------------------------------------------


async def test_implements_protocol(store: VectorStore) -> None:
    assert isinstance(store, VectorStore)


async def test_upsert_is_idempotent(store: VectorStore) -> None:
    record = fact(1)
    await put(store, record)
    await put(store, record)
    await store.upsert(MemoryType.SEMANTIC, [record, record], [vec(1), vec(1)])
    assert await store.count(MemoryType.SEMANTIC) == 1
    assert await store.get(MemoryType.SEMANTIC, [record.id]) == [record]


async def test_upsert_replaces_by_id(store: VectorStore) -> None:
    record = fact(1)
    await put(store, record, embedding=vec(1))
    changed = record.model_copy(update={"content": "now something else", "version": 2})
    await put(store, changed, embedding=vec(0, 1))
    assert await store.get(MemoryType.SEMANTIC, [record.id]) == [changed]
    (hit, similarity), *_ = await store.query(MemoryType.SEMANTIC, vec(0, 1))
    assert hit == changed and similarity == pytest.approx(1.0, abs=1e-5)


async def test_upsert_replaces_what_filters_see(store: VectorStore) -> None:
    """An upsert of a stored id replaces the whole record: a metadata key or field it no
    longer has matches no filter (Chroma merges the metadata of an upsert by itself)."""
    record = fact(1, metadata={"topic": "home"}, internal={"flag": "llm"})
    await put(store, record)
    changed = record.model_copy(update={"metadata": {"source": "crm"}, "internal": {}})
    await put(store, changed)
    assert await store.get(MemoryType.SEMANTIC, [record.id]) == [changed]
    for where in [
        {"topic": "home"},
        {"topic": {"ne": "home"}},
        {"topic": {"exists": True}},
        {"internal.flag": "llm"},
        {"source": "crm"},
    ]:
        expected = [changed.id] if filters.matches(where, changed) else []
        assert ids(await store.list(MemoryType.SEMANTIC, where=where)) == expected, where
        assert ids(await store.query(MemoryType.SEMANTIC, vec(1), where=where)) == expected


async def test_upsert_rejects_bad_input(store: VectorStore) -> None:
    with pytest.raises(InvalidInputError):
        await store.upsert(MemoryType.SEMANTIC, [fact(1)], [])
    with pytest.raises(InvalidInputError, match="semantic"):
        await store.upsert(MemoryType.EPISODIC, [fact(1)], [vec(1)])
    await put(store, fact(1))
    with pytest.raises(StoreError, match="dimension"):
        await store.upsert(MemoryType.SEMANTIC, [fact(2)], [[1.0, 0.0]])


async def test_get_keeps_order_and_skips_missing(store: VectorStore) -> None:
    a, b, c = fact(1), fact(2), fact(3)
    await put(store, a, b, c)
    got = await store.get(MemoryType.SEMANTIC, [c.id, "sem_missing", a.id])
    assert ids(got) == [c.id, a.id]
    assert await store.get(MemoryType.SEMANTIC, []) == []
    assert await store.get(MemoryType.EPISODIC, [a.id]) == []


async def test_types_are_separate(store: VectorStore) -> None:
    await put(store, fact(1))
    assert await store.count(MemoryType.SEMANTIC) == 1
    assert await store.count(MemoryType.EPISODIC) == 0
    assert await store.query(MemoryType.EPISODIC, vec(1, 1, 1, 1)) == []


# --- query -------------------------------------------------------------------------------


async def test_query_ranks_by_cosine_similarity(store: VectorStore) -> None:
    near, middle, far, opposite = fact(1), fact(2), fact(3), fact(4)
    await store.upsert(
        MemoryType.SEMANTIC,
        [far, near, opposite, middle],
        [vec(0, 1), vec(2, 0), vec(-1), vec(1, 1)],  # scale must not matter for cosine
    )
    hits = await store.query(MemoryType.SEMANTIC, vec(1), limit=10)
    assert ids(hits) == [near.id, middle.id, far.id, opposite.id]
    sims = [s for _, s in hits]
    assert sims == pytest.approx([1.0, math.sqrt(0.5), 0.0, -1.0], abs=1e-4)
    assert ids(await store.query(MemoryType.SEMANTIC, vec(1), limit=2)) == [near.id, middle.id]
    assert await store.query(MemoryType.SEMANTIC, vec(1), limit=0) == []


async def test_query_among_listed_ids(store: VectorStore) -> None:
    """A filter that names the ids to search among (`{"id": {"in": [...]}}`, alone or in
    its top AND) ranks those entries alone: no other is returned, however near, and the
    other conditions and `live_at` still hold."""
    records = [fact(n, user="alice" if n % 2 else "bob") for n in range(1, 9)]
    vectors = [vec(1, n / 10) for n in range(1, 9)]  # fact 1 is the nearest to vec(1)
    await store.upsert(MemoryType.SEMANTIC, records, vectors)
    listed = [records[n].id for n in (7, 4, 2, 3)] + ["sem_unknown"]
    hits = await store.query(MemoryType.SEMANTIC, vec(1), where={"id": {"in": listed}}, limit=10)
    assert ids(hits) == [records[n].id for n in (2, 3, 4, 7)]
    assert ids(
        await store.query(MemoryType.SEMANTIC, vec(1), where={"id": {"in": listed}}, limit=2)
    ) == [records[2].id, records[3].id]
    where = {"AND": [{"user_id": "alice"}, {"id": {"in": listed}}]}  # facts 3 and 5
    hits = await store.query(MemoryType.SEMANTIC, vec(1), where=where)
    assert ids(hits) == [records[2].id, records[4].id]
    where = {"AND": [{"id": {"in": listed}}, {"metadata.missing": {"exists": False}}]}
    assert len(await store.query(MemoryType.SEMANTIC, vec(1), where=where, limit=3)) == 3
    assert await store.query(MemoryType.SEMANTIC, vec(1), where={"id": {"in": []}}) == []
    await put(store, records[2].model_copy(update={"valid_to": NOW}), embedding=vectors[2])
    live = await store.query(MemoryType.SEMANTIC, vec(1), where={"id": {"in": listed}}, live_at=NOW)
    assert ids(live) == [records[n].id for n in (3, 4, 7)]


def history_store(n: int, *, current_every: int) -> tuple[list[MemoryBase], list[list[float]]]:
    """`n` facts of alice, each further from vec(1) than the one before; every
    `current_every`-th is current, the rest superseded (a store with a history, where old
    versions lie among the current ones). Bob has one current fact, the farthest."""
    records: list[MemoryBase] = []
    for i in range(n):
        closed = {} if i % current_every == 0 else {"valid_to": NOW - timedelta(days=1)}
        records.append(fact(i + 1, **closed))
    records.append(fact(n + 1, user="bob"))
    vectors = [vec(1, 0.01 * i) for i in range(n + 1)]
    return records, vectors


async def test_a_query_finds_the_live_among_their_superseded_neighbours(
    store: VectorStore,
) -> None:
    """Superseded versions of facts lie near the current ones: a query that asks for live
    facts gets the nearest live ones in order, whether a third of the neighbours are live
    or none of the nearest are, and a user's filter still holds."""
    records, vectors = history_store(300, current_every=3)
    await store.upsert(MemoryType.SEMANTIC, records, vectors)
    where = {"user_id": "alice"}
    hits = await store.query(MemoryType.SEMANTIC, vec(1), where=where, live_at=NOW, limit=20)
    assert ids(hits) == [records[i].id for i in range(0, 60, 3)]
    if isinstance(store, ChromaVectorStore):  # found by widening, not Chroma's pre-filter
        assert not store._selective
    bob = await store.query(MemoryType.SEMANTIC, vec(1), where={"user_id": "bob"}, live_at=NOW)
    assert ids(bob) == [records[-1].id]
    # none of the 200 nearest is live: the 5 live ones beyond them
    late = [fact(1000 + i) for i in range(5)]
    closed = [r.model_copy(update={"valid_to": NOW}) for r in records[:200]]
    await store.upsert(MemoryType.SEMANTIC, closed, vectors[:200])
    await store.upsert(MemoryType.SEMANTIC, late, [vec(1, 5 + i) for i in range(5)])
    live = await store.query(MemoryType.SEMANTIC, vec(1), where=where, live_at=NOW, limit=400)
    assert ids(live) == [r.id for r in records[201:300:3]] + [r.id for r in late]


async def test_hits_are_the_callers_own_and_later_searches_judge_what_is_stored(
    store: VectorStore,
) -> None:
    """Searches among many users' entries keep what they judged for the next one: a caller
    changing the records it got changes no later search, and an entry rewritten between
    two searches is judged as rewritten."""
    records = [fact(i, user="alice" if i % 3 == 0 else "bob") for i in range(1, 61)]
    await store.upsert(MemoryType.SEMANTIC, records, [vec(1, 0.01 * i) for i in range(60)])
    where = {"user_id": "alice"}
    first = await store.query(MemoryType.SEMANTIC, vec(1), where=where, live_at=NOW, limit=5)
    assert len(first) == 5
    for record, _ in first:
        record.user_id = "bob"
        record.metadata["changed"] = True
    again = await store.query(MemoryType.SEMANTIC, vec(1), where=where, live_at=NOW, limit=5)
    assert ids(again) == ids(first)
    assert all(r.user_id == "alice" and not r.metadata for r, _ in again)
    moved = first[0][0].model_copy(update={"user_id": "bob", "metadata": {}})
    closed = records[5].model_copy(update={"valid_to": NOW - timedelta(days=1)})  # alice's
    await store.upsert(MemoryType.SEMANTIC, [moved, closed], [vec(1), vec(1, 0.05)])
    after = await store.query(MemoryType.SEMANTIC, vec(1), where=where, live_at=NOW, limit=5)
    assert moved.id not in ids(after) and closed.id not in ids(after)
    assert len(after) == 5


async def test_live_at_excludes_superseded_and_expired(store: VectorStore) -> None:
    current = fact(1)
    old = fact(2, valid_to=NOW - timedelta(days=1), superseded_by=current.id)
    await put(store, current, old)
    live = await store.query(MemoryType.SEMANTIC, vec(1), live_at=NOW)
    assert ids(live) == [current.id]
    assert ids(await store.list(MemoryType.SEMANTIC, live_at=NOW)) == [current.id]
    assert len(await store.query(MemoryType.SEMANTIC, vec(1))) == 2  # history stays stored

    def task(key: str, expires: datetime) -> WorkingMemory:
        return WorkingMemory(
            id=make_memory_id(MemoryType.WORKING, key),
            user_id="alice",
            content=f"task state {key}",
            key=key,
            value="v",
            expires_at=expires,
        )

    fresh, stale = task("fresh", NOW + timedelta(hours=1)), task("stale", NOW - timedelta(hours=1))
    await put(store, fresh, stale)
    assert ids(await store.query(MemoryType.WORKING, vec(1), live_at=NOW)) == [fresh.id]
    assert ids(await store.list(MemoryType.WORKING, live_at=NOW)) == [fresh.id]
    later = NOW + timedelta(hours=2)
    assert await store.list(MemoryType.WORKING, live_at=later) == []


async def test_superseding_an_existing_record_hides_it(store: VectorStore) -> None:
    record = fact(1)
    await put(store, record)
    await put(store, record.model_copy(update={"valid_to": NOW}))
    assert await store.query(MemoryType.SEMANTIC, vec(1), live_at=NOW) == []


# --- filters -----------------------------------------------------------------------------


def _corpus() -> list[SemanticMemory]:
    users = ["alice", "bob", None]
    return [
        fact(
            n,
            user=users[n % 3],
            content=f"{'coffee' if n % 2 else 'tea'} note {n}",
            confidence=n / 10,
            agent_id="helper" if n % 4 == 0 else None,
            metadata={
                "topic": ["work", "home", "travel"][n % 3],
                "priority": n % 5,
                "pinned": n % 2 == 0,
                "tags": ["a", "b"] if n % 3 == 0 else ["c"],
                **({"when": (T0 + timedelta(days=n)).isoformat()} if n % 2 else {}),
            },
            # octomem's own keys, some named like the caller's: plain names never reach them
            internal={"topic": "home", "batch": f"b{n % 2}", "turn_index": n, "raw": n > 5},
        )
        for n in range(1, 11)
    ]


FILTERS: list[dict[str, Any]] = [
    {"user_id": "alice"},
    {"user_id": None},
    {"user_id": {"ne": "alice"}},
    {"user_id": {"in": ["alice", "bob"]}},
    {"user_id": {"nin": ["alice"]}},
    {"user_id": "*"},
    {"agent_id": "helper"},
    {"confidence": {"gte": 0.5}},
    {"confidence": {"gt": 0.2, "lte": 0.7}},
    {"created_at": {"gte": (T0 + timedelta(minutes=5)).isoformat()}},
    {"created_at": {"lt": T0 + timedelta(minutes=3)}},
    {"created_at": (T0 + timedelta(minutes=4)).isoformat()},
    {"memory_type": "semantic", "attribute": {"in": ["attr1", "attr2", "attr9"]}},
    {"valid_to": None},
    {"topic": "work"},
    {"metadata.topic": {"ne": "home"}},
    {"metadata": {"topic": "travel", "pinned": True}},
    {"priority": {"gte": 3}},
    {"priority": {"in": [0, 4.0]}},
    {"pinned": False},
    {"missing_key": {"ne": "x"}},
    {"tags": {"contains": "a"}},
    {"content": {"contains": "coffee"}},
    {"content": {"icontains": "TEA"}},
    {"when": {"gt": T0 + timedelta(days=4)}},
    {"when": "*"},
    {"NOT": {"user_id": "alice"}},
    {"NOT": {"content": {"contains": "coffee"}}},
    {"OR": [{"user_id": "bob"}, {"priority": 1}]},
    {"OR": [{"user_id": "bob"}, {"content": {"contains": "tea"}}]},
    {"$and": [{"user_id": {"$ne": "bob"}}, {"$or": [{"topic": "home"}, {"pinned": True}]}]},
    {"$not": {"$or": [{"topic": "home"}, {"confidence": {"$lt": 0.3}}]}},
    {"AND": [{"user_id": "alice"}, {"NOT": {"tags": {"contains": "c"}}}]},
    {"OR": []},
    {},
    {"topic": "home", "pinned": True},
    {"internal.topic": "home"},
    {"internal.batch": "b1", "internal.turn_index": {"in": [2, 3, 5.0]}},
    {"internal": {"raw": True, "batch": "b0"}},
    {"internal.turn_index": {"gte": 7}},
    {"OR": [{"internal.raw": False}, {"topic": "travel"}]},
    {"raw": True},
    {"turn_index": {"exists": True}},
]


@pytest.mark.parametrize("where", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
async def test_filters_agree_with_reference_semantics(
    store: VectorStore, where: dict[str, Any]
) -> None:
    corpus = _corpus()
    await put(store, *corpus)
    expected = [r.id for r in corpus if filters.matches(where, r)]
    assert ids(await store.list(MemoryType.SEMANTIC, where=where)) == expected
    assert await store.count(MemoryType.SEMANTIC, where=where) == len(expected)
    hits = await store.query(MemoryType.SEMANTIC, vec(1), where=where, limit=100)
    assert sorted(ids(hits)) == sorted(expected)


async def test_filter_examples(store: VectorStore) -> None:
    corpus = _corpus()
    await put(store, *corpus)
    by_n = {n: r.id for n, r in enumerate(corpus, start=1)}

    async def listed(where: dict[str, Any]) -> list[str]:
        return ids(await store.list(MemoryType.SEMANTIC, where=where))

    assert await listed({"user_id": "alice"}) == [by_n[3], by_n[6], by_n[9]]
    assert await listed({"user_id": None, "confidence": {"gte": 0.5}}) == [by_n[5], by_n[8]]
    assert await listed({"priority": 4, "topic": "home"}) == [by_n[4]]
    assert await listed({"OR": [{"priority": 4}, {"content": {"contains": "note 1"}}]}) == [
        by_n[1],
        by_n[4],
        by_n[9],
        by_n[10],
    ]


async def test_residual_filter_still_fills_the_limit(store: VectorStore) -> None:
    records = [fact(n, content="rare" if n % 25 == 0 else "common") for n in range(1, 101)]
    await store.upsert(
        MemoryType.SEMANTIC, records, [vec(1, n / 100) for n in range(1, 101)]
    )  # the rare ones are far down the ranking
    hits = await store.query(
        MemoryType.SEMANTIC, vec(1), where={"content": {"contains": "rare"}}, limit=3
    )
    assert ids(hits) == [records[24].id, records[49].id, records[74].id]


async def test_users_are_isolated(store: VectorStore) -> None:
    mine, theirs = fact(1, user="alice"), fact(2, user="bob", content="fact number 1")
    await put(store, mine, theirs)
    for where in ({"user_id": "alice"}, {"user_id": "alice", "content": {"contains": "fact"}}):
        assert ids(await store.query(MemoryType.SEMANTIC, vec(1), where=where)) == [mine.id]
        assert ids(await store.list(MemoryType.SEMANTIC, where=where)) == [mine.id]
    assert await store.list(MemoryType.SEMANTIC, where={"user_id": "carol"}) == []


async def test_invalid_filter_is_rejected(store: VectorStore) -> None:
    with pytest.raises(InvalidInputError, match="regex"):
        await store.list(MemoryType.SEMANTIC, where={"content": {"regex": ".*"}})


# --- rewrite -------------------------------------------------------------------------


async def test_rewrite_replaces_data_and_keeps_the_embedding(store: VectorStore) -> None:
    record = fact(1, metadata={"topic": "x"}, internal={"batch": "b1", "flag": "fallback"})
    other = fact(2)
    await put(store, record, embedding=vec(1))
    await put(store, other, embedding=vec(0, 1))
    changed = record.model_copy(
        update={"metadata": {"source": "crm"}, "internal": {"batch": "b1", "flag": "llm"}}
    )
    unknown = fact(3)
    await store.rewrite(MemoryType.SEMANTIC, [changed, unknown])
    assert await store.get(MemoryType.SEMANTIC, [record.id, unknown.id]) == [changed]
    assert await store.count(MemoryType.SEMANTIC) == 2  # ids not stored are ignored
    (hit, similarity), *_ = await store.query(MemoryType.SEMANTIC, vec(1))
    assert hit == changed and similarity == pytest.approx(1.0, abs=1e-5)
    # filters see the new data only, whether the backend or Python evaluates them
    for where, expected in [
        ({"topic": "x"}, []),
        ({"source": "crm"}, [changed.id]),
        ({"internal.flag": "fallback"}, []),
        ({"internal.flag": "llm"}, [changed.id]),
        ({"internal.batch": "b1"}, [changed.id]),
    ]:
        assert ids(await store.list(MemoryType.SEMANTIC, where=where)) == expected, where
        assert ids(await store.query(MemoryType.SEMANTIC, vec(1), where=where)) == expected


async def test_an_entry_carries_the_token_of_the_lease_its_user_was_written_under(
    store: VectorStore,
) -> None:
    """A write holding its user's lease stamps the entry with the lease's fencing token
    (what tells a late write from the truth after a forget); a write without it does not."""

    async def holds(tokens: Any) -> bool:
        return True

    alice, bob, nobody = fact(1), fact(2, user="bob"), fact(3, user=None)
    under = fence.Fence((), holds).with_token("lease-alice", 7, user_id="alice")
    await put(store, alice, bob, nobody, fence=under.with_token("lease-none", 4, user_id=None))
    all_ids = [alice.id, bob.id, nobody.id, "unknown"]
    assert await store.stamps(MemoryType.SEMANTIC, all_ids) == {alice.id: 7, nobody.id: 4}
    later = fence.Fence((), holds).with_token("lease-alice", 9, user_id="alice")
    await store.rewrite(
        MemoryType.SEMANTIC, [alice.model_copy(update={"confidence": 0.5})], fence=later
    )
    assert await store.stamps(MemoryType.SEMANTIC, [alice.id]) == {alice.id: 9}
    await store.rewrite(MemoryType.SEMANTIC, [alice])  # no lease held: no token
    await put(store, nobody)
    assert await store.stamps(MemoryType.SEMANTIC, all_ids) == {}
    assert await store.get(MemoryType.SEMANTIC, [alice.id]) == [alice]  # data unchanged


async def test_rewrite_rejects_a_record_of_another_type(store: VectorStore) -> None:
    with pytest.raises(InvalidInputError):
        await store.rewrite(MemoryType.EPISODIC, [fact(1)])


# --- list, count, delete, reset ---------------------------------------------------------


async def test_list_orders_by_created_at_then_id(store: VectorStore) -> None:
    tie = T0 + timedelta(hours=1)
    records = [fact(n, created=tie if n in (3, 7) else T0 - timedelta(hours=n)) for n in range(8)]
    await put(store, *reversed(records))
    expected = sorted(records, key=lambda r: (r.created_at, r.id))
    assert ids(await store.list(MemoryType.SEMANTIC)) == ids(expected)
    filtered = await store.list(MemoryType.SEMANTIC, where={"value": {"in": ["1", "3", "5", "7"]}})
    assert ids(filtered) == ids([r for r in expected if r.value in "1357"])


async def test_list_pages_through_large_collections(store: VectorStore) -> None:
    records = [fact(n) for n in range(1205)]
    await put(store, *records)
    assert await store.count(MemoryType.SEMANTIC) == 1205
    assert ids(await store.list(MemoryType.SEMANTIC)) == ids(records)
    assert await store.count(MemoryType.SEMANTIC, where={"user_id": "alice"}) == 1205


async def test_delete(store: VectorStore) -> None:
    a, b = fact(1), fact(2)
    await put(store, a, b)
    await store.delete(MemoryType.SEMANTIC, [a.id, "sem_unknown"])
    await store.delete(MemoryType.SEMANTIC, [])
    assert ids(await store.list(MemoryType.SEMANTIC)) == [b.id]
    assert ids(await store.query(MemoryType.SEMANTIC, vec(1))) == [b.id]


async def test_reset_empties_every_type_and_store_stays_usable(store: VectorStore) -> None:
    records = all_types()
    await put(store, *records)
    await store.reset()
    for memory_type in MemoryType:
        assert await store.count(memory_type) == 0
    await put(store, fact(1))
    assert await store.count(MemoryType.SEMANTIC) == 1


# --- round trip ------------------------------------------------------------------------


def all_types() -> list[MemoryBase]:
    common: dict[str, Any] = {
        "user_id": "alice",
        "agent_id": "agent-7",
        "session_id": "s1",
        "created_at": T0,
        "updated_at": T0 + timedelta(seconds=1),
        "valid_from": T0 - timedelta(days=3),
        "source": SourceRef(turn_ids=["t1", "t2"], message_ids=["m1"], extractor="offline"),
        "confidence": 0.75,
        "metadata": {"topic": "x", "nested": {"a": [1, 2, {"b": None}]}, "n": 3.5},
        "internal": {"topic": "y", "list": ["a", {"b": 1}], "flag": True},
        "entities": ["Alice", "Paris"],
        "version": 3,
    }

    def mid(t: MemoryType) -> str:
        return make_memory_id(t, "round-trip")

    return [
        CoreMemory(
            id=mid(MemoryType.CORE),
            content="Alice likes brevity",
            label="human",
            char_limit=500,
            **common,
        ),
        EpisodicMemory(
            id=mid(MemoryType.EPISODIC),
            content="Alice flew to Paris",
            occurred_at=T0 - timedelta(days=1),
            actor="alice",
            event_type="travel",
            summary="flight",
            details="AF123",
            **common,
        ),
        SemanticMemory(
            id=mid(MemoryType.SEMANTIC),
            content="Alice lives in Paris",
            subject="alice",
            attribute="home_city",
            value="Paris",
            valid_to=T0 + timedelta(days=1),
            superseded_by="sem_next",
            **common,
        ),
        ProceduralMemory(
            id=mid(MemoryType.PROCEDURAL),
            content="How to deploy",
            title="deploy",
            trigger="release day",
            steps=["build", "ship"],
            **common,
        ),
        WorkingMemory(
            id=mid(MemoryType.WORKING),
            content="draft in progress",
            key="draft",
            value="v2",
            expires_at=T0 + timedelta(hours=2),
            **common,
        ),
        ContextualMemory(
            id=mid(MemoryType.CONTEXTUAL),
            content="on a phone",
            kind="device",
            value="phone",
            **common,
        ),
        KnowledgeMemory(
            id=mid(MemoryType.KNOWLEDGE),
            content="Alice works at Acme",
            subject="Alice",
            predicate="works_at",
            object="Acme",
            valid_at=T0,
            invalid_at=T0 + timedelta(days=9),
            **common,
        ),
        ResourceMemory(
            id=mid(MemoryType.RESOURCE),
            content="Quarterly report",
            title="Q3 report",
            resource_type="pdf",
            uri="file:///q3.pdf",
            summary="numbers",
            excerpt="revenue up",
            sensitive=True,
            **common,
        ),
    ]


async def test_every_record_type_round_trips_exactly(store: VectorStore) -> None:
    records = all_types()
    assert {r.memory_type for r in records} == set(MemoryType)
    await put(store, *records)
    for record in records:
        assert await store.get(record.memory_type, [record.id]) == [record]
        ((hit, _),) = await store.query(record.memory_type, vec(1, 1, 1, 1))
        assert hit == record
        assert await store.list(record.memory_type) == [record]


async def test_unicode_content_and_metadata(store: VectorStore) -> None:
    text = 'Zoë 喜欢 café ☕ — مرحبا 👩‍💻 "quoted" \n newline'
    record = fact(1, content=text, metadata={"città": "Köln 🌧", "emoji": "👍"})
    await put(store, record)
    assert await store.get(MemoryType.SEMANTIC, [record.id]) == [record]
    assert ids(await store.list(MemoryType.SEMANTIC, where={"città": "Köln 🌧"})) == [record.id]
    hits = await store.query(MemoryType.SEMANTIC, vec(1), where={"content": {"contains": "喜欢"}})
    assert ids(hits) == [record.id]


async def test_unreachable_server_says_what_to_do() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    store = ChromaVectorStore.http("127.0.0.1", port, prefix="unreachable", retry_s=0.2)
    with pytest.raises(StoreUnavailableError, match="chroma run"):
        await store.init()


async def test_known_empty_is_never_wrong(store: VectorStore) -> None:
    """Recall skips types the store knows to be empty: it must never skip one that is not."""
    for memory_type in MemoryType:
        if store.known_empty(memory_type):
            assert await store.count(memory_type) == 0
    await put(store, fact(1))
    assert not store.known_empty(MemoryType.SEMANTIC)
    await store.delete(MemoryType.SEMANTIC, [fact(1).id])
    assert await store.count(MemoryType.SEMANTIC) == 0


# --- types another Orchestrator's agents wrote to the same stores --------------------


@pytest.fixture(params=["embedded", "http"])
async def stores_of(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Any]:
    """Make stores on one location and prefix (`tail` added to it), each with its own type
    registry."""
    base, made = f"t{uuid.uuid4().hex[:12]}", []

    async def make(types: Any, tail: str = "") -> ChromaVectorStore:
        prefix = base + tail
        if request.param == "embedded":
            backend = ChromaVectorStore.embedded(tmp_path / "chroma", prefix=prefix, types=types)
        else:
            url = urlparse(request.getfixturevalue("chroma_server_url"))
            backend = ChromaVectorStore.http(
                url.hostname or "127.0.0.1", url.port or 8000, prefix=prefix, types=types
            )
        await backend.init()
        made.append(backend)
        return backend

    yield make
    for backend in made:
        with contextlib.suppress(StoreError):  # dropped by another store of its prefix
            await backend.drop()
    for backend in made:
        await backend.close()


async def test_records_of_types_its_registry_lacks_are_listed_deleted_and_reset(
    stores_of: Any,
) -> None:
    from octomem.memory_types import TypeRegistry, TypeSpec
    from octomem.models import CustomMemory

    recipe = MemoryType("recipe")
    kitchen = await stores_of(TypeRegistry([TypeSpec.custom(recipe)]))
    plain = await stores_of(TypeRegistry())

    def dish(n: int, user: str) -> CustomMemory:
        return CustomMemory(
            id=f"recipe_{user}{n}",
            memory_type=recipe,
            user_id=user,
            content=f"dish {n}",
            attributes={"n": n},
            created_at=T0,
        )

    await kitchen.upsert(
        recipe, [dish(1, "alice"), dish(2, "alice"), dish(3, "bob")], [vec(1, 0, 0, 0)] * 3
    )
    await put(kitchen, fact(1))
    assert await kitchen.foreign_records() == {}  # it knows every type it holds
    found = await plain.foreign_records(filters.validate({"user_id": {"eq": "alice"}}))
    assert sorted(r["id"] for r in found["recipe"]) == ["recipe_alice1", "recipe_alice2"]
    assert found["recipe"][0]["attributes"]["n"] in (1, 2)  # the record as stored
    assert list(found) == ["recipe"]  # the built-in types are its own

    await plain.delete_foreign("recipe", ["recipe_alice1", "nothing-such"])
    left = await kitchen.list(recipe)
    assert ids(left) == ["recipe_alice2", "recipe_bob3"]
    with pytest.raises(InvalidInputError, match="fields every memory has"):
        await plain.foreign_records(filters.validate({"content": {"contains": "dish"}}))

    await plain.reset()  # every type, those it lacks too
    assert await plain.foreign_records() == {}
    try:
        assert await kitchen.list(recipe) == []
    except StoreError as exc:  # a server's collection handle, dropped by another store
        assert "deleted meanwhile" in str(exc)
        assert await kitchen.list(recipe) == []  # the retry it asks for


async def test_a_prefix_that_begins_another_reaches_none_of_its_collections(
    stores_of: Any,
) -> None:
    """Projects acme and acme_eu on one Chroma server: acme_eu's collection
    `..._acme_eu_semantic` is not a type `eu_semantic` of acme's, to list, delete or drop."""
    from octomem.memory_types import TypeRegistry, TypeSpec

    acme = await stores_of(TypeRegistry())
    acme_eu = await stores_of(TypeRegistry(), "_eu")
    await put(acme_eu, fact(1), fact(2, user="bob"))
    assert await acme.foreign_records() == {}
    await acme.delete_foreign("eu_semantic", [fact(1).id])
    await acme.reset()
    assert sorted(ids(await acme_eu.list(MemoryType.SEMANTIC))) == sorted(
        [fact(1).id, fact(2, user="bob").id]
    )
    # a custom type whose name would be acme_eu's collection is refused, not shared
    clash = MemoryType("eu_semantic")
    with pytest.raises(ConfigurationError, match="belongs to the collection prefix"):
        await stores_of(TypeRegistry([TypeSpec.custom(clash)]))
