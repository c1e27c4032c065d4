"""Read-your-writes across hosts: causal bookmarks for one call.

On a Neo4j cluster a read may be served by a member that has not yet applied the latest
write. The driver's bookmarks name writes: a transaction started with a bookmark waits
until its member has that write. Within one process the graph client passes every
bookmark on by itself (`Neo4jClient`). Across hosts the caller carries them: the service
returns the bookmarks of a request's writes in the ``Octomem-Bookmark`` response header,
and a later request to any host that sends the header back has its reads start after
those writes.

`Call(after)` is one request's: its transactions start after `after`, and it keeps in
`written` the bookmarks that follow the writes it committed. `within(call)` makes it the
block's (and the tasks' and worker threads' it starts), never another request's: it is
the one context variable here, as the stores it reaches are shared by every request. A
bookmark sent by a caller is only ever used for that caller's own request.
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


def current() -> Call | None:
    """The request whose transactions run here, if one carries bookmarks (the service's)."""
    return _CALL.get()
