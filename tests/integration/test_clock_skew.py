"""A host whose clock is a day off writes the same user as a host whose clock is right,
on shared Chroma and Bolt servers: every time stored comes from one clock (the graph
server's), so `as_of` answers one home at every time, none before the first write, and
the doctor finds nothing (issue 49).

The shifted host is a process of its own (tests/clock_child.py) under libfaketime, which
shifts every clock the process reads - Python's, the drivers', the embedder's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from octomem.embeddings import Embedder
from octomem.models import MemoryBase, SemanticMemory
from octomem.orchestrator.internals import services_of
from tests.integration.hosts import open_hosts, server_settings, wait_for
from tests.invariants import assert_one_current_home

pytestmark = pytest.mark.integration

CHILD = Path(__file__).resolve().parents[1] / "clock_child.py"
LIBFAKETIME = [
    Path(lib) / "faketime" / "libfaketime.so.1"
    for lib in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/local/lib")
]
MOVES = ["Paris", "Berlin", "Rome", "Madrid", "Lisbon", "Vienna"]  # host B, the child, ...
GIVEN = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)  # an explicit message time: kept as given


def _libfaketime() -> Path:
    for path in LIBFAKETIME:
        if path.exists():
            return path
    pytest.fail("libfaketime is needed to shift a host's clock: apt-get install faketime")


class ShiftedHost:
    """The child process: a host whose every clock reads `shift` (libfaketime) off."""

    def __init__(self, tmp_path: Path, server_stores: dict[str, Any], shift: str) -> None:
        spec = {
            "data_dir": str(tmp_path / "host-shifted"),
            "settings": server_settings(server_stores, 30.0),
        }
        env = {
            **os.environ,
            "LD_PRELOAD": str(_libfaketime()),
            "FAKETIME": shift,
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_DONT_RESET": "1",
        }
        self.child = subprocess.Popen(
            [sys.executable, str(CHILD), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=CHILD.parent.parent,
            env=env,
        )
        said = wait_for(self.child, "ready")
        [reading] = [line.split()[1] for line in said if line.startswith("clock ")]
        self.clock = datetime.fromisoformat(reading)

    def process(self, text: str, user_id: str, timestamp: datetime | None = None) -> None:
        assert self.child.stdin is not None
        step = {"text": text, "user_id": user_id}
        if timestamp is not None:
            step["timestamp"] = timestamp.isoformat()
        self.child.stdin.write(json.dumps(step) + "\n")
        self.child.stdin.flush()
        wait_for(self.child, "done")

    def quit(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.write("quit\n")
        self.child.stdin.flush()
        wait_for(self.child, "finished")
        assert self.child.wait(60) == 0

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()


@pytest.fixture
def shifted(tmp_path: Path, server_stores: dict[str, Any]) -> Iterator[Any]:
    started: list[ShiftedHost] = []

    def start(shift: str) -> ShiftedHost:
        started.append(ShiftedHost(tmp_path, server_stores, shift))
        return started[-1]

    yield start
    for host in started:
        host.stop()


def _homes(records: list[MemoryBase]) -> list[SemanticMemory]:
    return [r for r in records if isinstance(r, SemanticMemory) and r.attribute == "lives_in"]


@pytest.mark.parametrize("shift", ["+1d", "-1d"], ids=["a-day-ahead", "a-day-behind"])
def test_a_host_a_day_off_stamps_validity_on_the_servers_clock(
    tmp_path: Path,
    server_stores: dict[str, Any],
    embedder: Embedder,
    shifted: Any,
    uid: Any,
    shift: str,
) -> None:
    maya, eve = uid("maya"), uid("eve")
    with open_hosts(tmp_path, server_stores, embedder, lease_s=30.0) as open_host:
        b = open_host("host-b")
        b.open()
        clock = services_of(b).clock  # the server's (its host's clock is right too)
        start = clock.now()
        other = shifted(shift)
        assert abs(other.clock - datetime.now(UTC)) > timedelta(hours=20), other.clock
        for index, city in enumerate(MOVES):
            if index % 2:
                other.process(f"I live in {city}.", maya)
            else:
                b.process(f"I live in {city}.", user_id=maya)
        other.process("I visited Oslo for a conference.", eve, timestamp=GIVEN)
        other.quit()
        end = clock.now()

        assert assert_one_current_home(b, maya, MOVES) == MOVES[-1]
        versions = b.get_all(user_id=maya, include_superseded=True)
        # no time stored before the first write began or after the last one ended
        for record in versions:
            for at in (record.valid_from, record.created_at, record.updated_at, record.valid_to):
                assert at is None or start <= at <= end, (record.content, at, start, end)
            for event in b.history(record.id, user_id=maya):
                assert start <= event.at <= end, (event, start, end)
        # one home at every time: at each boundary of a version, just before and after it
        homes = _homes(versions)
        bounds = sorted({t for r in homes for t in (r.valid_from, r.valid_to) if t is not None})
        tick = timedelta(milliseconds=1)
        probes = {start - timedelta(days=1), start - tick, end + timedelta(days=1)}
        probes |= {t + d for t in bounds for d in (-tick, timedelta(0), tick)}
        for at in sorted(probes):
            then = _homes(b.get_all(user_id=maya, memory_types=["semantic"], as_of=at))
            assert len(then) <= 1, (at, [h.value for h in then])
            if at < start:
                assert then == [], (at, then)  # nothing before any write
            if at > bounds[-1]:
                assert [h.value for h in then] == [MOVES[-1]]
        # the explicit time of eve's message is kept as given, whatever the clocks say
        oslo = [r for r in b.get_all(user_id=eve, include_superseded=True) if "Oslo" in r.content]
        assert oslo and all(r.valid_from == GIVEN for r in oslo), oslo
        report = b.check()
        assert report.consistent, report
