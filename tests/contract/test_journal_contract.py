"""The Journal contract: every journal backend must pass this suite unchanged (SQLite, and
the graph server's journal: tests/contract/log_backends.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from octomem.models import (
    Change,
    Entity,
    Erase,
    HistoryEvent,
    IntentPart,
    MemoryType,
    Operation,
    SemanticMemory,
    WriteIntent,
    stable_hash,
)
from octomem.stores import neo4j_journal
from octomem.stores.base import Journal
from octomem.stores.fence import LeaseLostError
from octomem.stores.neo4j_journal import Neo4jJournal, this_process
from tests.contract.log_backends import BACKENDS, SERVERS, LogBackend, open_log_backend

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LogBackend]:
    async with open_log_backend(request.param, request, tmp_path) as backend:
        yield backend


@pytest.fixture
async def journal(log: LogBackend) -> Journal:
    return await log.journal()


def change(user: str | None, n: int, text: str = "") -> Change:
    record = SemanticMemory(
        id=f"sem_{user}_{n}",
        user_id=user,
        content=text or f"{user} fact {n} ☕",
        subject=str(user),
        attribute=f"a{n}",
        value=str(n),
        created_at=T0,
        updated_at=T0,
        valid_from=T0,
    )
    event = HistoryEvent(
        id="hist_" + stable_hash(record.id, n)[:24],
        memory_id=record.id,
        memory_type=MemoryType.SEMANTIC,
        operation=Operation.ADD,
        new_value=record.content,
        at=T0 + timedelta(minutes=n),
        user_id=user,
        record=record.model_dump(mode="json"),
    )
    return Change(record=record, event=event)


def intent(name: str, *users: str | None, parts: int = 0) -> WriteIntent:
    return WriteIntent(
        id=f"intent-{name}",
        at=T0,
        writes=[change(user, n) for n, user in enumerate(users)],
        parts=parts,
    )


async def test_implements_protocol(journal: Journal) -> None:
    assert isinstance(journal, Journal)


async def test_begin_then_finish(journal: Journal) -> None:
    first, second = intent("a", "alice"), intent("b", "bob", None)
    assert await journal.pending() == []
    await journal.begin(first)
    await journal.begin(second)
    assert await journal.pending() == [first, second]  # oldest first, bodies whole
    assert await journal.is_pending(first.id) and await journal.is_pending(second.id)
    await journal.finish(first.id)
    await journal.finish(first.id)  # again: nothing
    await journal.finish("intent-unknown")
    assert await journal.pending() == [second]
    assert not await journal.is_pending(first.id)
    assert not await journal.is_pending("intent-unknown")


async def test_pending_is_in_the_order_begun(journal: Journal) -> None:
    intents = [intent(f"{n:02d}", "alice") for n in (5, 1, 9, 3, 7, 2)]
    for each in intents:
        await journal.begin(each)
    assert [i.id for i in await journal.pending()] == [i.id for i in intents]
    await journal.finish(intents[2].id)
    later = intent("00", "bob")  # after the others, whatever its id
    await journal.begin(later)
    expected = [i.id for i in intents if i is not intents[2]] + [later.id]
    assert [i.id for i in await journal.pending()] == expected


async def test_pending_touching_users(journal: Journal) -> None:
    """The intents that write one of the users (a write of two users is either's)."""
    alone, pair, nobody = intent("a", "alice"), intent("p", "alice", "bob"), intent("n", None)
    views = WriteIntent(id="intent-v", at=T0, views=[("carol", None)])
    users = WriteIntent(id="intent-u", at=T0, users=["dave"], parts=1)
    for each in (alone, pair, nobody, views, users):
        await journal.begin(each)
    assert await journal.pending(touching={"alice"}) == [alone, pair]
    assert await journal.pending(touching={"bob"}) == [pair]
    assert await journal.pending(touching={"alice", "bob"}) == [alone, pair]
    assert await journal.pending(touching={None}) == [nobody]
    assert await journal.pending(touching={"carol"}) == [views]  # the users of its views
    assert await journal.pending(touching={"dave"}) == [users]  # and of its parts
    assert await journal.pending(touching={"erin"}) == []
    assert await journal.pending(touching=set()) == []
    assert len(await journal.pending()) == 5


async def test_parts(journal: Journal) -> None:
    head = WriteIntent(id="intent-import", at=T0, users=["alice"], parts=3)
    await journal.begin(head)
    parts = [
        IntentPart(writes=[change("alice", 1)]),
        IntentPart(entities=[Entity(id="ent_1", user_id="alice", name="Köln")]),
    ]
    for index, part in enumerate(parts):
        await journal.add_part(head.id, index, part)
    assert [await journal.part(head.id, i) for i in range(3)] == [*parts, None]
    assert await journal.part("intent-unknown", 0) is None
    assert await journal.pending() == [head]  # a head without its last part: pending
    await journal.add_part(head.id, 1, parts[0])  # again: replaced
    assert await journal.part(head.id, 1) == parts[0]
    await journal.finish(head.id)
    assert [await journal.part(head.id, i) for i in range(3)] == [None, None, None]
    assert await journal.pending() == []


async def test_a_large_body_round_trips(journal: Journal) -> None:
    """An import's head and parts are megabytes of text, each in a write of its own."""
    text = "x" * 2_000
    big = WriteIntent(
        id="intent-big", at=T0, writes=[change("alice", n, text) for n in range(600)], parts=2
    )
    part = IntentPart(writes=[change("alice", n, text) for n in range(600, 1200)])
    await journal.begin(big)
    await journal.add_part(big.id, 0, part)
    await journal.add_part(big.id, 1, part)
    assert await journal.pending(touching={"alice"}) == [big]
    assert await journal.part(big.id, 1) == part
    await journal.finish(big.id)
    assert await journal.pending() == [] and await journal.part(big.id, 0) is None


async def test_an_erase_is_an_intent_with_its_ids(journal: Journal) -> None:
    """A forget is journaled as an intent like any other: its user, agent and the memory
    ids it removes (no text), listed among the user's pending intents in the order
    begun."""
    write = intent("w", "alice")
    erase = WriteIntent(id="intent-e", erase=Erase(user_id="alice", ids=["m2", "m1"]))
    await journal.begin(write)
    await journal.begin(erase)
    assert await journal.pending(touching={"alice"}) == [write, erase]
    assert await journal.pending(touching={"bob"}) == []
    await journal.finish(write.id)
    (left,) = await journal.pending()
    assert left.erase == Erase(user_id="alice", ids=["m2", "m1"]) and left.user_ids() == ["alice"]


async def test_reset_and_compact(journal: Journal) -> None:
    await journal.begin(intent("a", "alice", parts=1))
    await journal.add_part("intent-a", 0, IntentPart(writes=[change("alice", 1)]))
    await journal.compact()  # rewrites its files, if it owns any: nothing pending changes
    assert [i.id for i in await journal.pending()] == ["intent-a"]
    await journal.reset()
    assert await journal.pending() == []
    assert await journal.part("intent-a", 0) is None
    await journal.begin(intent("a", "alice"))  # usable after a reset
    assert await journal.is_pending("intent-a")


async def test_two_stores_on_one_journal_see_each_others_intents(log: LogBackend) -> None:
    """Two hosts (or processes) on one journal: what one begins, the other lists, reads
    the parts of and can finish; the order is the order begun, whichever began it."""
    host_a, host_b = await log.journal(), await log.journal()
    first, second = intent("1", "alice", parts=1), intent("2", "bob")
    await host_a.begin(first)
    await host_a.add_part(first.id, 0, IntentPart(writes=[change("alice", 5)]))
    await host_b.begin(second)
    for host in (host_a, host_b):
        assert await host.pending() == [first, second]
    assert await host_b.part(first.id, 0) == IntentPart(writes=[change("alice", 5)])
    await host_b.finish(first.id)  # completed by the other host
    assert await host_a.pending() == [second]
    assert await host_a.part(first.id, 0) is None
    await host_a.close()
    reopened = await log.journal()
    assert await reopened.pending() == [second]


async def test_namespaces_keep_apart(log: LogBackend) -> None:
    """Two deployments or projects never see each other's intents or parts, with the same
    ids; `reset` empties its own only."""
    mine, theirs = await log.journal(), await log.journal(log.other("b"))
    ours, other = intent("x", "alice", parts=1), intent("x", "bob")
    await mine.begin(ours)
    await mine.add_part(ours.id, 0, IntentPart(writes=[change("alice", 1)]))
    assert await theirs.pending() == [] and not await theirs.is_pending(ours.id)
    assert await theirs.part(ours.id, 0) is None
    await theirs.begin(other)
    assert await mine.pending() == [ours] and await theirs.pending() == [other]
    await theirs.finish(other.id)
    assert await mine.pending() == [ours]
    await theirs.begin(other)
    await theirs.reset()
    assert await theirs.pending() == []
    assert await mine.pending() == [ours]
    assert await mine.part(ours.id, 0) is not None


async def test_concurrent_begins_and_finishes_all_land(journal: Journal) -> None:
    """Many writers at once (as concurrent calls do): none fails, none is lost."""
    intents = [intent(f"c{n}", f"user{n % 7}") for n in range(40)]
    await asyncio.gather(*[journal.begin(each) for each in intents])
    assert {i.id for i in await journal.pending()} == {i.id for i in intents}
    await asyncio.gather(*[journal.finish(each.id) for each in intents[::2]])
    assert {i.id for i in await journal.pending()} == {i.id for i in intents[1::2]}


# --- the graph server's journal --------------------------------------------------------


@pytest.fixture(params=SERVERS)
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LogBackend]:
    async with open_log_backend(request.param, request, tmp_path) as backend:
        yield backend


_OWNERS = (
    "MATCH (i:OctomemIntent) WHERE i.ns = $ns "
    "RETURN i.id AS id, i.owner AS owner, i.created AS created ORDER BY i.seq, i.key"
)


async def test_intents_keep_their_owner_and_time(
    server: LogBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each intent names the host and process that began it, as they are at its `begin`
    (a forked worker names itself)."""
    journal = await server.journal()
    assert isinstance(journal, Neo4jJournal)
    before = datetime.now(UTC)
    with monkeypatch.context() as patched:  # another host's process
        patched.setattr(neo4j_journal, "this_process", lambda: "host-a:12")
        await journal.begin(intent("a", "alice"))
    await journal.begin(intent("b", "bob"))
    client = server.client()  # what the nodes record, as an operator reads them
    try:
        rows = await client.query("owners", _OWNERS, write=False, ns=server.namespace)
    finally:
        await client.close()
    assert [row["id"] for row in rows] == ["intent-a", "intent-b"]
    assert [row["owner"] for row in rows] == ["host-a:12", this_process()]
    for row in rows:  # the server's clock: this host's, give or take
        begun = datetime.fromtimestamp(int(row["created"]) / 1000, UTC)
        assert abs(begun - before) < timedelta(minutes=5)


async def test_a_writer_whose_lease_passed_on_journals_nothing(server: LogBackend) -> None:
    """Fencing: under a lease another writer has taken since, every journal write is
    refused whole (its intent stays for the newer writer to complete)."""
    journal = await server.journal()
    kept = intent("kept", "alice", parts=1)
    await journal.begin(kept)
    stale, live = await server.fences()
    for write in (
        journal.begin(intent("new", "alice"), fence=stale),
        journal.add_part(kept.id, 0, IntentPart(), fence=stale),
        journal.finish(kept.id, fence=stale),
    ):
        with pytest.raises(LeaseLostError):
            await write
    assert await journal.pending() == [kept]  # reads are not fenced
    assert await journal.part(kept.id, 0) is None
    await journal.finish(kept.id, fence=live)
    assert await journal.pending() == []
