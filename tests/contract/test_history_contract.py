"""The HistoryStore contract: every history backend must pass this suite unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from octomem.models import (
    HistoryEvent,
    MemoryType,
    Operation,
    SemanticMemory,
    make_memory_id,
    stable_hash,
)
from octomem.stores.base import HistoryStore
from octomem.stores.history import SqliteHistoryStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[HistoryStore]:
    backend = SqliteHistoryStore(tmp_path / "history.db")
    await backend.init()
    yield backend
    await backend.close()


def ev(
    memory_id: str,
    n: int,
    *,
    at: datetime | None = None,
    user: str | None = "alice",
    op: Operation = Operation.UPDATE,
) -> HistoryEvent:
    return HistoryEvent(
        id="hist_" + stable_hash(memory_id, n)[:24],
        memory_id=memory_id,
        memory_type=MemoryType.SEMANTIC,
        operation=op,
        old_value=f"v{n - 1}" if n else None,
        new_value=f"v{n}",
        at=at or T0 + timedelta(minutes=n),
        user_id=user,
    )


async def test_implements_protocol(store: HistoryStore) -> None:
    assert isinstance(store, HistoryStore)


async def test_record_is_idempotent(store: HistoryStore) -> None:
    first, second = ev("sem_a", 0, op=Operation.ADD), ev("sem_a", 1)
    await store.record([first, second])
    await store.record([first, second, first])
    await store.record([])
    assert await store.for_memory("sem_a") == [first, second]


async def test_event_round_trips_with_record(store: HistoryStore) -> None:
    memory = SemanticMemory(
        id=make_memory_id(MemoryType.SEMANTIC, "alice", "city"),
        user_id="alice",
        content="Alice lives in Köln ☕",
        subject="alice",
        attribute="city",
        value="Köln",
    )
    event = ev(memory.id, 0, op=Operation.ADD).model_copy(
        update={"record": memory.model_dump(mode="json"), "actor": "semantic-agent"}
    )
    await store.record([event])
    (got,) = await store.for_memory(memory.id)
    assert got == event
    assert SemanticMemory.model_validate(got.record) == memory


async def test_for_memory_is_oldest_first_then_insertion_order(store: HistoryStore) -> None:
    late, early = ev("sem_a", 5), ev("sem_a", 1)
    tie_a = ev("sem_a", 7, at=T0 + timedelta(hours=1))
    tie_b = ev("sem_a", 3, at=T0 + timedelta(hours=1))
    other = ev("sem_b", 2)
    await store.record([late, other])
    await store.record([tie_a, early, tie_b])
    assert await store.for_memory("sem_a") == [early, late, tie_a, tie_b]
    assert await store.for_memory("sem_missing") == []


async def test_for_user(store: HistoryStore) -> None:
    a1, a2 = ev("sem_a", 2, user="alice"), ev("sem_b", 1, user="alice")
    b1 = ev("sem_c", 0, user="bob")
    n1 = ev("sem_d", 3, user=None)
    await store.record([a1, b1, n1, a2])
    assert await store.for_user("alice") == [a2, a1]
    assert await store.for_user("alice", limit=1) == [a2]
    assert await store.for_user("alice", limit=0) == []
    assert await store.for_user("bob") == [b1]
    assert await store.for_user(None) == [n1]
    assert await store.for_user("carol") == []


async def test_reset_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    first = SqliteHistoryStore(path)
    event = ev("sem_a", 0)
    await first.record([event])
    await first.close()
    second = SqliteHistoryStore(path)
    assert await second.for_memory("sem_a") == [event]
    await second.reset()
    assert await second.for_memory("sem_a") == []
    await second.record([event])  # an event can be logged again after a reset
    assert await second.for_user("alice") == [event]
    await second.close()


async def test_concurrent_records_and_reads_all_land(store: HistoryStore) -> None:
    """Many writers and readers at once (as concurrent `aput`s do): none fails, none is lost."""
    memory_ids = [f"sem_{i}" for i in range(40)]
    for _ in range(5):
        await asyncio.gather(
            *[store.record([ev(m, n) for n in range(3)]) for m in memory_ids],
            *[store.for_memory(m) for m in memory_ids],
        )
    for memory_id in memory_ids:
        assert [e.new_value for e in await store.for_memory(memory_id)] == ["v0", "v1", "v2"]
