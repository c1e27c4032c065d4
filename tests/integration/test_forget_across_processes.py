"""Server mode: a user forgotten by one process while another process writes for that user
is forgotten completely.

Process A (tests/forget_race_child.py) runs a `process()`, a LangGraph store put or an
import of user maya and pauses at a chosen point; process B (this test's process, a host
with a data directory of its own, nothing shared but the Chroma server and the Bolt graph
server) forgets maya meanwhile, and writes another user, ana. A's write either commits
fully before the forget, which then erases it, or fails with ConflictError and writes
nothing. Afterwards nothing of maya is left: no record, history event or search hit
through octomem's API, no node or relationship on the graph server (history, journal,
keyword index included) and no Chroma entry that holds her id or her words; the doctor
finds every store in agreement, no unfinished write is left, and ana is intact.

The ordering is by barriers: A says "paused" and waits for a file; B's forget says it
found maya's lease taken (a spy on its `acquire_lease`) before A is let go.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.errors import NotFoundError
from octomem.models import MemoryType
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.locks import scope_key
from tests.integration.hosts import (
    chroma_server_mentions,
    graph_server_mentions,
    open_hosts,
    server_settings,
    wait_for,
)

pytestmark = pytest.mark.integration

CHILD = Path(__file__).resolve().parents[1] / "forget_race_child.py"
# A's lease where a test waits for it to lapse (A killed or stopped); else, and always
# for B, the default 30 s, so that a loaded machine never takes a lease from a live holder
LEASE_S = 2.0
FORGOTTEN = "forgotten while this call was running"


@pytest.fixture
def host(tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder) -> Iterator[Any]:
    """Opens hosts on the servers (process B's): each its own data directory."""
    with open_hosts(tmp_path, server_stores, embedder, lease_s=30.0) as open_host:
        yield open_host


class ProcessA:
    """The child process that writes for maya: started at once (its imports and stores
    take seconds, meanwhile the test prepares B), its call begun by `begin`."""

    def __init__(
        self, tmp_path: Path, server_stores: dict[str, Any], lease_s: float = 30.0, **spec: Any
    ) -> None:
        self.go = tmp_path / "go"
        self.pauses = len(spec["pauses"])
        self.released = 0
        spec = {
            "data_dir": str(tmp_path / "host-a"),
            "settings": server_settings(server_stores, lease_s),
            "go": str(self.go),
            "value": "Flumberdyne",
            **spec,
        }
        self.child = subprocess.Popen(
            [sys.executable, str(CHILD), json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=CHILD.parent.parent,
        )
        self.said = ""

    def begin(self) -> None:
        """Start A's call (once its stores are open) and wait for its first pause point."""
        self.said += "".join(wait_for(self.child, "ready"))
        Path(f"{self.go}.start").touch()
        self.said += "".join(wait_for(self.child, "paused"))

    def _release(self) -> None:
        Path(f"{self.go}.{self.released}").touch()
        self.released += 1

    def release(self) -> None:
        """Let A go on to its next pause point."""
        self._release()
        self.said += "".join(wait_for(self.child, "paused"))

    def release_stopped(self) -> None:
        """Release A's pause point while A is stopped: it goes on once continued."""
        self._release()

    def finish(self) -> tuple[int, str]:
        """Let A go on to the end; its exit code and what it said."""
        while self.released < self.pauses:
            self._release()
        output, _ = self.child.communicate(timeout=120)
        return self.child.returncode, self.said + output

    def kill(self) -> None:
        os.kill(self.child.pid, signal.SIGKILL)
        self.child.communicate(timeout=60)

    def stop(self) -> None:
        if self.child.poll() is None:
            os.kill(self.child.pid, signal.SIGKILL)
            self.child.wait()


@pytest.fixture
def process_a(tmp_path: Path, server_stores: dict[str, Any]) -> Iterator[Any]:
    started: list[ProcessA] = []

    def start(**spec: Any) -> ProcessA:
        started.append(ProcessA(tmp_path, server_stores, **spec))
        return started[-1]

    yield start
    for child in started:
        child.stop()


def _mark(maya: str) -> str:
    """A word in every text of maya's, of this test's own (the servers are the whole run's)."""
    return "zorblax" + maya.rsplit("-", 1)[-1]


def _host_b(host: Any, maya: str) -> tuple[Orchestrator, list[str]]:
    """Process B's host, with a memory of maya's stored before A begins; its ids."""
    b = host("host-b")
    b.process(f"I live in Quibbleton ({_mark(maya)}).", user_id=maya)
    return b, [r.id for r in b.get_all(user_id=maya, include_superseded=True)]


def _write_ana(b: Orchestrator, ana: str) -> None:
    b.process("I live in Paris.", user_id=ana)


def _forget_once_lease_is_seen_taken(b: Orchestrator, maya: str) -> Any:
    """B's forget of maya in a thread; returns once it found maya's lease held by another
    process (A), and a function that waits for the forget's report."""
    graph = services_of(b).graph
    acquire, key = graph.acquire_lease, graph.lease_key(scope_key(maya))
    refused = threading.Event()

    async def spy(lease: str, *args: Any, **kwargs: Any) -> int:
        token = await acquire(lease, *args, **kwargs)
        if not token and graph.lease_key(lease) == key:
            refused.set()
        return token

    graph.acquire_lease = spy  # type: ignore[method-assign]
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = b.forget(user_id=maya)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    assert refused.wait(60), "B's forget never met A's lease"

    def report() -> Any:
        thread.join(120)
        assert not thread.is_alive() and "error" not in outcome, outcome
        return outcome["report"]

    return report


def _assert_maya_gone(
    b: Orchestrator, server_stores: dict[str, Any], maya: str, ids: list[str]
) -> None:
    assert b.get_all(user_id=maya, include_superseded=True) == []
    assert b.stats(user_id=maya).totals.model_dump() == {
        "memories": 0,
        "current": 0,
        "history_events": 0,
    }
    for memory_id in ids:
        with pytest.raises(NotFoundError):
            b.history(memory_id)
    assert b.recall(f"Where do I live? Flumberdyne {_mark(maya)}", user_id=maya).hits == []
    for text in (maya, _mark(maya)):
        assert graph_server_mentions(server_stores, text) == [], text
        assert chroma_server_mentions(b, text) == [], text
    report = b.check()
    assert report.consistent, report
    assert b.recover() == 0  # no unfinished write of A's left to complete later


def _assert_ana_intact(b: Orchestrator, ana: str) -> None:
    homes = [m.content for m in b.get_all(user_id=ana, memory_types=["semantic"])]
    assert any("Paris" in home for home in homes), homes
    hits = b.recall("Where do I live?", user_id=ana).hits
    assert any("Paris" in hit.memory.content for hit in hits)


def test_a_forget_between_a_process_two_lock_holds_makes_it_store_nothing(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any
) -> None:
    """A has stored its raw turn (first hold) and is in the model's extraction when B
    forgets maya: A's commit (second hold) fails with ConflictError, writes nothing."""
    maya, ana = uid("maya"), uid("ana")
    text = f"I live in Flumberdyne ({_mark(maya)})."
    a = process_a(call="process", user_id=maya, text=text, pauses=["extract"])
    b, before = _host_b(host, maya)
    a.begin()
    _write_ana(b, ana)
    ids = [r.id for r in b.get_all(user_id=maya, include_superseded=True)]
    assert [r.content for r in b.get_all(user_id=maya) if r.id not in before] == [f"user: {text}"]
    assert b.forget(user_id=maya).total_memories == len(ids) == len(before) + 1
    code, said = a.finish()
    assert code == 3 and "ConflictError" in said and FORGOTTEN in said, said
    _assert_maya_gone(b, server_stores, maya, ids)
    _assert_ana_intact(b, ana)


def test_a_forget_waits_for_a_commit_under_way_then_erases_it(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any
) -> None:
    """A holds maya's lock (its lease on the graph server) while it writes the fact it
    extracted when B forgets maya: B waits for A's lease, A's commit finishes, and then B
    erases everything of maya's, A's turn and fact included."""
    maya, ana = uid("maya"), uid("ana")
    text = f"I live in Flumberdyne ({_mark(maya)})."
    a = process_a(call="process", user_id=maya, text=text, pauses=["write"], type="semantic")
    b, before = _host_b(host, maya)
    a.begin()
    report = _forget_once_lease_is_seen_taken(b, maya)
    _write_ana(b, ana)  # another user's writes do not wait for maya's lock
    code, said = a.finish()
    assert code == 0 and "finished" in said, said
    assert report().total_memories >= len(before) + 2  # A's turn and fact with the rest
    _assert_maya_gone(b, server_stores, maya, before)
    _assert_ana_intact(b, ana)


def test_a_forget_waits_for_a_process_storing_its_turns_and_its_commit_stores_nothing(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any
) -> None:
    """A holds maya's lock while it stores its raw turn when B forgets maya: B waits for
    A's lease and erases the turn once A lets go; A's commit, after its extraction, then
    fails with ConflictError and writes nothing."""
    maya, ana = uid("maya"), uid("ana")
    text = f"I live in Flumberdyne ({_mark(maya)})."
    a = process_a(
        call="process", user_id=maya, text=text, pauses=["write", "extract"], type="episodic"
    )
    b, before = _host_b(host, maya)
    a.begin()
    report = _forget_once_lease_is_seen_taken(b, maya)
    a.release()  # A stores its turn, lets go of the lock and pauses in its extraction
    assert report().total_memories == len(before) + 1  # A's turn with the rest
    _write_ana(b, ana)
    code, said = a.finish()
    assert code == 3 and "ConflictError" in said and FORGOTTEN in said, said
    _assert_maya_gone(b, server_stores, maya, before)
    _assert_ana_intact(b, ana)


def test_a_forget_while_a_store_put_is_under_way_makes_it_store_nothing(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any
) -> None:
    """A LangGraph store put in A has read maya's erasure counts, not yet taken her lock,
    when B forgets her: the put fails with ConflictError and stores nothing."""
    maya, ana = uid("maya"), uid("ana")
    text = f"Lives in Flumberdyne ({_mark(maya)})."
    a = process_a(call="put", user_id=maya, text=text, pauses=["erasures"])
    b, before = _host_b(host, maya)
    a.begin()
    b.forget(user_id=maya)
    _write_ana(b, ana)
    code, said = a.finish()
    assert code == 3 and "ConflictError" in said and FORGOTTEN in said, said
    _assert_maya_gone(b, server_stores, maya, before)
    _assert_ana_intact(b, ana)


def test_a_forget_while_an_import_is_under_way_makes_it_store_nothing_of_the_user(
    server_stores: dict[str, Any],
    host: Any,
    process_a: Any,
    uid: Any,
    make_orch: Any,
    tmp_path: Path,
) -> None:
    """An import in A of maya and ana has checked its file when B forgets maya: ana is
    imported, maya's part fails with ConflictError and stores nothing."""
    maya, ana = uid("maya"), uid("ana")
    export = tmp_path / "export.jsonl"
    a = process_a(call="import", user_id=maya, source=str(export), pauses=["checked"])
    source = make_orch(data_dir=tmp_path / "source")
    source.process(f"I work at Flumberdyne ({_mark(maya)}).", user_id=maya)
    _write_ana(source, ana)
    source.export_jsonl(export)
    b, before = _host_b(host, maya)
    a.begin()
    b.forget(user_id=maya)
    code, said = a.finish()
    assert code == 3 and "ConflictError" in said and FORGOTTEN in said, said
    _assert_maya_gone(b, server_stores, maya, before)
    _assert_ana_intact(b, ana)  # imported by A


def test_a_forget_after_the_writer_was_killed_holding_the_lock_erases_its_write(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any
) -> None:
    """A is killed (SIGKILL) in the middle of its commit, holding maya's lease, its write
    journaled and partly done (its graph writes committed, its fact not yet sent to
    Chroma): B's forget waits for the lease to lapse (lease_ttl_s), completes A's write
    from the shared journal and then erases it with the rest."""
    maya, ana = uid("maya"), uid("ana")
    text = f"I live in Flumberdyne ({_mark(maya)})."
    a = process_a(
        call="process", user_id=maya, text=text, pauses=["sent"], type="semantic", lease_s=LEASE_S
    )
    b, before = _host_b(host, maya)
    a.begin()
    a.kill()
    _write_ana(b, ana)
    forgotten = b.forget(user_id=maya)
    assert forgotten.total_memories >= len(before) + 2  # A's turn and its fact
    _assert_maya_gone(b, server_stores, maya, before)
    _assert_ana_intact(b, ana)


@pytest.mark.parametrize("at", ["write", "sent"], ids=["before-fence-check", "after-it"])
def test_a_writer_stalled_past_its_lease_cannot_bring_back_a_forgotten_user(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any, at: str
) -> None:
    """A is stopped (SIGSTOP) holding maya's lease in the middle of its commit (the one
    write of its raw turn and its fact), before its first vector write (the turn's) -
    before its fence check (its journal intent and graph writes gathered, not yet sent:
    `stores.gather`), or after it (they are committed) with the request not yet sent. Its
    lease lapses; B's forget takes it, completes A's journaled write if there is one and
    erases maya. A resumes: its write is refused (LeaseLostError), or lands late and is
    undone from the history log, where nothing of maya is left (LandedLate). Either way
    A's call fails and nothing of maya remains."""
    maya, ana = uid("maya"), uid("ana")
    text = f"I live in Flumberdyne ({_mark(maya)})."
    a = process_a(
        call="process", user_id=maya, text=text, pauses=[at], type="episodic", lease_s=LEASE_S
    )
    b, before = _host_b(host, maya)
    a.begin()
    os.kill(a.child.pid, signal.SIGSTOP)  # its lease renewals stop with it
    try:
        forgotten = b.forget(user_id=maya)  # once A's lease has lapsed
        _write_ana(b, ana)
        a.release_stopped()
    finally:
        os.kill(a.child.pid, signal.SIGCONT)
    code, said = a.finish()
    # A's turn and its fact when journaled (completed by B); nothing of them if not
    assert forgotten.total_memories >= len(before) + (0 if at == "write" else 2)
    expected = "LeaseLostError" if at == "write" else "LandedLate"
    assert code == 3 and expected in said, said
    _assert_maya_gone(b, server_stores, maya, before)
    _assert_ana_intact(b, ana)


@pytest.mark.parametrize("healer", ["read", "sweep"])
def test_a_late_write_whose_writer_was_killed_is_undone_by_the_service_itself(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any, healer: str
) -> None:
    """As above, A stopped after its fence check; but once its late request has reached
    Chroma, A dies before its second check, so A never undoes it. Chroma has no conditional
    writes: maya's fact is back in Chroma with no history. Another host (C, which took no
    part) sees it, and its check() reports the entry (its token older than the forget's).
    B completed A's write for the forget, so B watches what it wrote: B's next read of
    maya, or its next recovery sweep (what `octomem serve` runs every lease period), finds
    the late entries and removes them through the write primitive - no check(repair=True)."""
    maya, ana = uid("maya"), uid("ana")
    text = f"I live in Flumberdyne ({_mark(maya)})."
    a = process_a(
        call="process",
        user_id=maya,
        text=text,
        pauses=["sent"],
        type="semantic",
        lease_s=LEASE_S,
        die_after_sent=True,
    )
    b, before = _host_b(host, maya)
    a.begin()
    os.kill(a.child.pid, signal.SIGSTOP)
    try:
        b.forget(user_id=maya)  # once A's lease has lapsed
        _write_ana(b, ana)
        a.release_stopped()
    finally:
        os.kill(a.child.pid, signal.SIGCONT)
    code, said = a.finish()
    assert code == -signal.SIGKILL and "landed" in said, said
    c = host("host-c")
    late = {r.id for r in c.get_all(user_id=maya, include_superseded=True)}
    assert late, "the late write landed"
    found = {store.store: store for store in c.check().stores}
    assert set(found["vector"].extra) == late, found
    assert all(d.count == 0 for name, d in found.items() if name != "vector"), found
    if healer == "read":
        assert b.get_all(user_id=maya, include_superseded=True) == []
    else:
        b.recover()
    assert c.get_all(user_id=maya, include_superseded=True) == []  # gone from the stores
    assert c.check().consistent
    _assert_maya_gone(b, server_stores, maya, before)
    _assert_ana_intact(b, ana)


@pytest.mark.parametrize("newer", ["update", "delete"])
def test_a_late_write_over_a_newer_update_or_delete_is_undone_by_the_service_itself(
    server_stores: dict[str, Any], host: Any, process_a: Any, uid: Any, newer: str
) -> None:
    """No forget this time: A updates maya's memory and is stopped after its fence check;
    B updates (or deletes) the same memory once A's lease has lapsed (acknowledged); then
    A's late request lands and A dies before its second check. Chroma holds A's words under
    A's older token, while the history log (fenced inside its writes) ends with B's change:
    another host's check() names the entry (stale after an update, extra after a delete).
    B, which completed A's write before its own, watches it: B's next read puts back B's
    words or removes the entry, instead of logging A's as the truth - no repair run."""
    maya = uid("maya")
    b, _ = _host_b(host, maya)
    [fact] = [r for r in b.get_all(user_id=maya) if r.memory_type is MemoryType.SEMANTIC]
    a = process_a(
        call="update",
        user_id=maya,
        memory_id=fact.id,
        text=f"I live in Flumberdyne ({_mark(maya)}).",
        pauses=["sent"],
        type="semantic",
        lease_s=LEASE_S,
        die_after_sent=True,
    )
    a.begin()
    os.kill(a.child.pid, signal.SIGSTOP)
    try:
        if newer == "update":
            truth = b.update(fact.id, f"I live in Rome ({_mark(maya)}).", user_id=maya)
            assert truth is not None and "Rome" in truth.content
        else:
            b.delete(fact.id, user_id=maya)
        a.release_stopped()
    finally:
        os.kill(a.child.pid, signal.SIGCONT)
    code, said = a.finish()
    assert code == -signal.SIGKILL and "landed" in said, said
    c = host("host-c")
    assert "Flumberdyne" in c.get(fact.id, user_id=maya).content  # the damage
    found = {store.store: store for store in c.check().stores}
    late = found["vector"].stale if newer == "update" else found["vector"].extra
    # with its views' (the fact's knowledge edge, the core block) when sent with it: a
    # server's vector writes of several types go together
    assert fact.id in late and not found["vector"].missing, found
    assert not found["history"].count, found
    if newer == "update":
        assert b.get(fact.id, user_id=maya).content == truth.content
        assert b.history(fact.id, user_id=maya)[-1].new_value == truth.content
    else:
        with pytest.raises(NotFoundError):
            b.get(fact.id, user_id=maya)
        assert b.history(fact.id, user_id=maya)[-1].operation.value == "DELETE"
    assert c.check().consistent
    homes = [r for r in c.get_all(user_id=maya) if r.memory_type is MemoryType.SEMANTIC]
    assert len(homes) == (1 if newer == "update" else 0), homes  # one current fact
    hits = b.recall("Where do I live?", user_id=maya).hits
    assert not [h for h in hits if "Flumberdyne" in h.memory.content]
    assert newer == "delete" or "Rome" in hits[0].memory.content
