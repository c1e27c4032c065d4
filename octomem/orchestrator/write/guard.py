"""The write primitive's last check that no secret reaches a store: every record and event
it is given is masked as an import masks the lines of a file (`import_file.masked`).

The paths that build records mask their input first, since what is extracted, the ids
derived and the words recalled must come from masked text; here a record they let through
with a secret (a value a rule built from several messages, say) is masked before the
journal, any store or the log sees it, with a warning that names the record, not the secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from octomem.logs import get_logger
from octomem.models import Change, HistoryEvent, MemoryBase, Operation, Restore, StoreName
from octomem.orchestrator.events import history_event
from octomem.orchestrator.import_file import masked

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)


class Guard:
    """Masks the records and events of one write; a record's dump is masked once, for the
    record and for the events that carry it."""

    def __init__(self, services: Services, *, actor: str = "octomem", at: datetime) -> None:
        self._services = services
        self._actor, self._at = actor, at
        # record id -> (its dump as given, the record masked; None: nothing to mask)
        self._records: dict[str, tuple[dict[str, Any], MemoryBase | None]] = {}

    def _masked(self, dump: dict[str, Any]) -> MemoryBase | None:
        """The record `dump` shows, masked (its content hash derived again); None when
        nothing in it is masked."""
        key = str(dump.get("id"))
        known = self._records.get(key)
        if known is not None and known[0] == dump:
            return known[1]
        clean: dict[str, Any] = masked(dump)
        found = None
        if clean != dump:
            found = self._services.types.record_from_dict({**clean, "content_hash": ""})
            log.warning(
                "a record reached the write unmasked; its secrets were masked before any store",
                memory_id=found.id,
            )
        self._records[key] = (dump, found)
        return found

    def record(self, record: MemoryBase) -> MemoryBase:
        return self._masked(record.model_dump(mode="json")) or record

    def change(self, record: MemoryBase, event: HistoryEvent) -> Change:
        return Change(record=self.record(record), event=self.event(event))

    def event(self, event: HistoryEvent) -> HistoryEvent:
        dump = event.model_dump(mode="json", exclude={"record"})
        clean = masked(dump)
        shown = self._masked(event.record) if event.record is not None else None
        if clean == dump and shown is None:
            return event
        record = shown.model_dump(mode="json") if shown is not None else event.record
        return HistoryEvent.model_validate({**clean, "record": record}).model_copy(
            update={"fenced": event.fenced, "removed": event.removed}
        )

    def restore(self, restore: Restore) -> Restore:
        """A record put back, masked: one whose text is masked now (stored by a version
        whose masking missed what today's finds) goes back masked into every store - the
        canonical copy too, with an UPDATE event - so that the stores agree again."""
        record = self.record(restore.record)
        if record is restore.record:
            return restore
        event = history_event(record, Operation.UPDATE, actor=self._actor, at=self._at)
        every: list[StoreName] = ["vector", "keyword", "graph", "history"]
        return Restore(record=record, stores=every, event=event)
