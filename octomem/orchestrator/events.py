"""History events with ids that depend only on what changed, so a retry logs once."""

from __future__ import annotations

from datetime import datetime

from octomem.models import HistoryEvent, MemoryBase, Operation, record_from_dict, stable_hash


def history_event(
    record: MemoryBase,
    operation: Operation,
    *,
    old: MemoryBase | None = None,
    actor: str = "octomem",
    at: datetime | None = None,
) -> HistoryEvent:
    """A log entry whose id depends only on what changed, so a retry logs it once.

    Pass `at` for changes made by a caller (update, delete): they are logged each time.
    """
    event_id = stable_hash(
        record.id, operation.value, record.content_hash, record.valid_to, record.version, at
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


def logged_as(event: HistoryEvent, record: MemoryBase) -> bool:
    """Whether the event shows the record as it is (its text and validity)."""
    if event.record is None:
        return False
    logged = record_from_dict(event.record)
    return (logged.content_hash, logged.valid_to) == (record.content_hash, record.valid_to)
