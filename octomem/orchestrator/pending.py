"""The records one reconcile batch has decided so far, as they will be after its writes,
indexed by memory type and the fields rivals are looked up by: a lookup costs what it
finds, not what the batch holds (scanning it would make a batch of N cost N^2).
"""

from __future__ import annotations

from collections.abc import Iterator

from octomem import filters
from octomem.models import MemoryBase, MemoryType

INDEXED = ("conflict_key", "subject")  # the fields reconcile looks rivals up by
_Key = tuple[MemoryType, str, str]


class Pending:
    """Records by id, in the order each id was first decided, and by indexed field value."""

    def __init__(self) -> None:
        self._by_id: dict[str, MemoryBase] = {}
        self._order: dict[str, int] = {}  # id -> when first decided
        self._index: dict[_Key, set[str]] = {}

    def get(self, memory_id: str) -> MemoryBase | None:
        return self._by_id.get(memory_id)

    def latest(self, record: MemoryBase) -> MemoryBase:
        """`record` as this batch will leave it."""
        return self._by_id.get(record.id, record)

    def put(self, record: MemoryBase) -> None:
        old = self._by_id.get(record.id)
        if old is not None:
            for key in _keys(old):
                if key in self._index:
                    self._index[key].discard(old.id)
        self._by_id[record.id] = record
        self._order.setdefault(record.id, len(self._order))
        if record.is_current:  # a closed record is nobody's rival (a chain of them: N^2)
            for key in _keys(record):
                self._index.setdefault(key, set()).add(record.id)

    def of_type(self, memory_type: MemoryType) -> list[MemoryBase]:
        """The current records of `memory_type`, in the order they were first decided."""
        return [r for r in self._by_id.values() if r.memory_type == memory_type and r.is_current]

    def current(self, memory_type: MemoryType, field: str, value: str) -> list[MemoryBase]:
        """The current records of `memory_type` whose `field` (one of INDEXED, read as a
        filter reads it) is `value`, in the order they were first decided."""
        ids = sorted(self._index.get((memory_type, field, value), ()), key=self._order.__getitem__)
        return [self._by_id[memory_id] for memory_id in ids]


def _keys(record: MemoryBase) -> Iterator[_Key]:
    for field in INDEXED:
        value = filters.field_value(record, field)
        if isinstance(value, str):
            yield record.memory_type, field, value
