"""Server mode keeps the history log and the journal of intents on the graph server: two
hosts (Orchestrators with data directories of their own) on the same servers answer
`history()` alike, a host that lost its data directory still does, and a write one host
journaled and never finished is seen, and completed, by the other."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.models import Change, Operation, SemanticMemory, WriteIntent, utcnow
from octomem.orchestrator.events import history_event
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings

pytestmark = pytest.mark.integration


def _host(data_dir: Path, servers: dict[str, Any], embedder: Embedder) -> Orchestrator:
    settings = load_settings(data_dir=data_dir, **servers)
    return Orchestrator(settings, embedder=embedder)


def _home(orch: Orchestrator, user: str) -> SemanticMemory:
    (home,) = [
        r
        for r in orch.get_all(user_id=user, memory_types=["semantic"], include_superseded=True)
        if isinstance(r, SemanticMemory) and r.attribute == "lives_in" and r.value == "Lisbon"
    ]
    return home


def test_every_host_answers_history_alike(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> None:
    user = f"log-{uuid.uuid4().hex[:8]}"
    host_a = _host(tmp_path / "a", server_stores, embedder)
    host_b = _host(tmp_path / "b", server_stores, embedder)
    try:
        host_a.process("I live in Lisbon.", user_id=user)
        home = _home(host_a, user)
        host_a.update(home.id, "I live in Lisbon, by the river.", user_id=user)
        host_a.process("I moved to Berlin.", user_id=user)  # supersedes it
        on_a = host_a.history(home.id, user_id=user)
        assert [e.operation for e in on_a][:2] == [Operation.ADD, Operation.UPDATE]
        assert len(on_a) >= 3  # and its end as the current home
        assert host_b.history(home.id, user_id=user) == on_a
        # the other way round: B's change is in A's answer
        host_b.update(home.id, "I lived in Lisbon, by the river.", user_id=user)
        on_b = host_b.history(home.id, user_id=user)
        assert on_b[: len(on_a)] == on_a and len(on_b) == len(on_a) + 1
        assert host_a.history(home.id, user_id=user) == on_b
        assert host_a.check().pending_writes == 0
    finally:
        host_a.close()
        host_b.close()
    # nothing of the log or journal is on the hosts: one that lost its directory answers alike
    for data_dir in (tmp_path / "a", tmp_path / "b"):
        assert not {"history.sqlite", "journal.sqlite"} & {p.name for p in data_dir.iterdir()}
    shutil.rmtree(tmp_path / "a")
    with _host(tmp_path / "a", server_stores, embedder) as again:
        assert again.history(home.id, user_id=user) == on_b


def test_a_write_one_host_left_unfinished_is_completed_by_another(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> None:
    user = f"log-{uuid.uuid4().hex[:8]}"
    host_a = _host(tmp_path / "a", server_stores, embedder)
    host_b = _host(tmp_path / "b", server_stores, embedder)
    try:
        host_a.process("I live in Lisbon.", user_id=user)
        home = _home(host_a, user)
        assert host_b.check().pending_writes == 0
        # host A journals the delete of the memory, then stops before any store has it
        deleted = history_event(home, Operation.DELETE, old=home, actor="test", at=utcnow())
        intent = WriteIntent(
            id=uuid.uuid4().hex, deletes=[Change(record=home, event=deleted)], at=deleted.at
        )
        host_a.run_sync(services_of(host_a).journal.begin(intent))
        assert host_a.get(home.id, user_id=user) == home  # not applied anywhere yet
        assert host_b.check().pending_writes == 1  # B sees A's intent
        report = host_b.check(repair=True)
        assert report.completed_writes == 1 and report.pending_writes == 0
        for host in (host_a, host_b):
            assert host.history(home.id, user_id=user)[-1] == deleted
            assert home.id not in {r.id for r in host.get_all(user_id=user)}
        assert host_a.check().pending_writes == 0
    finally:
        host_a.close()
        host_b.close()
