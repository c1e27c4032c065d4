"""`check()` / `octomem doctor`: every store against the canonical one, and the repair."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from octomem import ImportRejectedError, Orchestrator
from octomem.models import (
    HistoryEvent,
    KnowledgeMemory,
    MemoryBase,
    MemoryType,
    Operation,
    Relation,
    embedding_text,
)
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.write import apply, restore_vectors
from octomem.orchestrator.write.apply import DELETE_BATCH
from octomem.settings import load_settings
from octomem.stores import fence, graph_common
from octomem.stores.clock import SystemClock
from tests.conftest import T0
from tests.servers import executable

DAY = timedelta(days=1)


def _seed(orch: Orchestrator) -> None:
    orch.process("I'm Alice. I live in Paris and I work at Acme.", user_id="alice", timestamp=T0)
    orch.process("I moved to Berlin.", user_id="alice", timestamp=T0 + timedelta(days=2))
    orch.process("I live in Oslo and I like chess.", user_id="bob", timestamp=T0)


def _damage(orch: Orchestrator) -> dict[str, str]:
    """What older versions (no journal) could leave after a crash, one of each."""
    run, services = orch.run_sync, services_of(orch)
    records = orch.get_all(user_id="alice", include_superseded=True)
    edge = next(r for r in records if isinstance(r, KnowledgeMemory) and r.is_current)
    unindexed = next(r for r in records if getattr(r, "attribute", None) == "works_at")
    unlogged = next(r for r in records if r.memory_type is MemoryType.CORE)
    run(services.keyword.delete([unindexed.id]))  # missing from the keyword index
    run(services.graph.delete_memory(edge.id))  # missing memory node
    run(services.history.discard([unlogged.id]))  # never logged
    ghost = "sem_" + uuid.uuid4().hex[:24]  # a write that died before the canonical store
    ghost_record = unindexed.model_copy(update={"id": ghost, "content": "Alice owns a boat."})
    run(services.keyword.upsert([ghost_record]))
    run(
        services.history.record(
            [
                HistoryEvent(
                    id="evt_ghost",
                    memory_id=ghost,
                    memory_type=MemoryType.SEMANTIC,
                    operation=Operation.ADD,
                    new_value=ghost_record.content,
                    user_id="alice",
                    record=ghost_record.model_dump(mode="json"),
                )
            ]
        )
    )
    [paris, berlin] = run(services.graph.find_entities("alice", ["Paris", "Berlin"]))
    orphan = Relation(
        id="kg_orphan",
        user_id="alice",
        subject_id=paris.id,
        predicate="NEAR",
        object_id=berlin.id,
        fact="Paris is near Berlin.",
        memory_id="kg_orphan",
    )
    run(services.graph.upsert_relations([orphan]))  # a valid edge with no memory
    return {"unindexed": unindexed.id, "edge": edge.id, "unlogged": unlogged.id, "ghost": ghost}


def test_a_consistent_store_checks_clean(orch: Orchestrator) -> None:
    _seed(orch)
    report = orch.check()
    assert report.consistent and report.differences == 0
    assert report.records == len(orch.get_all(user_id="alice", include_superseded=True)) + len(
        orch.get_all(user_id="bob", include_superseded=True)
    )


def test_check_names_every_difference_and_repair_fixes_them(orch: Orchestrator) -> None:
    _seed(orch)
    before = {u: orch.get_all(user_id=u, include_superseded=True) for u in ("alice", "bob")}
    damaged = _damage(orch)

    report = orch.check()
    by_store = {s.store: s for s in report.stores}
    assert not report.consistent and not report.repaired
    assert by_store["keyword"].missing == [damaged["unindexed"]]
    assert by_store["keyword"].extra == [damaged["ghost"]]
    assert by_store["graph"].missing == [damaged["edge"]]
    assert by_store["graph"].extra == ["kg_orphan"]
    assert by_store["history"].missing == [damaged["unlogged"]]
    assert by_store["history"].extra == [damaged["ghost"]]

    repaired = orch.check(repair=True)
    assert repaired.repaired and repaired.remaining == 0 and repaired.consistent
    assert orch.check().consistent
    # the canonical store was never touched; what the damage hid is found again
    after = {u: orch.get_all(user_id=u, include_superseded=True) for u in ("alice", "bob")}
    assert after == before
    keyword = services_of(orch).keyword
    found = orch.run_sync(keyword.search("works Acme", user_id="alice", limit=50))
    assert damaged["unindexed"] in [memory_id for memory_id, _, _ in found]
    assert orch.run_sync(keyword.search("boat", user_id="alice")) == []
    edges = orch.run_sync(services_of(orch).graph.relations("alice"))
    orphan = next(e for e in edges if e.id == "kg_orphan")
    assert orphan.invalid_at is not None  # invalidated, never deleted
    assert [e.operation for e in orch.history(damaged["unlogged"])] == [Operation.ADD]


def test_delete_all_larger_than_one_journal_batch(orch: Orchestrator) -> None:
    messages = [{"role": "user", "content": f"Note number {i}."} for i in range(DELETE_BATCH + 20)]
    orch.process(messages, user_id="many", infer=False, timestamp=T0)
    assert orch.delete_all(user_id="many") == DELETE_BATCH + 20
    assert orch.get_all(user_id="many", include_superseded=True) == []
    assert orch.check().consistent


def test_doctor_command(tmp_path: Path, embedder) -> None:
    data = tmp_path / "data"
    orch = Orchestrator(load_settings(data_dir=data), embedder=embedder)
    _seed(orch)
    _damage(orch)
    orch.close()
    octomem = executable("octomem")
    assert octomem is not None

    def doctor(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [octomem, "doctor", "--data-dir", str(data), "--json", *extra],
            capture_output=True,
            text=True,
            timeout=300,
        )

    found = doctor()
    assert found.returncode == 3, found.stderr
    report = json.loads(found.stdout)
    assert report["consistent"] is False
    assert {s["store"]: len(s["missing"]) for s in report["stores"]} == {
        "vector": 0,
        "keyword": 1,
        "graph": 1,
        "history": 1,
        "projections": 0,
        "validity": 0,
    }
    fixed = doctor("--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert json.loads(fixed.stdout)["remaining"] == 0
    assert doctor().returncode == 0
    human = subprocess.run(
        [octomem, "doctor", "--data-dir", str(data)], capture_output=True, text=True, timeout=300
    )
    assert human.returncode == 0 and "consistent" in human.stdout


def _late_write(orch: Orchestrator, user_id: str, record: MemoryBase, token: int) -> None:
    """What a writer that lost `user_id`'s lease (held under `token`) and died leaves: its
    vector request, sent before the lease passed on, landing after the newer writer."""

    async def holds(tokens: object) -> bool:
        return True  # it passed its fence check before the lease passed on

    services = services_of(orch)
    [vector] = orch.run_sync(services.embedder.embed([embedding_text(record)]))
    stale = fence.Fence((), holds).with_token("its-lease", token, user_id=user_id)
    orch.run_sync(services.vector.upsert(record.memory_type, [record], [vector], fence=stale))


def _restore(orch: Orchestrator, user_id: str, memory_id: str) -> int:
    """What the writer of a late write that lives to see it does (`fence.LandedLate`):
    put the semantic entry back to what the history log says, holding the user's lease."""

    async def restore() -> int:
        async with services_of(orch).locks.hold(user_id) as held:
            return await restore_vectors(services_of(orch), {"semantic": [memory_id]}, held)

    return orch.run_sync(restore())


def _token_now(orch: Orchestrator, user_id: str) -> int:
    """The fencing token a writer of `user_id` holds now."""

    async def take() -> int:
        async with services_of(orch).locks.hold(user_id) as held:
            token = held.stamp(user_id)
            assert token is not None
            return token

    return orch.run_sync(take())


@pytest.mark.parametrize("skew_s", [0, -60], ids=["same-clock", "newer-host-behind"])
def test_a_late_write_over_a_newer_truth_is_put_back_by_repair(
    orch: Orchestrator, monkeypatch: pytest.MonkeyPatch, skew_s: int
) -> None:
    """A writer stops after its fence check, another takes the lease and updates the memory
    (acknowledged), then the first one's request lands, and it dies before it can undo it.
    The canonical store holds the older words, with the older token: check() names the
    entry as stale, and repair puts back what the newer writer stored, instead of logging
    the older words as the truth - also when the newer writer's clock is behind (its
    event's time earlier than the one before it: the newest is the last logged)."""
    orch.process("I live in Paris.", user_id="maya")
    [old] = [r for r in orch.get_all(user_id="maya") if r.memory_type is MemoryType.SEMANTIC]
    token = _token_now(orch, "maya")  # the writer that will land late
    clock = SystemClock.now  # the embedded stores' (`Leases.clock`)
    with monkeypatch.context() as patch:
        patch.setattr(SystemClock, "now", lambda self: clock(self) + timedelta(seconds=skew_s))
        newer = orch.update(old.id, "I live in Rome.", user_id="maya")
    assert newer is not None and "Rome" in newer.content
    _late_write(orch, "maya", old, token)
    assert "Paris" in orch.get(old.id, user_id="maya").content  # the damage
    found = {store.store: store for store in orch.check().stores}
    assert found["vector"].stale == [old.id] and not found["vector"].extra, found
    assert not found["history"].count, found  # not mistaken for a stale history
    repaired = orch.check(repair=True)
    assert repaired.repaired and repaired.consistent, repaired
    assert orch.get(old.id, user_id="maya").content == newer.content
    [entry] = [
        e for e in orch.run_sync(services_of(orch).keyword.entries("maya")) if e.memory_id == old.id
    ]
    assert entry.content == newer.content
    assert orch.check().consistent


def test_an_import_of_a_later_export_does_not_pass_for_a_newer_truth(
    orch: Orchestrator, tmp_path: Path, embedder
) -> None:
    """A store imports an export, the user changes a memory there, then a later export of
    the source (where the memory says something else) is imported: the memories both
    changed since are refused (nothing written), the rest imports, the store keeps its
    own current words, and a repair does not take the file's words for a newer truth."""
    orch.process("I live in Paris.", user_id="maya")
    [memory] = [r for r in orch.get_all(user_id="maya") if r.memory_type is MemoryType.SEMANTIC]
    first = tmp_path / "first.jsonl"
    orch.export_jsonl(first)
    orch.update(memory.id, "I live in Rome.", user_id="maya")
    later = tmp_path / "later.jsonl"
    orch.export_jsonl(later)
    other = Orchestrator(load_settings(data_dir=tmp_path / "other"), embedder=embedder)
    try:
        other.import_jsonl(first)
        other.update(memory.id, "I live in Lima.", user_id="maya")
        with pytest.raises(ImportRejectedError, match="does not continue"):
            other.import_jsonl(later)
        other.import_jsonl(later, skip_invalid=True)
        found = {store.store: store for store in other.check().stores}
        assert not found["vector"].count, found
        assert other.check(repair=True).consistent
        assert other.get(memory.id, user_id="maya").content == "I live in Lima."
        entries = other.run_sync(services_of(other).keyword.entries("maya"))
        assert [e.content for e in entries if e.memory_id == memory.id] == ["I live in Lima."]
    finally:
        other.close()


def test_an_entry_newer_than_its_history_is_still_trusted(orch: Orchestrator) -> None:
    """The other way round (the canonical entry written under a newer token than its last
    event, e.g. an event lost with an older layout): the canonical store stays the truth
    and the history is logged from it, as before tokens were kept."""
    orch.process("I live in Paris.", user_id="maya")
    [old] = [r for r in orch.get_all(user_id="maya") if r.memory_type is MemoryType.SEMANTIC]
    moved = old.model_copy(update={"content": "I live in Lima.", "content_hash": ""})
    moved = type(moved).model_validate(moved.model_dump())  # its hash made again
    _late_write(orch, "maya", moved, _token_now(orch, "maya") + 1)
    found = {store.store: store for store in orch.check().stores}
    assert found["history"].stale == [old.id] and not found["vector"].count, found
    assert orch.check(repair=True).consistent
    assert orch.get(old.id, user_id="maya").content == "I live in Lima."


def test_a_late_write_its_writer_lived_to_see_is_put_back_to_the_last_logged_event(
    orch: Orchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer of a late write that lives to see it restores the entries it wrote from
    the history log (`fence.LandedLate`, `writer.restore_vectors`): to the last event
    logged, also when the newer writer's clock was behind (its event's time earlier than
    the one before it)."""
    orch.process("I live in Paris.", user_id="maya")
    [old] = [r for r in orch.get_all(user_id="maya") if r.memory_type is MemoryType.SEMANTIC]
    token = _token_now(orch, "maya")
    clock = SystemClock.now
    with monkeypatch.context() as patch:
        patch.setattr(SystemClock, "now", lambda self: clock(self) - timedelta(seconds=60))
        newer = orch.update(old.id, "I live in Rome.", user_id="maya")
    _late_write(orch, "maya", old, token)
    assert _restore(orch, "maya", old.id) == 1
    assert orch.get(old.id, user_id="maya").content == newer.content
    assert orch.check().consistent


def _lives_in(orch: Orchestrator, user_id: str) -> MemoryBase:
    [fact] = [
        r
        for r in orch.get_all(user_id=user_id, include_superseded=True)
        if getattr(r, "attribute", None) == "lives_in"
    ]
    return fact


def _stored(orch: Orchestrator, memory_id: str) -> MemoryBase | None:
    found = orch.run_sync(services_of(orch).vector.get(MemoryType.SEMANTIC, [memory_id]))
    return found[0] if found else None


@pytest.mark.parametrize("how", ["deleted", "retracted"])
def test_a_late_write_over_a_deletion_or_a_retraction_is_undone_by_repair(
    orch: Orchestrator, how: str
) -> None:
    """A writer stops after its fence check, another deletes the memory (or the user takes
    it back: a retraction closes it and keeps it), then the first one's request lands and
    it dies: the canonical store holds the open fact again, with the older token. check()
    names it - extra after a deletion, stale after a retraction - and repair removes it, or
    puts back the closed record, instead of logging the late words as the truth."""
    orch.process("I live in Paris.", user_id="maya", timestamp=T0)
    old = _lives_in(orch, "maya")
    token = _token_now(orch, "maya")  # the writer that will land late
    if how == "deleted":
        orch.delete(old.id, user_id="maya")
    else:
        orch.process(
            "I don't live in Paris anymore.", user_id="maya", timestamp=T0 + timedelta(days=1)
        )
    truth = _stored(orch, old.id)
    assert (truth is None) == (how == "deleted") and (truth is None or not truth.is_current)
    _late_write(orch, "maya", old, token)
    assert orch.get(old.id, user_id="maya").is_current  # the damage: Paris is current again
    found = {store.store: store for store in orch.check().stores}
    if how == "deleted":
        assert found["vector"].extra == [old.id] and not found["vector"].stale, found
    else:
        assert found["vector"].stale == [old.id] and not found["vector"].extra, found
    assert not found["history"].count, found  # the late words are not logged as the truth
    repaired = orch.check(repair=True)
    assert repaired.repaired and repaired.consistent, repaired
    assert _stored(orch, old.id) == truth
    entries = orch.run_sync(services_of(orch).keyword.entries("maya"))
    assert [e.is_current for e in entries if e.memory_id == old.id] == (
        [] if how == "deleted" else [False]
    )
    assert [e.operation for e in orch.history(old.id)] == [Operation.ADD, Operation.DELETE]
    assert orch.check().consistent


def test_a_late_write_over_a_retraction_its_writer_lived_to_see_keeps_the_closed_record(
    orch: Orchestrator,
) -> None:
    """The writer of a late write over a retraction that lives to see it (`restore_vectors`)
    puts the closed record back: a retraction keeps the fact as history, in every store."""
    orch.process("I live in Paris.", user_id="maya", timestamp=T0)
    old = _lives_in(orch, "maya")
    token = _token_now(orch, "maya")
    orch.process("I don't live in Paris anymore.", user_id="maya", timestamp=T0 + timedelta(days=1))
    closed = _stored(orch, old.id)
    assert closed is not None and not closed.is_current
    _late_write(orch, "maya", old, token)
    assert _restore(orch, "maya", old.id) == 1
    assert _stored(orch, old.id) == closed
    assert orch.check().consistent


def test_a_memory_written_again_after_its_deletion_by_a_clock_behind_is_kept_by_repair(
    make_orch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file is ingested, removed from the folder (its memories deleted), then put back
    and ingested by a later process whose wall clock is an hour behind (embedded tokens
    start from it). The memories come back under their ids, their ADD events logged again
    (created anew), with older tokens than that DELETE. The keyword index and graph hold
    them (a late write lands in the vector store alone): repair keeps them."""
    folder = tmp_path / "vault"
    folder.mkdir()
    text = "# Keys\n\nThe spare key is under the blue heron statue.\n"
    (folder / "keys.md").write_text(text, encoding="utf-8")
    first = make_orch(data_dir=tmp_path / "data")
    assert first.ingest(folder, user_id="zoe").added == ["keys.md"]
    ids = sorted(r.id for r in first.get_all(user_id="zoe"))
    (folder / "keys.md").unlink()
    assert first.ingest(folder, user_id="zoe").removed == ["keys.md"]
    first.close()
    clock = SimpleNamespace(monotonic=time.monotonic, time_ns=lambda: time.time_ns() - 3600 * 10**9)
    monkeypatch.setattr(graph_common, "time", clock)
    second = make_orch(data_dir=tmp_path / "data")
    (folder / "keys.md").write_text(text, encoding="utf-8")
    assert second.ingest(folder, user_id="zoe").added == ["keys.md"]
    again = sorted(r.id for r in second.get_all(user_id="zoe"))
    latest = second.run_sync(services_of(second).history.latest("zoe"))
    assert [latest[i].operation for i in again if i in ids] == [Operation.ADD]
    assert not {s.store: s for s in second.check().stores}["vector"].count
    assert second.check(repair=True).consistent
    assert sorted(r.id for r in second.get_all(user_id="zoe")) == again


def test_a_late_write_over_a_retraction_logged_before_deletes_were_told_apart(
    orch: Orchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retraction logged by a version that did not say whether a DELETE removed the
    record (an older host in a rolling upgrade): a late write over it is put back to the
    closed record, by its writer and by repair - the other stores still hold the record,
    which tells a retraction from a deletion."""
    orch.process("I live in Paris.", user_id="maya", timestamp=T0)
    old = _lives_in(orch, "maya")
    token = _token_now(orch, "maya")
    with monkeypatch.context() as patch:  # the older version's writer: no flag logged
        patch.setattr(apply, "applied", lambda event, removed: event)
        orch.process("I don't live in Paris anymore.", user_id="maya", timestamp=T0 + DAY)
    assert orch.run_sync(services_of(orch).history.latest("maya"))[old.id].removed is None
    closed = _stored(orch, old.id)
    assert closed is not None and not closed.is_current
    _late_write(orch, "maya", old, token)
    found = {store.store: store for store in orch.check().stores}
    assert found["vector"].stale == [old.id], found
    _late_write(orch, "maya", old, token)
    assert _restore(orch, "maya", old.id) == 1
    assert _stored(orch, old.id) == closed
    _late_write(orch, "maya", old, token)
    assert orch.check(repair=True).consistent
    assert _stored(orch, old.id) == closed


def test_an_import_does_not_take_how_a_delete_was_applied_from_the_file(
    orch: Orchestrator, tmp_path: Path, embedder
) -> None:
    """A file that says a retraction removed its record (or carries a token): the import
    logs its events as neither, so the closed record it imports is never taken for a
    deletion's leftover."""
    orch.process("I live in Paris.", user_id="maya", timestamp=T0)
    old = _lives_in(orch, "maya")
    orch.process("I don't live in Paris anymore.", user_id="maya", timestamp=T0 + DAY)
    path = tmp_path / "export.jsonl"
    orch.export_jsonl(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    forged = 0
    for line in lines:
        for event in line.get("history") or []:
            if event.get("memory_id") == old.id and event.get("operation") == "DELETE":
                event.update(removed=True, fenced=10**15)
                forged += 1
    assert forged == 1
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    other = Orchestrator(load_settings(data_dir=tmp_path / "o"), embedder=embedder)
    try:
        other.import_jsonl(path)
        last = other.run_sync(services_of(other).history.latest("maya"))[old.id]
        assert (last.operation, last.removed, last.fenced) == (Operation.DELETE, None, None)
        assert other.check(repair=True).consistent
        kept = _stored(other, old.id)
        assert kept is not None and not kept.is_current
    finally:
        other.close()
