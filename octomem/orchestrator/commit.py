"""The one commit pipeline of `process`, `update` and `delete`: the changes, the
projections that follow them (the core block, knowledge edges) and the raw turns they make
stale, as one journaled write. The caller holds the scope lock, whose fence it passes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from octomem.at_once import together
from octomem.models import HistoryEvent, MemoryBase
from octomem.orchestrator import projections
from octomem.orchestrator.staleness import outdated_turn_changes
from octomem.orchestrator.turn_keys import keyed_turn_changes
from octomem.orchestrator.write import write
from octomem.stores.fence import Fence

Changes = list[tuple[MemoryBase, HistoryEvent]]  # records with their history events

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services


async def commit(
    services: Services,
    fence: Fence,
    changes: Sequence[tuple[MemoryBase, HistoryEvent]],
    *,
    now: datetime,
    closed: Sequence[tuple[MemoryBase, MemoryBase | None]] = (),
    closed_at: datetime | None = None,
    deleted: Sequence[MemoryBase] = (),
    marked: Sequence[MemoryBase] = (),
    added: Sequence[tuple[MemoryBase, HistoryEvent]] = (),
    actor: str = "octomem",
    ahead: projections.Ahead | None = None,
) -> projections.Projection:
    """Write `changes` (records with their history events) and remove `deleted`, with the
    projection changes they cause (returned, for the caller's report), the `outdated`
    marks of the turns the `closed` facts came from ((closed fact, successor or None),
    `staleness.outdated_turn_changes`), the keys of the turns the records were read from
    (`turn_keys`), and the raw turns `marked` (`extracted.marked`: rewritten without
    embedding unless a closure or their keys change them too). `added`: raw turns (and
    input records) the same call stores, written first, with their keys and marks.
    `ahead`: the views' reads made while the changes were decided (`projections.Ahead`)."""
    records = [record for record, _ in changes]
    given = [*marked, *(record for record, _ in added)]  # as this write leaves them

    async def turn_changes() -> tuple[Changes, Changes]:
        keys = await keyed_turn_changes(
            services,
            records,
            deleted,
            actor=actor,
            at=now,
            turns=given,
            skip=[record.id for record in records],
        )
        keyed = {record.id: record for record, _ in keys}
        turns = [keyed.pop(record.id, record) for record in given] + list(keyed.values())
        marks = await outdated_turn_changes(
            services, closed, actor=actor, at=closed_at, turns=turns
        )
        return keys, marks

    # the views' reads and the turns' are independent: on a server, one wait for both
    viewing = projections.project(services, records, deleted=deleted, now=now, ahead=ahead)
    views, (keys, marks) = await together(viewing, turn_changes())
    written = {record.id for record, _ in marks}
    keys = [(record, event) for record, event in keys if record.id not in written]
    written |= {record.id for record, _ in keys}
    # a turn this write adds is added as it leaves it: its ADD, no UPDATE after it
    last = {record.id: record for record, _ in [*keys, *marks]}
    new = {record.id for record, _ in added}
    added = [as_left(record, event, last.get(record.id)) for record, event in added]
    marks = [(record, event) for record, event in marks if record.id not in new]
    keys = [(record, event) for record, event in keys if record.id not in new]
    await write(
        services,
        fence,
        changes=[*added, *changes, *marks, *keys, *views.writes],
        deletes=[*deleted, *views.deletes],
        rewrites=[record for record in marked if record.id not in written],
        actor=actor,
    )
    return views


def as_left(
    record: MemoryBase, event: HistoryEvent, changed: MemoryBase | None
) -> tuple[MemoryBase, HistoryEvent]:
    """A record a write adds, as the write leaves it (`changed`: with its keys or marks,
    or `rules_read`'s), its event naming that record (the event's id is of what the ADD
    changed, which keys and marks are not: a retried write still logs it once)."""
    if changed is None:
        return record, event
    return changed, event.model_copy(update={"record": changed.model_dump(mode="json")})
