"""Read-your-writes across hosts: causal bookmarks for one call.

On a Neo4j cluster a read may be served by a member that has not yet applied the latest
write. The driver's bookmarks name writes: a transaction started with a bookmark waits
until its member has that write. Within one process the graph client passes every
bookmark on by itself (`Neo4jClient`). Across hosts the caller carries them: the service
returns the bookmarks of a request's writes in the ``Octomem-Bookmark`` response header,
and a later request to any host that sends the header back has its reads start after
those writes.

`collecting()` gathers the bookmarks of the writes run in its block (and in tasks it
starts); `after(values)` makes the block's transactions start after `values`. Both are
context variables: they reach worker threads and tasks started inside, never another
request. A bookmark sent by a caller is only ever used for that caller's own request.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

_AFTER: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "octomem_bookmarks_after", default=()
)
_WRITTEN: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "octomem_bookmarks_written", default=None
)


@contextlib.contextmanager
def after(values: Sequence[str]) -> Iterator[None]:
    reset = _AFTER.set(tuple(values))
    try:
        yield
    finally:
        _AFTER.reset(reset)


@contextlib.contextmanager
def collecting(written: set[str]) -> Iterator[None]:
    """Keep in `written` the bookmarks that follow the writes committed in the block."""
    reset = _WRITTEN.set(written)
    try:
        yield
    finally:
        _WRITTEN.reset(reset)


def wait_for() -> tuple[str, ...]:
    return _AFTER.get()


def collecting_now() -> bool:
    """Whether a `collecting` block wants the bookmarks of this context's writes."""
    return _WRITTEN.get() is not None


def wrote(values: Sequence[str]) -> None:
    """Note the bookmarks that follow a committed write: the client's newest, which also
    follow every write it committed before (a no-op outside `collecting`)."""
    written = _WRITTEN.get()
    if written is not None:
        written.clear()
        written.update(values)
