"""Record JSON parsed once per read scope.

Parsing (validating) a stored record is what reading it costs. A caller that reads the
same records again and again - the LangGraph store's search lists the items under a
prefix, then recalls among them, whose searches read them again, and the next search
lists them once more - wraps each operation in `sharing(memo)`: within it (the tasks it
starts included), a store's read of an id whose JSON is the one parsed before returns
that same record object instead of parsing it again. Different JSON (the record was
written meanwhile) is parsed anew, so what a read returns is what it would parse.

The records are shared: a caller must not change one, nor hand out its mutable parts
(copy them). Outside `sharing()` every read parses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from octomem.models import MemoryBase

# records a `Memo` keeps (a parsed store item takes ~6 KB); past it, it starts again empty
MEMO_MAX = 5_000


class Memo:
    """Records parsed within the `sharing()` scopes given it, by id, with their JSON."""

    def __init__(self, max_records: int = MEMO_MAX) -> None:
        self.max_records = max_records
        self._records: dict[str, tuple[str, MemoryBase]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def record(self, entry_id: str, payload: str, parse: Callable[[str], MemoryBase]) -> MemoryBase:
        known = self._records.get(entry_id)
        if known is not None and known[0] == payload:
            return known[1]
        found = parse(payload)
        if len(self._records) >= self.max_records:
            self._records.clear()
        self._records[entry_id] = (payload, found)
        return found

    def drop(self, gone: Callable[[MemoryBase], bool]) -> None:
        """Forget the records `gone` says are no longer stored (or should not be kept)."""
        for entry_id, (_, found) in list(self._records.items()):
            if gone(found):
                self._records.pop(entry_id, None)


_SCOPE: ContextVar[Memo | None] = ContextVar("octomem_parsed_records", default=None)


@contextlib.contextmanager
def sharing(memo: Memo | None = None) -> Iterator[Memo]:
    """Within it, records read with the same id and JSON are parsed once: kept in `memo`
    (a new one if None), which later scopes may be given again."""
    memo = memo if memo is not None else Memo()
    token = _SCOPE.set(memo)
    try:
        yield memo
    finally:
        _SCOPE.reset(token)


def record(entry_id: str, payload: str, parse: Callable[[str], MemoryBase]) -> MemoryBase:
    """``parse(payload)``, the record of `entry_id`, or the one parsed from the same JSON
    before within `sharing()`."""
    memo = _SCOPE.get()
    return parse(payload) if memo is None else memo.record(entry_id, payload, parse)
