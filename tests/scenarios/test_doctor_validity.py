"""`check()` finds versions of one fact valid at the same time, or from a time to come (what
a host with a wrong clock stored before validity came from one clock), and repair mends
them through the write primitive, so that `as_of` answers one value at every time."""

from __future__ import annotations

from datetime import timedelta

from octomem import Orchestrator
from octomem.models import MemoryBase, Operation, Restore, SemanticMemory
from octomem.orchestrator.events import history_event
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.write import write
from tests.conftest import T0

DAY = timedelta(days=1)


def _homes(orch: Orchestrator, **kwargs: object) -> list[SemanticMemory]:
    found = orch.get_all(user_id="alice", memory_types=["semantic"], **kwargs)
    return [r for r in found if isinstance(r, SemanticMemory) and r.attribute == "lives_in"]


def _one_home_at_a_time(orch: Orchestrator, days: int) -> None:
    for day in range(days):
        assert len(_homes(orch, as_of=T0 + day * DAY)) <= 1, day


def _paris_then_rome_from_day_5(orch: Orchestrator) -> None:
    _one_home_at_a_time(orch, 14)
    assert [h.value for h in _homes(orch, as_of=T0 + 3 * DAY)] == ["Paris"]
    assert [h.value for h in _homes(orch, as_of=T0 + 7 * DAY)] == ["Rome"]
    assert [h.value for h in _homes(orch)] == ["Rome"]
    assert orch.check().consistent


def _stored_as(orch: Orchestrator, record: MemoryBase, **update: object) -> MemoryBase:
    """`record` with `update`, written to every store as a host with a wrong clock did."""
    services, changed = services_of(orch), record.model_copy(update=update)

    async def run() -> None:
        event = history_event(changed, Operation.UPDATE, old=record, actor="test")
        restore = Restore(
            record=changed, stores=["vector", "keyword", "graph", "history"], event=event
        )
        async with services.locks.hold("alice") as fence:
            await write(services, fence, restores=[restore])

    orch.run_sync(run())
    return changed


def _seed(orch: Orchestrator) -> tuple[SemanticMemory, SemanticMemory]:
    orch.process("I live in Paris.", user_id="alice", timestamp=T0)
    orch.process("I moved to Berlin.", user_id="alice", timestamp=T0 + 2 * DAY)
    [paris, berlin] = sorted(_homes(orch, include_superseded=True), key=lambda r: r.valid_from)
    assert paris.valid_to == berlin.valid_from and berlin.valid_to is None
    assert orch.check().consistent
    return paris, berlin


def test_versions_valid_at_once_are_found_and_closed_by_repair(orch: Orchestrator) -> None:
    paris, berlin = _seed(orch)
    _stored_as(orch, paris, valid_to=T0 + 3 * DAY)  # still valid a day into Berlin's time
    assert len(_homes(orch, as_of=T0 + 2.5 * DAY)) == 2  # the damage
    found = {store.store: store for store in orch.check().stores}
    assert found["validity"].stale == [paris.id], found
    # the stores agree with each other (the fact's edge and core line follow it: projections)
    assert all(found[name].count == 0 for name in ("vector", "keyword", "graph", "history"))
    repaired = orch.check(repair=True)
    assert repaired.repaired and repaired.consistent, repaired
    assert [h.value for h in _homes(orch, as_of=T0 + 2.5 * DAY)] == ["Berlin"]
    assert [h.value for h in _homes(orch, as_of=T0 + DAY)] == ["Paris"]
    assert orch.get(paris.id).valid_to == berlin.valid_from
    assert orch.history(paris.id)[-1].actor == "doctor"
    assert orch.check().consistent


def test_a_version_valid_from_a_time_to_come_is_brought_back_to_when_it_was_stored(
    orch: Orchestrator,
) -> None:
    paris, berlin = _seed(orch)
    now = services_of(orch).clock.now()
    # a host a day ahead: Berlin valid from tomorrow, so nothing was Berlin until then
    _stored_as(orch, berlin, valid_from=now + DAY, created_at=now + DAY)
    assert _homes(orch, as_of=now + timedelta(hours=1)) == []
    found = {store.store: store for store in orch.check().stores}
    assert found["validity"].stale == [berlin.id], found
    repaired = orch.check(repair=True)
    assert repaired.repaired and repaired.consistent, repaired
    # back to when the history log says it was stored (its event's time), not after now
    assert orch.get(berlin.id).valid_from == berlin.valid_from
    assert [h.value for h in _homes(orch, as_of=now + timedelta(hours=1))] == ["Berlin"]
    assert [h.value for h in _homes(orch)] == ["Berlin"]
    assert orch.get(paris.id).valid_to == berlin.valid_from  # closed when Berlin was said


def test_versions_committed_out_of_the_order_they_were_said_are_not_anomalies(
    orch: Orchestrator,
) -> None:
    """Concurrent calls commit in any order: a version said before the current one closes
    it when it begins (an empty interval, valid at no time), which overlaps nothing."""
    orch.process("I moved to Oslo.", user_id="alice", timestamp=T0 + 5 * DAY)
    orch.process("I moved to Lima.", user_id="alice", timestamp=T0 + 3 * DAY)  # said earlier
    orch.process("I moved to Kyoto.", user_id="alice", timestamp=T0 + 6 * DAY)
    report = orch.check()
    assert report.consistent, report
    for day in range(2, 8):
        assert len(_homes(orch, as_of=T0 + day * DAY)) <= 1


def test_a_version_said_before_the_one_it_closes_ends_the_ones_before_where_it_begins(
    orch: Orchestrator,
) -> None:
    """Paris from day 1, Berlin from day 10, then Rome said on day 5 (a call that waited for
    the lock, or an explicit past time): Rome closes Berlin, and Paris, which was valid
    until day 10, now ends on day 5 - no two homes at once, and no repair needed."""
    orch.process("I live in Paris.", user_id="alice", timestamp=T0 + DAY)
    orch.process("I moved to Berlin.", user_id="alice", timestamp=T0 + 10 * DAY)
    orch.process("I moved to Rome.", user_id="alice", timestamp=T0 + 5 * DAY)
    _paris_then_rome_from_day_5(orch)


def test_a_new_fact_said_back_then_ends_the_closed_versions_it_begins_inside(
    orch: Orchestrator,
) -> None:
    """Paris from day 1, Berlin from day 10, Berlin retracted on day 12 (no home now), then
    Rome said on day 5: nothing current to supersede, so Rome is added - and Paris, valid
    until day 10, ends on day 5 where Rome begins, as repair would close it."""
    orch.process("I live in Paris.", user_id="alice", timestamp=T0 + DAY)
    orch.process("I moved to Berlin.", user_id="alice", timestamp=T0 + 10 * DAY)
    orch.process("I no longer live in Berlin.", user_id="alice", timestamp=T0 + 12 * DAY)
    assert _homes(orch) == []
    result = orch.process("I live in Rome.", user_id="alice", timestamp=T0 + 5 * DAY)
    added = [op for op in result.all_operations() if op.memory_type.value == "semantic"]
    assert [(op.operation, op.previous_text) for op in added] == [(Operation.ADD, None)]
    _paris_then_rome_from_day_5(orch)


def test_an_edited_message_that_names_a_deleted_fact_leaves_one_home_at_every_time(
    orch: Orchestrator,
) -> None:
    """An edit keeps the time its message was first said: m1 edited from Paris to Berlin
    after Berlin (said by m2) was deleted adds Berlin from m1's time, inside Paris's."""

    def send(turn: str, text: str, day: int) -> None:
        message = {"role": "user", "content": text, "id": turn}
        orch.process([message], user_id="alice", timestamp=T0 + day * DAY)

    send("m1", "I live in Paris.", 1)
    send("m2", "I live in Berlin.", 10)
    [berlin] = _homes(orch)
    orch.delete(berlin.id)
    send("m1", "I live in Berlin.", 1)
    assert [h.value for h in _homes(orch)] == ["Berlin"]
    _one_home_at_a_time(orch, 12)
    assert orch.check().consistent
