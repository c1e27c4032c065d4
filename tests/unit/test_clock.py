"""`ServerClock`: the graph server's time carried forward on the monotonic clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from octomem.stores import clock as clock_module
from octomem.stores.clock import ServerClock, SystemClock

DAY_MS = 86_400_000


def _reading(clock: ServerClock, shift_ms: float, round_trip_s: float = 0.002) -> None:
    """A reading of a server whose clock is `shift_ms` off this host's."""
    sent = time.monotonic()
    clock.observe(time.time() * 1000 + shift_ms, sent, sent + round_trip_s)


def test_before_a_reading_it_is_the_hosts_clock() -> None:
    clock = ServerClock()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
    assert abs(SystemClock().now() - datetime.now(UTC)) < timedelta(seconds=1)


@pytest.mark.parametrize("shift_ms", [DAY_MS, -DAY_MS])
def test_it_reads_the_servers_time_whatever_this_hosts_clock_says(shift_ms: int) -> None:
    clock = ServerClock()
    _reading(clock, shift_ms)
    server_now = datetime.now(UTC) + timedelta(milliseconds=shift_ms)
    assert abs(clock.now() - server_now) < timedelta(seconds=1)


def test_a_host_clock_step_does_not_move_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ServerClock()
    _reading(clock, 0)
    before = clock.now()
    real = time.time
    monkeypatch.setattr(clock_module.time, "time", lambda: real() + 86_400)  # a day ahead
    assert clock.now() - before < timedelta(seconds=1)


def test_it_never_goes_back() -> None:
    clock = ServerClock()
    _reading(clock, 0)
    first = clock.now()
    _reading(clock, -60_000, round_trip_s=0.0)  # a more certain reading, a minute earlier
    assert clock.now() >= first


def test_an_uncertain_reading_does_not_replace_a_recent_certain_one() -> None:
    clock = ServerClock()
    _reading(clock, 0, round_trip_s=0.001)
    _reading(clock, DAY_MS, round_trip_s=5.0)  # a slow round trip says little
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
