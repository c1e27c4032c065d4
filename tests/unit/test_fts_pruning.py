"""The FTS5 keyword index skips scoring rows that hold only common words (MaxScore) only
where that changes nothing: every search returns exactly what scoring every matching row
returns - the same ids, order and scores - under every filter (user, memory types,
superseded, expired)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from octomem.models import (
    TURN_CONTEXT,
    EpisodicMemory,
    MemoryType,
    SemanticMemory,
    WorkingMemory,
    make_memory_id,
)
from octomem.stores import fts
from octomem.stores.fts import FtsKeywordStore

NOW = datetime(2024, 6, 1, tzinfo=UTC)
COMMON = "going well today again".split()  # in most rows: low IDF
MIDDLE = "trip report garden".split()
RARE = [f"name{n}" for n in range(12)]


class EveryRow(FtsKeywordStore):
    PRUNE_FROM = 10**9  # score every matching row, as before pruning


class Pruned(FtsKeywordStore):
    PRUNE_FROM = 0  # prune whenever the bounds allow


def _text(rng: random.Random) -> str:
    words = rng.sample(COMMON, rng.randint(0, 3)) + rng.sample(MIDDLE, rng.randint(0, 2))
    words += rng.sample(RARE, rng.randint(0, 2)) * rng.randint(1, 2)  # sometimes twice
    words += ["filler"] * rng.randint(0, 12)  # lengths vary
    rng.shuffle(words)
    return " ".join(words) or "empty"


def _records(rng: random.Random, count: int) -> list[EpisodicMemory | SemanticMemory]:
    out: list[EpisodicMemory | SemanticMemory] = []
    before = ""
    for n in range(count):
        text, user = _text(rng), rng.choice(["alice", "alice", "alice", "bob", None])
        superseded = {"valid_to": NOW - timedelta(days=1)} if rng.random() < 0.1 else {}
        if rng.random() < 0.7:
            out.append(
                EpisodicMemory(
                    id=make_memory_id(MemoryType.EPISODIC, user, n),
                    user_id=user,
                    content=text,
                    occurred_at=NOW,
                    actor="alice",
                    event_type="message",
                    summary=text,
                    internal={"raw": True, TURN_CONTEXT: before},
                    **superseded,
                )
            )
        else:
            out.append(
                SemanticMemory(
                    id=make_memory_id(MemoryType.SEMANTIC, user, n),
                    user_id=user,
                    content=text,
                    subject="s",
                    attribute=str(n),
                    value="v",
                    **superseded,
                )
            )
        before = text
    return out


def _count_splits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The split searches (rare AND common words) run from now on."""
    split: list[str] = []
    real = fts._Ranked.__call__

    def spy(self: fts._Ranked, conn: Any, expression: str) -> list[tuple[str, str, float]]:
        if ") AND (" in expression:
            split.append(expression)
        return real(self, conn, expression)

    monkeypatch.setattr(fts._Ranked, "__call__", spy)
    return split


QUERIES = [
    "name3 going",
    "going well name1 trip",
    "today again name7 report garden",
    "going well today again",
    "name2",
    "trip going",
    "name4 name5 well",
    "unheard going name8",
    "garden going well today again name11",
]


@pytest.mark.parametrize("limit", [1, 5, 20, 140])
async def test_same_results_as_scoring_every_row(
    tmp_path: Path, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    split = _count_splits(monkeypatch)
    rng = random.Random(limit)
    path = tmp_path / "keyword.db"
    full, pruned = EveryRow(path), Pruned(path)
    records = _records(rng, 1500)
    expiring = [
        WorkingMemory(
            id=make_memory_id(MemoryType.WORKING, n),
            user_id="alice",
            content=_text(rng),
            key=f"k{n}",
            value="v",
            expires_at=NOW + timedelta(hours=rng.choice([-1, 1])),
        )
        for n in range(200)
    ]
    try:
        await full.upsert([*records, *expiring])
        searches = [
            {},
            {"user_id": "bob"},
            {"user_id": None},
            {"memory_types": [MemoryType.SEMANTIC]},
            {"memory_types": [MemoryType.EPISODIC, MemoryType.WORKING]},
            {"include_superseded": True},
            {"now": NOW + timedelta(hours=2)},
        ]
        for query in QUERIES:
            for extra in searches:
                kwargs = {"user_id": "alice", "limit": limit, "now": NOW, **extra}
                want = await full.search(query, **kwargs)  # type: ignore[arg-type]
                got = await pruned.search(query, **kwargs)  # type: ignore[arg-type]
                assert [(i, t) for i, t, _ in got] == [(i, t) for i, t, _ in want], (query, extra)
                assert [s for _, _, s in got] == pytest.approx([s for _, _, s in want])
        assert split  # some searches did skip rows
    finally:
        await full.close()
        await pruned.close()


async def test_pruning_happens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a query of one rare and one common word, only rows holding the rare word are
    scored: the common word's rows are never all ranked."""
    store = Pruned(tmp_path / "keyword.db")
    rows = [
        SemanticMemory(
            id=make_memory_id(MemoryType.SEMANTIC, "alice", n),
            user_id="alice",
            content=("rare " if n % 50 == 0 else "") + "common words here " + "x " * (n % 7),
            subject="s",
            attribute=str(n),
            value="v",
        )
        for n in range(3000)
    ]
    seen: list[str] = []
    real = fts._Ranked.__call__

    def spy(self: fts._Ranked, conn: Any, expression: str) -> list[tuple[str, str, float]]:
        seen.append(expression)
        return real(self, conn, expression)

    monkeypatch.setattr(fts._Ranked, "__call__", spy)
    try:
        await store.upsert(rows)
        hits = await store.search("rare common", user_id="alice", limit=10)
        assert len(hits) == 10
        assert all(i in {r.id for r in rows if r.content.startswith("rare")} for i, _, _ in hits)
        assert '"rare" OR "common"' not in seen  # never every row
        assert sorted(seen) == ['"rare"', '("rare") AND ("common")']
    finally:
        await store.close()


async def test_a_search_of_common_words_scores_only_the_newest_matches(tmp_path: Path) -> None:
    """Past `max_scored` matching rows that pruning cannot rule out, only the newest
    `max_scored` rows that match and pass the filters are ranked - with the scores scoring
    every row gives them; a user with fewer matching rows than that gets the exact
    answer, whoever else fills the index."""
    path = tmp_path / "keyword.db"
    capped, full = FtsKeywordStore(path, max_scored=100), FtsKeywordStore(path, max_scored=0)
    rng = random.Random(7)
    written: list[SemanticMemory] = []
    for n in range(900):
        user = "bob" if n % 30 == 0 else "alice"
        written.append(
            SemanticMemory(
                id=make_memory_id(MemoryType.SEMANTIC, user, n),
                user_id=user,
                content="common words " + "filler " * rng.randint(0, 9),
                subject="s",
                attribute=str(n),
                value="v",
                valid_to=NOW - timedelta(days=1) if n % 7 == 0 else None,
            )
        )
    try:
        for start in range(0, len(written), 50):  # rowids follow the order of writing
            await capped.upsert(written[start : start + 50])
        kwargs: dict[str, Any] = {"user_id": "alice", "now": NOW}
        every = {i: s for i, _, s in await full.search("common words", limit=900, **kwargs)}
        newest = [r.id for r in written if r.user_id == "alice" and r.valid_to is None][-100:]
        window = sorted(newest, key=lambda i: (-every[i], i))[:10]
        got = await capped.search("common words", limit=10, **kwargs)
        assert [i for i, _, _ in got] == window
        assert [s for _, _, s in got] == pytest.approx([every[i] for i in window])
        assert [i for i, _, _ in got] != sorted(every, key=lambda i: (-every[i], i))[:10]
        for query in ("common", "words common"):
            bob = {"user_id": "bob", "limit": 10, "now": NOW}
            assert await capped.search(query, **bob) == await full.search(query, **bob)
    finally:
        await capped.close()
        await full.close()
