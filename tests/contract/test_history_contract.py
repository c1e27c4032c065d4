"""The HistoryStore contract: every history backend must pass this suite unchanged (SQLite,
and the graph server's log: tests/contract/log_backends.py)."""

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
from octomem.stores import fence
from octomem.stores.base import ALL_USERS, HistoryStore
from octomem.stores.fence import LeaseLostError
from tests.contract.log_backends import BACKENDS, SERVERS, LogBackend, open_log_backend

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LogBackend]:
    async with open_log_backend(request.param, request, tmp_path) as backend:
        yield backend


@pytest.fixture
async def store(log: LogBackend) -> HistoryStore:
    return await log.history()


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
    assert await store.for_user("bob") == [b1]
    assert await store.for_user(None) == [n1]
    assert await store.for_user("carol") == []


async def test_reset_and_reopen(log: LogBackend) -> None:
    first = await log.history()
    event = ev("sem_a", 0)
    await first.record([event])
    await first.close()
    second = await log.history()
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


async def test_latest_is_the_last_logged_event_of_each_memory(store: HistoryStore) -> None:
    """By the order of logging, not by `at` (an event's time may be a message's own)."""
    later, earlier = ev("sem_a", 5), ev("sem_a", 1)
    await store.record([later])
    await store.record([earlier])
    tie_a, tie_b = ev("sem_b", 7, at=T0), ev("sem_b", 3, at=T0)
    await store.record([tie_a, tie_b])
    bob = ev("sem_c", 0, user="bob")
    nobody = ev("sem_d", 0, user=None)
    await store.record([bob, nobody])
    assert await store.latest() == {"sem_a": earlier, "sem_b": tie_b, "sem_c": bob, "sem_d": nobody}
    assert await store.latest("alice") == {"sem_a": earlier, "sem_b": tie_b}
    assert await store.latest(None) == {"sem_d": nobody}
    assert await store.latest("carol") == {}
    assert await store.latest(ALL_USERS) == await store.latest()


async def test_find_gives_the_logged_events_with_these_ids(log: LogBackend) -> None:
    """By event id, whichever memory or user logged it, as logged (the first of an id);
    ids not logged are left out; more ids than one statement takes; another namespace's
    events with the same ids are not this one's."""
    store, theirs = await log.history(), await log.history(log.other("b"))
    first, bob = ev("sem_a", 0), ev("sem_b", 1, user="bob")
    nobody = ev("sem_c", 0, user=None)
    await store.record([first, bob, nobody])
    await store.record([first.model_copy(update={"new_value": "a retry's other text"})])
    await theirs.record([ev("sem_a", 0).model_copy(update={"new_value": "theirs"}), ev("x", 9)])
    asked = [first.id, "hist_unknown", bob.id, nobody.id, first.id, ev("x", 9).id]
    assert await store.find(asked) == {first.id: first, bob.id: bob, nobody.id: nobody}
    assert await store.find([]) == {}
    many = [ev(f"sem_{i}", 0) for i in range(1_100)]
    await store.record(many)
    found = await store.find([e.id for e in many] + [f"hist_{i}" for i in range(600)])
    assert found == {e.id: e for e in many}


async def test_user_ids(store: HistoryStore) -> None:
    assert await store.user_ids() == []
    await store.record([ev("sem_a", 0), ev("sem_b", 0, user="bob"), ev("sem_c", 0, user=None)])
    await store.record([ev("sem_a", 1)])
    users = await store.user_ids()
    assert sorted(users, key=str) == sorted(["alice", "bob", None], key=str)
    assert len(users) == 3


async def test_discard_removes_every_event_of_those_memories(store: HistoryStore) -> None:
    kept = ev("sem_b", 0)
    await store.record([ev("sem_a", 0), ev("sem_a", 1), kept, ev("sem_c", 0, user="bob")])
    await store.discard(["sem_a", "sem_c", "sem_a", "sem_unknown"])
    await store.discard([])
    assert await store.for_memory("sem_a") == []
    assert await store.latest() == {"sem_b": kept}
    assert await store.user_ids() == ["alice"]
    again = ev("sem_a", 2)
    await store.record([again])  # logged anew after a discard
    assert await store.for_memory("sem_a") == [again]


async def test_discard_of_many_memories(store: HistoryStore) -> None:
    """More memory ids than one statement takes (the server store splits them)."""
    events = [ev(f"sem_{i}", 0) for i in range(1_100)]
    await store.record(events)
    await store.discard([e.memory_id for e in events[:1_050]])
    assert await store.latest() == {e.memory_id: e for e in events[1_050:]}


async def test_two_stores_on_one_log_see_each_others_events(log: LogBackend) -> None:
    """Two hosts (two stores on one file or server): one log; the last logged is the last
    either of them logged, even when its `at` is older."""
    host_a, host_b = await log.history(), await log.history()
    first = ev("sem_a", 0, at=T0 + timedelta(hours=2))
    await host_a.record([first])
    second = ev("sem_a", 1, at=T0)
    await host_b.record([second])
    for host in (host_a, host_b):
        assert await host.for_memory("sem_a") == [second, first]  # by `at`
        assert await host.latest("alice") == {"sem_a": second}  # by logging
        assert await host.for_user("alice") == [second, first]
    await host_b.record([first])  # a retry on the other host logs nothing
    assert await host_a.for_memory("sem_a") == [second, first]


async def test_namespaces_keep_apart(log: LogBackend) -> None:
    """Two deployments or projects (namespaces) holding the same event ids, memories and
    users never see each other's events; `reset` and `discard` empty their own only."""
    mine, theirs = await log.history(), await log.history(log.other("b"))
    ours = [ev("sem_a", 0), ev("sem_b", 0, user=None)]
    await mine.record(ours)
    other = ev("sem_a", 0).model_copy(update={"new_value": "theirs"})
    await theirs.record([other])  # the same event id: logged there too
    assert await mine.for_memory("sem_a") == [ours[0]]
    assert await theirs.for_memory("sem_a") == [other]
    assert await theirs.for_user(None) == [] and await theirs.user_ids() == ["alice"]
    assert await theirs.latest() == {"sem_a": other}
    await theirs.discard(["sem_b"])
    assert await mine.for_user(None) == [ours[1]]
    await theirs.reset()
    assert await theirs.latest() == {}
    assert await mine.latest() == {"sem_a": ours[0], "sem_b": ours[1]}


@pytest.mark.parametrize("backend", SERVERS)
async def test_a_writer_whose_lease_passed_on_logs_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Fencing: under a lease another writer has taken since, `record` and `discard` are
    refused whole; the newer writer's go through."""
    async with open_log_backend(backend, request, tmp_path) as log:
        store = await log.history()
        kept = ev("sem_a", 0)
        await store.record([kept])
        stale, live = await log.fences()
        with pytest.raises(LeaseLostError):
            await store.record([ev("sem_a", 1), ev("sem_b", 0)], fence=stale)
        with pytest.raises(LeaseLostError):
            await store.discard(["sem_a"], fence=stale)
        assert await store.for_memory("sem_a") == [kept]  # reads are not fenced
        assert await store.latest() == {"sem_a": kept}
        newer = ev("sem_a", 1)
        await store.record([newer], fence=live)
        assert await store.for_memory("sem_a") == [kept, newer]


async def test_an_event_keeps_the_token_of_the_lease_its_user_was_logged_under(
    log: LogBackend,
) -> None:
    """Logged while its user's lease is held, an event keeps that lease's fencing token
    (what tells a vector entry written late from the newer truth, `doctor`); logged
    without it, none, whatever the event carried. The token is never shown."""
    store = await log.history()
    if log.server is None:

        async def holds(tokens: object) -> bool:
            return True

        under, token = fence.Fence((("lease-alice", 7),), holds), 7
    else:
        _, under = await log.fences()
        [(_, token)] = under.tokens
    under = fence.Fence(under.tokens, under.holds, (("alice", token),))
    planted = ev("sem_c", 0).model_copy(update={"fenced": 99})  # as an imported file may
    await store.record([ev("sem_a", 0), ev("sem_b", 0, user="bob")], fence=under)
    await store.record([ev("sem_a", 1), planted])
    assert [e.fenced for e in await store.for_memory("sem_a")] == [token, None]
    latest = await store.latest()
    assert {i: e.fenced for i, e in latest.items()} == {"sem_a": None, "sem_b": None, "sem_c": None}
    first = (await store.for_user("alice"))[0]
    assert first.fenced == token and "fenced" not in first.model_dump(mode="json")
    assert "fenced" not in repr(first) and first == ev("sem_a", 0)  # the same change
    # logged as they were made elsewhere (an import's past events): no token
    await store.record([ev("sem_d", 0)], fence=under, stamped=False)
    assert [e.fenced for e in await store.for_memory("sem_d")] == [None]


async def test_a_delete_keeps_whether_its_writer_removed_the_record(log: LogBackend) -> None:
    """A DELETE's writer says whether it removed the record (a deletion) or kept it closed
    (a retraction): what tells a vector entry written late over it (`doctor`). Kept by the
    store, never shown, not part of the change."""
    store = await log.history()
    deletion, retraction = (
        ev(memory_id, 1, op=Operation.DELETE).model_copy(update={"removed": removed})
        for memory_id, removed in (("sem_a", True), ("sem_b", False))
    )
    await store.record([deletion, retraction])
    latest = await store.latest()
    assert {i: e.removed for i, e in latest.items()} == {"sem_a": True, "sem_b": False}
    assert latest["sem_a"] == deletion.model_copy(update={"removed": None})
    assert "removed" not in latest["sem_a"].model_dump(mode="json")
    assert "removed" not in repr(latest["sem_b"])
