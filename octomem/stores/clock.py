"""Which clock stamps "now" on what is stored: validity (valid_from, valid_to), the times
of history events and journaled writes, a turn sent without a timestamp.

One clock for every host that shares the data, the one the leases already use: the graph
backend's (`Leases.clock`). Embedded, one host: its own clock (`SystemClock`). On a graph
server (`ServerClock`): the server's, learned from the round trips the stores make anyway -
opening them, and every lease taken, whose answer carries the server's `timestamp()` - and
carried forward between them by this process's monotonic clock, which no step of the
host's wall clock moves. So a host whose clock is a day off stamps what the others stamp,
and no write costs a round trip more. An explicit time a caller gives (a message's
timestamp) is kept as given: only "now" comes from here.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from octomem.logs import get_logger

log = get_logger(__name__)
# a reading older than this is replaced by any newer one, however uncertain (the server's
# own clock may have been corrected since); a newer reading replaces a recent one only if
# it is at least as certain (a round trip that took long says less about when it was read)
FRESH_S = 60.0


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The time, aware, in UTC; never earlier than a time this clock gave before."""


class SystemClock:
    """This host's clock: the embedded stores, whose data one host alone writes."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ServerClock:
    """The graph server's clock, as last read (`observe`) plus the time this process's
    monotonic clock has run since. Until a first reading (the stores not yet open) it is
    this host's clock."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._offset: float | None = None  # server epoch seconds - monotonic seconds
        self._spread = math.inf  # half the round trip of the reading kept
        self._read_at = -math.inf  # monotonic time of that reading
        self._last = -math.inf  # the latest time given, epoch seconds

    def observe(self, server_ms: float, sent: float, received: float) -> None:
        """A reading of the server's clock (`server_ms`, epoch milliseconds) taken by a
        round trip sent and answered at these monotonic times."""
        spread = max(0.0, received - sent) / 2
        with self._mutex:
            stale = received - self._read_at > FRESH_S
            if self._offset is None or stale or spread <= self._spread:
                self._offset = server_ms / 1000 - (sent + spread)
                self._spread, self._read_at = spread, received

    def now(self) -> datetime:
        with self._mutex:
            offset = self._offset
            seconds = time.time() if offset is None else time.monotonic() + offset
            seconds = self._last = max(seconds, self._last)
        return datetime.fromtimestamp(seconds, UTC)
