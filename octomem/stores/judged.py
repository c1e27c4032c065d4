"""What a vector store's searches judged of the entries they read, kept for the next.

A search among many users' entries (`ChromaVectorStore`'s unfiltered search) reads the
nearest entries of the whole collection and keeps those its filter matches; most belong
to other users, and the next search reads them again. `Judged` keeps, per entry, the
record parsed from its JSON and each filter's verdict on it, for as long as the entry's
JSON is the same. The records are never handed out (a caller gets a record of its own),
and a store forgets an entry here when it is written or deleted, so nothing of an erased
user stays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from octomem.models import MemoryBase

JUDGED_MAX = 4096  # entries kept (a parsed record takes ~6 KB); past it, it starts empty
VERDICTS_MAX = 64  # filters' verdicts kept per entry; past it, that entry's start empty


class Judged:
    """entry id -> (its JSON, the record parsed from it, verdict per filter key)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, MemoryBase, dict[Any, bool]]] = {}

    def matches(
        self,
        entry_id: str,
        payload: str,
        parse: Callable[[], MemoryBase],
        key: Any,
        check: Callable[[MemoryBase], bool],
    ) -> MemoryBase | None:
        """The record `parse()` reads from `payload` if `check` (the filter named `key`)
        holds for it, else None: parsed and checked once while the entry's JSON stays
        `payload`."""
        known = self._entries.get(entry_id)
        if known is None or known[0] != payload:
            if len(self._entries) >= JUDGED_MAX:
                self._entries.clear()
            known = (payload, parse(), {})
            self._entries[entry_id] = known
        verdicts = known[2]
        passed = verdicts.get(key)
        if passed is None:
            if len(verdicts) >= VERDICTS_MAX:
                verdicts.clear()
            passed = verdicts[key] = bool(check(known[1]))
        return known[1] if passed else None

    def forget(self, entry_ids: Iterable[str]) -> None:
        for entry_id in entry_ids:
            self._entries.pop(entry_id, None)

    def clear(self) -> None:
        self._entries.clear()
