"""History events with ids that depend only on what changed, so a retry logs once, and the
changes (records with their events) a decision writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from octomem.models import HistoryEvent, MemoryBase, Operation, record_from_dict, stable_hash

if TYPE_CHECKING:
    from octomem.plans import Decision


def history_event(
    record: MemoryBase,
    operation: Operation,
    *,
    old: MemoryBase | None = None,
    actor: str = "octomem",
    at: datetime | None = None,
) -> HistoryEvent:
    """A log entry whose id depends only on what changed, so a retry logs it once; pass
    `at` for changes made by a caller (update, delete): they are logged each time. The
    record's turns and creation time count: the same text stored again after a deletion,
    from new turns, is logged again."""
    event_id = stable_hash(
        record.id,
        operation.value,
        record.content_hash,
        record.valid_to,
        record.version,
        at,
        record.source.turn_ids,
        record.created_at,
    )[:32]
    return HistoryEvent(
        id=f"evt_{event_id}",
        memory_id=record.id,
        memory_type=record.memory_type,
        operation=operation,
        old_value=old.content if old is not None else None,
        new_value=None if operation is Operation.DELETE else record.content,
        at=at or record.updated_at,
        actor=actor,
        user_id=record.user_id,
        record=record.model_dump(mode="json"),
    )


def applied(event: HistoryEvent, *, removed: bool) -> HistoryEvent:
    """`event` as its writer logs it: a DELETE says whether the record was removed from the
    stores (a deletion) or kept closed (a retraction), which its record alone does not."""
    if event.operation is not Operation.DELETE:
        return event
    return event.model_copy(update={"removed": removed})


def leaves_entry(event: HistoryEvent, *, held: bool) -> bool | None:
    """Whether the vector store should hold an entry of the memory after `event`, its last:
    True after anything but a deletion (a retraction keeps the closed record), False after
    a deletion, None after a deletion when the other stores hold the memory (`held`): it
    was written again since under its id (its ADD the same event as its first: the
    same turns at the same time, logged once). A DELETE with no `removed` is told by `held` too."""
    if event.operation is not Operation.DELETE:
        return True
    removed = not held if event.removed is None else event.removed
    if not removed:
        return True
    return None if held else False


def logged_as(event: HistoryEvent, record: MemoryBase) -> bool:
    """Whether the event shows the record as it is (its text and validity)."""
    if event.record is None:
        return False
    logged = record_from_dict(event.record)
    return (logged.content_hash, logged.valid_to) == (record.content_hash, record.valid_to)


def changes_for(decision: Decision) -> list[tuple[MemoryBase, HistoryEvent]]:
    """The records a decision writes, each with its history event."""
    actor = decision.record.source.extractor
    if decision.operation in (Operation.UPDATE, Operation.DELETE):  # DELETE: a retraction
        old = decision.previous[0]
        event = history_event(decision.record, decision.operation, old=old, actor=actor)
        return [(decision.record, event)]
    if decision.operation in (Operation.ADD, Operation.SUPERSEDE):
        # the versions it closes (an ADD: only closed ones it begins inside, `validity`)
        closed = [
            (old, history_event(old, Operation.SUPERSEDE, old=old, actor=actor))
            for old in decision.previous
        ]
        return [
            *closed,
            (decision.record, history_event(decision.record, Operation.ADD, actor=actor)),
        ]
    return []


def all_changes(decisions: Sequence[Decision]) -> list[tuple[MemoryBase, HistoryEvent]]:
    """Every record the decisions write, each with its history event."""
    return [change for decision in decisions for change in changes_for(decision)]
