"""The write primitive's last check that no secret reaches a store: every record and event
it is given is masked (`octomem.sensitive`) as an import masks the lines of a file
(`import_file.masked`: every text, not the identifiers and times that structure it).

The paths that build records mask their input first - the messages of a `process` call,
the text of an `update`, a LangGraph item - since what is extracted, the ids derived and
the words recalled must come from masked text; here a record they let through with a
secret (a value a rule built from several messages, say) is masked before the journal,
any store or the log sees it, with a warning that names the record, not the secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from octomem.logs import get_logger
from octomem.models import HistoryEvent, MemoryBase, Restore
from octomem.orchestrator.import_file import masked

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

log = get_logger(__name__)


class Guard:
    """Masks the records and events of one write; a record's dump is masked once, for the
    record and for the events that carry it."""

    def __init__(self, services: Services) -> None:
        self._services = services
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
        record = self.record(restore.record)
        event = self.event(restore.event) if restore.event is not None else None
        if record is restore.record and event is restore.event:
            return restore
        return restore.model_copy(update={"record": record, "event": event})
