"""Check that every store agrees with the canonical one, and repair what does not.

The vector store holds the canonical copy of every memory; the keyword index, the graph
and the history log are derived from it. `check` compares them id by id:

- keyword index: an entry per memory, with its type, user, validity, expiry and text;
- graph: a memory node per memory; for knowledge memories an edge with the same id,
  validity and fact; no valid edge whose memory is gone;
- history: the last event of each memory matching its content and validity; no events
  of a memory never stored unless the last one is its deletion;
- vector store: late writes (a writer that lost its lease landed after a forget, `_late`,
  or after a newer write, `_behind`): extra (removed) or stale (put back to what the
  history log's last event shows);
- projections (`octomem.orchestrator.projections`) and blobs (`originals.check`).

Memories of types this Orchestrator has no agent of are counted (`foreign`), not checked.
Repair first completes the writes the journal holds, then fixes each differing user's
memories under that user's write lock, re-reading them there (a write in flight while
the first pass read is not mistaken for damage), as one journaled write of `Restore`s,
`Drop`s, orphaned edges invalidated (never deleted) and projections rendered again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from octomem.agents.registry import Roles
from octomem.models import (
    ConsistencyReport,
    Drop,
    HistoryEvent,
    MemoryBase,
    MemoryType,
    Operation,
    Relation,
    Restore,
    StoreDifferences,
    StoreName,
    as_utc,
    keyword_context,
)
from octomem.orchestrator import originals, projections, validity
from octomem.orchestrator.events import history_event, leaves_entry, logged_as
from octomem.orchestrator.retrieval import every_record
from octomem.orchestrator.services import Services
from octomem.orchestrator.write import blobs, recover, write
from octomem.orchestrator.write.recovery import vector_drop
from octomem.scopes import scope_filter
from octomem.stores.base import ALL_USERS, AllUsers, IndexEntry
from octomem.stores.fence import Fence
from octomem.validation import id_control, printable


@dataclass
class _Snapshot:
    records: dict[str, MemoryBase]
    index: dict[str, IndexEntry]
    nodes: dict[str, str | None]  # memory node id -> user_id
    relations: dict[str, Relation]
    history: dict[str, HistoryEvent]  # memory id -> last event
    foreign: dict[str, list[str]]  # ids of memories of types this Orchestrator lacks
    late: dict[str, MemoryBase]  # entries written late over a forget or a deletion: not in records
    behind: list[str]  # entries older than their last event (`_behind`): records hold that
    roles: Roles  # which memories are edges too (`GraphProjection`), and how one is checked


@dataclass
class _Diff:
    vector: StoreDifferences = field(default_factory=lambda: StoreDifferences(store="vector"))
    keyword: StoreDifferences = field(default_factory=lambda: StoreDifferences(store="keyword"))
    graph: StoreDifferences = field(default_factory=lambda: StoreDifferences(store="graph"))
    history: StoreDifferences = field(default_factory=lambda: StoreDifferences(store="history"))
    orphan_edges: list[Relation] = field(default_factory=list)
    users: set[str | None] = field(default_factory=set)
    # the user of each differing id, as the store holding it says (per-user repair: theirs)
    owners: dict[str, str | None] = field(default_factory=lambda: defaultdict(lambda: None))

    @property
    def stores(self) -> list[StoreDifferences]:
        return [self.vector, self.keyword, self.graph, self.history]

    @property
    def count(self) -> int:
        return sum(store.count for store in self.stores)


async def check(services: Services, *, repair: bool = False) -> ConsistencyReport:
    """Compare every store with the canonical one; with `repair`, make them agree."""
    report = ConsistencyReport()
    if repair:
        report.completed_writes = await recover(services)
    snapshot = await _snapshot(services, ALL_USERS)
    diff = _compare(snapshot)
    views, view_users = await _projections(services, snapshot)
    times, time_users = _validity(services, snapshot)
    kept = await originals.check(services, snapshot.records.values())
    report.records = len(snapshot.records)
    report.foreign = {kind: len(ids) for kind, ids in snapshot.foreign.items() if ids}
    report.bidi_ids = _refused_ids(snapshot.records.values())
    report.stores = [*diff.stores, views, *([kept] if kept is not None else []), times]
    if repair and (diff.count or views.count or times.count):
        users = diff.users | view_users | time_users
        for user_id in sorted(users, key=lambda u: (u is not None, u or "")):
            async with services.locks.hold(user_id) as fence:
                fresh = await _snapshot(services, user_id)
                await _repair(services, fence, fresh, _compare(fresh))
    if repair and kept is not None and (kept.extra or kept.stale):
        await blobs.repair(services, {r.user_id for r in snapshot.records.values()})
    if repair and (diff.count or views.count or times.count or (kept is not None and kept.count)):
        report.repaired = True
        after = await _snapshot(services, ALL_USERS)
        blobs_after = await originals.check(services, after.records.values())
        report.remaining = (
            _compare(after).count
            + (await _projections(services, after))[0].count
            + (blobs_after.count if blobs_after is not None else 0)
            + _validity(services, after)[0].count
        )
    report.pending_writes = len(await services.journal.pending())
    return report


def _refused_ids(records: Iterable[MemoryBase]) -> list[str]:
    """The scope ids of `records` that a new memory may no longer have (stored before ids
    refused the bidi controls), escaped."""
    scopes = {i for r in records for i in (r.user_id, r.agent_id, r.session_id) if i}
    return sorted(printable(i) for i in scopes if id_control(i))


def _validity(services: Services, snap: _Snapshot) -> tuple[StoreDifferences, set[str | None]]:
    """The versions whose validity is anomalous (`validity`), and their users."""
    fixed = validity.mended(services, snap.records.values(), snap.history, services.clock.now())
    found = StoreDifferences(store="validity", stale=sorted(fixed))
    return found, {record.user_id for record in fixed.values()}


async def _projections(
    services: Services, snap: _Snapshot
) -> tuple[StoreDifferences, set[str | None]]:
    """The views that differ from what their facts render, and their users."""
    diff, users = StoreDifferences(store="projections"), set()
    for user_id, agent_id in projections.fact_scopes(services, snap.records.values()):
        views = await projections.refresh(services, user_id, agent_id, now=services.clock.now())
        for record, _ in views.writes:
            (diff.stale if record.id in snap.records else diff.missing).append(record.id)
        diff.extra += [record.id for record in views.deletes]
        if views.writes or views.deletes:
            users.add(user_id)
    return diff, users


async def _snapshot(services: Services, user_id: str | None | AllUsers) -> _Snapshot:
    where = None if user_id is ALL_USERS else scope_filter(user_id)
    records = {record.id: record for record in await every_record(services, where)}
    foreign = {
        kind: [record["id"] for record in found]
        for kind, found in (await services.vector.foreign_records(where)).items()
    }

    def mine(owner: str | None) -> bool:
        return user_id is ALL_USERS or owner == user_id

    nodes = {i: u for i, u in (await services.graph.memory_ids()).items() if mine(u)}
    relations = {r.id: r for r in await services.graph.all_relations() if mine(r.user_id)}
    history = await services.history.latest(user_id)
    late = {i: records.pop(i) for i in await _late(services, records, history)}
    index = {entry.memory_id: entry for entry in await services.keyword.entries(user_id)}
    behind, deleted = await _behind(services, records, history, index.keys() | nodes.keys())
    late.update({i: records.pop(i) for i in deleted})
    records.update(behind)
    return _Snapshot(
        records=records,
        index=index,
        nodes=nodes,
        relations=relations,
        history=history,
        foreign=foreign,
        late=late,
        behind=list(behind),
        roles=services.roles,
    )


async def _late(
    services: Services, records: dict[str, MemoryBase], history: dict[str, HistoryEvent]
) -> list[str]:
    """The canonical entries with no history written under an older token of their user's
    lease than the latest forget of their scope: a late write (`octomem.stores.fence`), the
    forgotten user's, which repair removes rather than re-indexing and re-logging it."""
    unlogged = [record for memory_id, record in records.items() if memory_id not in history]
    stamps = await _stamps(services, unlogged)
    erased: dict[tuple[str | None, str | None], int] = {}
    late = []
    for record in unlogged:
        if (stamp := stamps.get(record.id)) is None:
            continue
        scope = (record.user_id, record.agent_id)
        if scope not in erased:
            erased[scope] = await services.locks.erased_at(*scope)
        if stamp < erased[scope]:
            late.append(record.id)
    return late


async def _behind(
    services: Services,
    records: dict[str, MemoryBase],
    history: dict[str, HistoryEvent],
    held: Set[str],
) -> tuple[dict[str, MemoryBase], list[str]]:
    """The canonical entries written under an older token of their user's lease than their
    memory's last event, and differing from it: a late write. The history log is fenced
    inside its own writes, so its last event is the newest truth: each such id maps to the
    record that event shows, and an entry whose last event deleted it is listed apart
    (second). A memory the other stores hold (`held`) was written again after its deletion
    (`events.leaves_entry`): a late write lands in the vector store alone. Entries or
    events with no token are left to the comparison that trusts the canonical store."""
    kept: dict[str, bool] = {}  # memory id -> whether its last event leaves an entry
    for memory_id, record in records.items():
        event = history.get(memory_id)
        if event is None or event.fenced is None or event.record is None:
            continue
        leaves = leaves_entry(event, held=memory_id in held)
        if leaves is None or (leaves and logged_as(event, record)):
            continue
        kept[memory_id] = leaves
    stamps = await _stamps(services, [records[memory_id] for memory_id in kept])
    behind: dict[str, MemoryBase] = {}
    deleted: list[str] = []
    for memory_id, leaves in kept.items():
        event, stamp = history[memory_id], stamps.get(memory_id)
        if stamp is None or event.record is None or stamp >= (event.fenced or 0):
            continue
        if leaves:
            behind[memory_id] = services.types.record_from_dict(event.record)
        else:
            deleted.append(memory_id)
    return behind, deleted


async def _stamps(services: Services, records: Iterable[MemoryBase]) -> dict[str, int]:
    """The fencing tokens the vector store wrote the records' entries under."""
    by_type: dict[MemoryType, list[str]] = defaultdict(list)
    for record in records:
        by_type[record.memory_type].append(record.id)
    stamps: dict[str, int] = {}
    for memory_type, ids in by_type.items():
        stamps.update(await services.vector.stamps(memory_type, ids))
    return stamps


def _index_entry(record: MemoryBase) -> IndexEntry:
    expires = record.expiry()
    return IndexEntry(
        record.id,
        record.memory_type,
        record.user_id,
        record.is_current,
        as_utc(expires).timestamp() if expires is not None else None,
        record.content,
        keyword_context(record),
        as_utc(record.created_at).timestamp(),
    )


def _compare(snap: _Snapshot) -> _Diff:
    diff = _Diff()
    diff.vector.extra = list(snap.late)
    diff.vector.stale = list(snap.behind)
    for memory_id, record in snap.records.items():
        entry = snap.index.get(memory_id)
        if entry is None:
            diff.keyword.missing.append(memory_id)
        elif entry != _index_entry(record):
            diff.keyword.stale.append(memory_id)
        is_edge = snap.roles.edge(record) is not None
        edge = snap.relations.get(memory_id) if is_edge else None
        if memory_id not in snap.nodes or (is_edge and edge is None):
            diff.graph.missing.append(memory_id)
        elif is_edge and edge and not snap.roles.same_edge(edge, record):
            diff.graph.stale.append(memory_id)
        event = snap.history.get(memory_id)
        if event is None:
            diff.history.missing.append(memory_id)
        elif not logged_as(event, record):
            diff.history.stale.append(memory_id)
    # another Orchestrator's memories (of types this one lacks) are not checked, and
    # their entries in the other stores are not extra
    known = snap.records.keys() | {i for ids in snap.foreign.values() for i in ids}
    diff.keyword.extra = [i for i in snap.index if i not in known]
    diff.graph.extra = [i for i in snap.nodes if i not in known]
    diff.orphan_edges = [
        edge
        for edge in snap.relations.values()
        if edge.invalid_at is None and (edge.memory_id or edge.id) not in known
    ]
    diff.graph.extra += [e.id for e in diff.orphan_edges if e.id not in diff.graph.extra]
    diff.history.extra = [
        memory_id
        for memory_id, event in snap.history.items()
        if memory_id not in known and event.operation is not Operation.DELETE
    ]
    owners = diff.owners
    owners.update({i: r.user_id for i, r in [*snap.records.items(), *snap.late.items()]})
    owners.update({i: e.user_id for i, e in snap.index.items() if i not in snap.records})
    owners.update({i: u for i, u in snap.nodes.items() if i not in snap.records})
    owners.update({e.id: e.user_id for e in diff.orphan_edges})
    owners.update({i: e.user_id for i, e in snap.history.items() if i not in snap.records})
    for store in diff.stores:
        diff.users.update(owners[i] for i in [*store.missing, *store.extra, *store.stale])
    return diff


async def _repair(services: Services, fence: Fence, snap: _Snapshot, diff: _Diff) -> None:
    """Make one user's stores agree, as one journaled write."""
    records, now = snap.records, services.clock.now()
    restores: dict[str, Restore] = {}

    def restore(memory_id: str, store: StoreName, event: HistoryEvent | None = None) -> None:
        found = restores.setdefault(memory_id, Restore(record=records[memory_id], stores=[]))
        found.stores.append(store)
        found.event = event or found.event

    for memory_id in diff.vector.stale:  # a late write over a newer truth: put back
        restore(memory_id, "vector")
    for memory_id in [*diff.keyword.missing, *diff.keyword.stale]:
        restore(memory_id, "keyword")
    for memory_id in [*diff.graph.missing, *diff.graph.stale]:
        restore(memory_id, "graph")
    for memory_id, operation in [
        *((i, Operation.ADD) for i in diff.history.missing),
        *((i, Operation.UPDATE) for i in diff.history.stale),
    ]:
        event = history_event(records[memory_id], operation, actor="doctor", at=now)
        restore(memory_id, "history", event)
    # versions valid at once, or from a time to come: closed, or brought back, everywhere
    every: list[StoreName] = ["vector", "keyword", "graph", "history"]
    for memory_id, fixed in validity.mended(services, records.values(), snap.history, now).items():
        old = records[memory_id]
        event = history_event(fixed, Operation.UPDATE, old=old, actor="doctor", at=now)
        restores[memory_id] = Restore(record=fixed, stores=every, event=event)
    drops = [vector_drop(snap.late[memory_id]) for memory_id in diff.vector.extra]
    extra: dict[str, list[StoreName]] = defaultdict(list)
    for memory_id in diff.keyword.extra:
        extra[memory_id].append("keyword")
    for memory_id in diff.graph.extra:
        if memory_id in snap.nodes:
            extra[memory_id].append("graph")
    for memory_id in diff.history.extra:
        extra[memory_id].append("history")
    drops += [
        Drop(memory_id=memory_id, user_id=diff.owners[memory_id], stores=stores)
        for memory_id, stores in extra.items()
    ]
    await write(
        services,
        fence,
        restores=list(restores.values()),
        drops=drops,
        retired=diff.orphan_edges,
        views=projections.fact_scopes(services, records.values()),
        actor="doctor",
    )
