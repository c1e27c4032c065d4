"""Record JSON parsed once by the reads given one `Memo`.

A caller that reads the same records again and again (the LangGraph store's list, then
recall among them) hands the same `Memo` to each read (`memo=` of the vector store's
`get`, `query` and `list`): an id whose JSON is the one parsed before returns that same
record object. Different JSON is parsed anew, so a read returns what it would parse. The
records are shared: a caller must not change one, nor hand out its mutable parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import CoreSchema, core_schema

from octomem.models import MemoryBase

# records a `Memo` keeps (a parsed store item takes ~6 KB); past it, it starts again empty
MEMO_MAX = 5_000


class Memo:
    """Records parsed by the reads given it, by id, with their JSON."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[str, MemoryBase]] = {}

    def record(self, entry_id: str, payload: str, parse: Callable[[str], MemoryBase]) -> MemoryBase:
        known = self._records.get(entry_id)
        if known is not None and known[0] == payload:
            return known[1]
        found = parse(payload)
        if len(self._records) >= MEMO_MAX:
            self._records.clear()
        self._records[entry_id] = (payload, found)
        return found

    def drop(self, gone: Callable[[MemoryBase], bool]) -> None:
        """Forget the records `gone` says are no longer stored (or should not be kept)."""
        for entry_id, (_, found) in list(self._records.items()):
            if gone(found):
                self._records.pop(entry_id, None)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> CoreSchema:
        """In a typed state (the recall plan LangGraph Studio shows): the memo itself,
        shown and serialised as nothing."""
        return core_schema.json_or_python_schema(
            json_schema=core_schema.none_schema(),
            python_schema=core_schema.is_instance_schema(cls),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _: None),
        )


def record(
    entry_id: str, payload: str, parse: Callable[[str], MemoryBase], memo: Memo | None
) -> MemoryBase:
    """``parse(payload)``, the record of `entry_id`, or the one `memo` parsed from the same
    JSON before."""
    return parse(payload) if memo is None else memo.record(entry_id, payload, parse)
