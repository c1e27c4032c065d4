"""Validity anomalies the doctor looks for, and how repair mends them.

The versions of one fact (a scope and conflict key: `reconcile`) follow each other: each
valid from its `valid_from` until the next one's, the current one open-ended, so `as_of`
answers one of them at any time. Stamped from one clock (`octomem.stores.clock`) that
holds by construction; what a host with a wrong clock stored before, or a store edited by
hand, may break it in two ways:

- overlap: two versions of one fact valid at the same time (`as_of` answers both);
- future: a version valid from later than now on the server's clock, and later than it
  was stored (a host whose clock was ahead): it is brought back to when it was stored.

A write keeps it too (`in_turn`): calls commit in any order, and a version said before the
one it closes (a call that waited for the lock, a caller's explicit past time), or a new
one said back then (an edited message keeps the time it was first said), begins inside
the time of versions closed before; those end where it begins.

Repair keeps the current version current and each earlier version valid until the next
one begins (never before it began itself: an empty interval), as `Reconciler._close` does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from octomem import scopes
from octomem.models import HistoryEvent, MemoryBase, MemoryType, Operation
from octomem.orchestrator.services import Services
from octomem.plans import Decision
from octomem.scopes import ANY, among, scope_filter
from octomem.stores.base import Filter

# a valid_from later than the server's now by more than this is an anomaly (clocks of
# hosts that are right differ by less)
FUTURE_SLACK = timedelta(minutes=5)
Key = tuple[MemoryType, str | None, str | None, str | None, str]


def mended(
    services: Services,
    records: Iterable[MemoryBase],
    history: Mapping[str, HistoryEvent],
    now: datetime,
    *,
    future: bool = True,
) -> dict[str, MemoryBase]:
    """The records whose validity is anomalous, by id, each as repair leaves it (versions
    valid at once; and, with `future`, versions valid from a time to come)."""
    fixed: dict[str, MemoryBase] = {}
    facts: dict[Key, list[MemoryBase]] = defaultdict(list)
    blocks = services.roles.blocks  # rewritten in place, no versions in time (no `as_of`)
    for record in records:
        if record.memory_type in blocks:
            continue
        if future and record.valid_from > now + FUTURE_SLACK:
            record = fixed[record.id] = _stored_at(record, history.get(record.id), now)
        if record.conflict_key is not None:
            facts[fact(services, record)].append(record)
    for versions in facts.values():
        # the current one last, the closed ones in the order they began
        versions.sort(key=lambda r: (r.valid_to is None, r.valid_from, r.id))
        limit: datetime | None = None  # when the next version begins
        for record in reversed(versions):
            end = record.valid_to
            # valid into the next version's time: closed when it begins (an interval that
            # begins after that is empty, [valid_from, valid_from): it overlaps nothing)
            at = None if limit is None else max(limit, record.valid_from)
            if at is not None and (end is None or at < end):
                record = fixed[record.id] = record.model_copy(update=_closing(record, at))
            if record.valid_to is not None and record.valid_to <= record.valid_from:
                continue  # empty: valid at no time, it bounds no other
            limit = record.valid_from if limit is None else min(limit, record.valid_from)
    return fixed


async def versions_mended(
    services: Services, facts: Iterable[tuple[MemoryType, str | None, str]], now: datetime
) -> list[tuple[MemoryBase, MemoryBase]]:
    """(as stored, as repair leaves it) for each version of the facts `facts` (type, user,
    conflict key) whose validity is anomalous: a write that brings versions in without
    reconciling them (an import of another data directory's export of a user this one
    holds) leaves each fact one current version, as `doctor --repair` would. A version
    valid from a time to come is left as it is: the file's times are the caller's."""
    keys: dict[tuple[MemoryType, str | None], set[str]] = defaultdict(set)
    for memory_type, user_id, key in facts:
        keys[(memory_type, user_id)].add(key)
    found = []
    for (memory_type, user_id), of_owner in keys.items():
        for chunk in among("conflict_key", sorted(of_owner)):  # a chunk's versions at once
            records = await services.vector.list(
                memory_type, where=scope_filter(user_id, ANY, ANY, chunk)
            )
            stored = {record.id: record for record in records}
            fixed = mended(services, records, {}, now, future=False)
            found += [(stored[memory_id], record) for memory_id, record in fixed.items()]
    return found


def fact(services: Services, record: MemoryBase) -> Key:
    """The fact whose version `record` is: its type, owner and conflict key."""
    agent = services.agents.get(record.memory_type)
    session = record.session_id if agent is not None and agent.session_scoped else None
    key = record.conflict_key or ""
    return (record.memory_type, record.user_id, record.agent_id, session, key)


def _stored_at(record: MemoryBase, event: HistoryEvent | None, now: datetime) -> MemoryBase:
    """The record valid from when it was stored (its last event's time, else now)."""
    at = min(event.at, now) if event is not None else now
    update: dict[str, object] = {"valid_from": at}
    if record.created_at > at:
        update["created_at"] = at
    if record.valid_to is not None and record.valid_to < at:
        update["valid_to"] = at
    return record.model_copy(update=update)


def _closing(record: MemoryBase, at: datetime) -> dict[str, object]:
    update: dict[str, object] = {"valid_to": at}
    if hasattr(record, "invalid_at"):  # a knowledge memory: its edge closes with it
        update["invalid_at"] = at
    return update


async def in_turn(
    services: Services,
    decision: Decision,
    scope: Callable[[MemoryBase, Filter], Filter],
    latest: Callable[[MemoryBase], MemoryBase],
    closed: Iterable[MemoryBase] = (),
) -> Decision:
    """`decision`, with the closed versions of its fact that would still be valid when its
    new version begins closed there too (see the module docstring), else as it is. An ADD
    looks at `closed`, the fact's closed versions read with its rivals; a SUPERSEDE reads
    them (one read more) only when it begins before a version it closes. `scope`: the
    filter of a record's owner and more; `latest`: a record as the batch's own decisions
    leave it."""
    new = decision.record
    if new.conflict_key is None or decision.operation not in (Operation.ADD, Operation.SUPERSEDE):
        return decision
    if decision.operation is Operation.SUPERSEDE:
        if all(old.valid_from <= new.valid_from for old in decision.previous):
            return decision  # in turn: the versions closed before ended where those began
        where = scope(new, scopes.equals("conflict_key", new.conflict_key))
        closed = await services.vector.list(new.memory_type, where=where)
    closing = {record.id for record in decision.previous} | {new.id}
    agent = services.agents.get(new.memory_type)
    more = []
    for record in closed:
        record = latest(record)
        at = max(record.valid_from, new.valid_from)
        if record.id in closing or record.valid_to is None or record.valid_to <= at:
            continue
        update = _closing(record, at)
        if agent is not None:
            update.update(agent.closing(record, at))
        more.append(record.model_copy(update=update))
    if not more:
        return decision
    return decision.model_copy(update={"previous": [*decision.previous, *more]})
