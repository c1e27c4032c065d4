"""Store calls past their bound: a lease holder that is stuck stops renewing its lease.

Every call to a store server is bounded (`vector.retry_s` / `vector.timeout_s`,
`graph.timeout_s`) and fails with `StoreUnavailableError` once its bound has passed. A
holder of a scope lease (`octomem.orchestrator.locks`) renews it while it works; should a
call outlive its bound all the same (a worker thread that does not return, a driver that
ignores cancellation), the holder is stuck, and renewing its lease would lock every other
host out of the scope for as long as it stays stuck. So the hold opens `watching()`,
every store call made within it (in its task, its child tasks and their worker threads)
is `watched(bound_s)`, and the renewal asks `overdue()` first: once a call is past its
bound (and a margin), the lease is left to expire and another host takes the scope after
`concurrency.lease_ttl_s`.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator

from octomem.stores import holder

MARGIN_S = 5.0  # past its bound by this much, a call is stuck rather than finishing


class Watch:
    """The store calls under way of one lease holder: when each began, and its bound."""

    def __init__(self) -> None:
        self._calls: dict[int, tuple[float, float]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def call(self, bound_s: float) -> Iterator[None]:
        key = next(self._ids)
        with self._lock:
            self._calls[key] = (time.monotonic(), bound_s)
        try:
            yield
        finally:
            with self._lock:
                self._calls.pop(key, None)

    def overdue(self) -> float:
        """How long the most overdue call is past its bound and `MARGIN_S` - 0: none is."""
        now = time.monotonic()
        with self._lock:
            late = [now - began - bound - MARGIN_S for began, bound in self._calls.values()]
        return max([0.0, *late])


@contextlib.contextmanager
def watching() -> Iterator[Watch]:
    """The store calls made in the block (and in the tasks it starts) are watched: by the
    watch of an enclosing block, else by a new one."""
    if (watch := holder.current().watch) is not None:
        yield watch
        return
    watch = Watch()
    with holder.setting(watch=watch):
        yield watch


@contextlib.contextmanager
def watched(bound_s: float) -> Iterator[None]:
    """One store call bounded by `bound_s`, seen by the watch of the block it runs in."""
    watch = holder.current().watch
    if watch is None:
        yield
        return
    with watch.call(bound_s):
        yield
