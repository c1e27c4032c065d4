"""Record JSON parsed once per read scope.

Parsing (validating) a stored record is what reading it costs. A caller that reads the
same records several times in one operation - the LangGraph store's search lists the
items under a prefix, then recalls among them, whose searches read them again - wraps
the operation in `sharing()`: within it (the tasks it starts included), a store's read of
an id whose JSON is the one parsed before returns that same record object instead of
parsing it again. Different JSON (the record was written meanwhile) is parsed anew, so
what a read returns is what it would parse. The records are shared: a caller that
changes one must copy it. Outside `sharing()` every read parses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from octomem.models import MemoryBase

_SCOPE: ContextVar[dict[str, tuple[str, MemoryBase]] | None] = ContextVar(
    "octomem_parsed_records", default=None
)


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Within it, records read with the same id and JSON are parsed once."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def record(entry_id: str, payload: str, parse: Callable[[str], MemoryBase]) -> MemoryBase:
    """``parse(payload)``, the record of `entry_id`, or the one parsed from the same JSON
    before within `sharing()`."""
    memo = _SCOPE.get()
    if memo is None:
        return parse(payload)
    known = memo.get(entry_id)
    if known is not None and known[0] == payload:
        return known[1]
    found = parse(payload)
    memo[entry_id] = (payload, found)
    return found
