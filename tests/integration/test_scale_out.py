"""Hosts that share one Chroma server and one Bolt graph server behave as one (issue 23).

Each "host" is an Orchestrator with a data directory of its own, in a process of its own
where the test needs one (tests/crash_child.py: killed with SIGKILL, or stopped with
SIGSTOP, at a chosen store call). Nothing is shared between them but the servers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.errors import NotFoundError
from octomem.models import SemanticMemory
from octomem.orchestrator.internals import services_of
from tests.integration.hosts import (
    chroma_server_mentions,
    graph_server_mentions,
    open_hosts,
    server_settings,
    wait_for,
)
from tests.invariants import assert_one_current_home

pytestmark = pytest.mark.integration

CHILD = Path(__file__).resolve().parents[1] / "crash_child.py"
LEASE_S = 2.0  # short, so a dead or stopped host's lease lapses within the test
# the first vector upsert of a process() (with no model, one write of its raw turns and
# the memories decided from them, read and reconciled before it): its turns' entries,
# the memories' next
MEMORIES_WRITE = ("vector", "upsert", 1)
# the same write's request to Chroma, after its fence check (`fence.verify`)
MEMORIES_SENT = ("vector", "_on", 1, "upsert")


@pytest.fixture
def host(tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder) -> Iterator[Any]:
    """Opens hosts on the servers: each its own data directory."""
    with open_hosts(tmp_path, server_stores, embedder, lease_s=LEASE_S) as open_host:
        yield open_host


def _child(
    tmp_path: Path,
    server_stores: dict[str, Any],
    user: str,
    text: str,
    when: str,
    at: tuple[str, str, int, str | None] = (*MEMORIES_WRITE, None),
) -> subprocess.Popen[str]:
    store, method, nth, what = at
    spec = {
        "data_dir": str(tmp_path / "host-a"),
        "settings": server_settings(server_stores, LEASE_S),
        "call": "process",
        "messages": [{"role": "user", "content": text}],
        "user_id": user,
        "session_id": "s1",
        **{"store": store, "method": method, "nth": nth, "when": when, "what": what},
    }
    return subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=CHILD.parent.parent,
    )


def _homes(orch: Orchestrator, user: str) -> list[SemanticMemory]:
    every = orch.get_all(user_id=user, memory_types=["semantic"], include_superseded=True)
    return [r for r in every if isinstance(r, SemanticMemory) and r.attribute == "lives_in"]


def _clean(orch: Orchestrator) -> None:
    report = orch.check()
    problems = {s.store: s.missing + s.extra + s.stale for s in report.stores if s.count}
    assert not problems, problems


def test_a_stalled_writer_cannot_overwrite_the_newer_truth(
    tmp_path: Path, server_stores: dict[str, Any], host: Any, uid: Any
) -> None:
    user = uid("dana")
    """Host A decides "Lisbon" and is stopped (SIGSTOP) before it writes it - its journal
    intent and graph writes gathered, not yet sent (`stores.gather`); its lease lapses,
    host B takes over (nothing of A's write to complete) and moves the user to Berlin; A
    resumes (SIGCONT): its write is refused whole, and Berlin is the one home."""
    a = _child(tmp_path, server_stores, user, "I live in Lisbon.", "stop")
    b, output = _take_over_while_stopped(a, host, user)
    # refused by the fence in the transaction of its gathered writes (LeaseLostError)
    assert a.returncode == 3 and "LeaseLostError" in output, output
    try:
        assert assert_one_current_home(b, user, ["Berlin"]) == "Berlin"
    except AssertionError as exc:  # what each home's history says, for the next reader
        raise AssertionError(f"{exc}\n{_histories(b, user)}\nhost A said: {output}") from exc
    _clean(b)


def test_a_writer_stalled_inside_its_transaction_cannot_overwrite_the_newer_truth(
    tmp_path: Path, server_stores: dict[str, Any], host: Any, uid: Any
) -> None:
    """Host A stalls (SIGSTOP: a long pause, a frozen VM) inside the transaction of its
    gathered writes, their one statement run (the gate passed) and the commit next. Host
    B takes over and moves the user to Berlin; A resumes in a transaction whose reads no
    longer agree with the graph. Whatever they show it, A's write is refused as the lost
    lease it is (LeaseLostError: a caller may retry), and Berlin is the one home."""
    user = uid("dana")
    at = ("batch", "run", 1, "upsert_relations")
    a = _child(tmp_path, server_stores, user, "I live in Lisbon.", "commit", at)
    b, output = _take_over_while_stopped(a, host, user)
    assert a.returncode == 3 and "LeaseLostError" in output, output
    assert assert_one_current_home(b, user, ["Berlin"]) == "Berlin"
    _clean(b)


def _take_over_while_stopped(
    a: subprocess.Popen[str], host: Any, user: str
) -> tuple[Orchestrator, str]:
    """Once host A has stopped itself: host B moves the user to Berlin (waiting for A's
    lease to lapse), then A resumes. Host B, and what A said until it exited."""
    try:
        wait_for(a, "stopped")
        b = host("host-b")
        b.process("I moved to Berlin.", user_id=user)
        assert [h.value for h in _homes(b, user) if h.is_current] == ["Berlin"]
        os.kill(a.pid, signal.SIGCONT)
        output, _ = a.communicate(timeout=120)
    finally:
        if a.poll() is None:
            os.kill(a.pid, signal.SIGKILL)
            a.wait()
    return b, output


def _histories(orch: Orchestrator, user: str) -> str:
    lines = []
    for home in _homes(orch, user):
        lines.append(f"{home.id} {home.value} current={home.is_current}")
        lines += [f"  {e.at} {e.operation.value} by {e.actor}" for e in orch.history(home.id)]
    return "\n".join(lines)


def test_a_write_that_lands_after_the_lease_is_lost_is_undone_before_the_call_returns(
    tmp_path: Path, server_stores: dict[str, Any], host: Any, uid: Any
) -> None:
    """The gap the fence check cannot close on Chroma (no conditional writes): host A has
    checked its lease and is stopped with its request to Chroma not yet sent. Host B
    takes over and moves the user to Berlin; A resumes and its "Lisbon" lands on top.
    A then finds its lease gone, takes it anew and puts back what the history log (on
    the graph server, where every write is fenced) says, before its call fails."""
    user = uid("dana")
    # the first request that upserts to Chroma: the turns', the decided facts' after it
    a = _child(tmp_path, server_stores, user, "I live in Lisbon.", "stop", MEMORIES_SENT)
    b, output = _take_over_while_stopped(a, host, user)
    assert a.returncode == 3 and "LandedLate" in output and "put back" in output, output
    assert assert_one_current_home(b, user, ["Lisbon", "Berlin"]) == "Berlin"
    _clean(b)


def test_a_dead_hosts_write_is_completed_by_another_host(
    tmp_path: Path, server_stores: dict[str, Any], host: Any, uid: Any
) -> None:
    user = uid("dana")
    """Host A is killed (SIGKILL) in the middle of a write - its journal intent and graph
    writes committed, its vector write not sent - and never comes back: once its lease has
    lapsed, host B's sweep completes the write from the shared journal, and B's doctor
    finds every store in agreement."""
    a = _child(tmp_path, server_stores, user, "I live in Lisbon.", "before", MEMORIES_SENT)
    output, _ = a.communicate(timeout=120)
    assert a.returncode == -signal.SIGKILL, output
    b = host("host-b")
    journal = services_of(b).journal
    b.open()  # opening sweeps too: it completes A's write if A's lease has lapsed by then
    deadline = time.monotonic() + 30 * LEASE_S
    while b.run_sync(journal.pending()) and time.monotonic() < deadline:
        b.recover()  # nothing while A's lease lasts
        time.sleep(LEASE_S / 4)
    assert b.run_sync(journal.pending()) == []
    assert [h.value for h in _homes(b, user) if h.is_current] == ["Lisbon"]
    _clean(b)
    assert b.recover() == 0  # done once


def test_forget_on_one_host_leaves_no_trace_on_another_or_in_the_servers(
    server_stores: dict[str, Any], host: Any, uid: Any
) -> None:
    user = uid("dana")
    a, b = host("host-a"), host("host-b")
    a.process("I live in Lisbon and I love the zanzibarian kite festival.", user_id=user)
    b.process("I moved to Berlin.", user_id=user)
    ids = [r.id for r in b.get_all(user_id=user, include_superseded=True)]
    assert ids and all(b.history(i) for i in ids)
    a.forget(user_id=user)

    assert b.get_all(user_id=user, include_superseded=True) == []
    for memory_id in ids:
        with pytest.raises(NotFoundError):
            b.history(memory_id)
    assert b.recall("zanzibarian kite festival", user_id=user).hits == []
    assert graph_server_mentions(server_stores, user) == []
    assert chroma_server_mentions(b, user) == []
