"""Read-your-writes across hosts: causal bookmarks for one call.

On a Neo4j cluster a read may be served by a member that has not applied the latest write;
a transaction started with the write's bookmark waits for it. Within one process the graph
client passes bookmarks on (`Neo4jClient`); across hosts the service returns a request's
in the ``Octomem-Bookmark`` header, and a later request that sends it back reads after
those writes.

`within(call)` makes a caller's bookmarks the block's (and its tasks' and worker
threads'; `begin(call)`: the rest of its task's), never another caller's: the stores it
reaches are shared by every request. The service's request context
(`octomem.service.context.RequestInfo`, what its log lines say) is such a `Call`: one
value per request, in the one context variable below.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field


@dataclass
class Call:
    """One request's bookmarks: those its reads start after, and those that follow the
    writes it committed (empty if it wrote nothing)."""

    after: tuple[str, ...] = ()
    written: set[str] = field(default_factory=set)

    def wrote(self, values: Sequence[str]) -> None:
        """Note the bookmarks that follow a committed write: the client's newest, which
        also follow every write it committed before."""
        self.written.clear()
        self.written.update(values)


_CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "octomem_causal_call", default=None
)


@contextlib.contextmanager
def within(call: Call) -> Iterator[Call]:
    """The graph transactions run in the block are `call`'s."""
    reset = _CALL.set(call)
    try:
        yield call
    finally:
        _CALL.reset(reset)


def begin(call: Call | None) -> None:
    """The graph transactions run from here on in this task (and the tasks and threads it
    starts) are `call`'s; a request's task ends with it, so nothing is reset."""
    _CALL.set(call)


def current() -> Call | None:
    """The request whose transactions run here, if one carries bookmarks (the service's)."""
    return _CALL.get()
