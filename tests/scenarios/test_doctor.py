"""`check()` / `octomem doctor`: every store against the canonical one, and the repair."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

from octomem import Orchestrator
from octomem.models import HistoryEvent, KnowledgeMemory, MemoryType, Operation, Relation
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.writer import DELETE_BATCH
from octomem.settings import load_settings
from tests.conftest import T0
from tests.servers import executable


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
    edges = orch.run_sync(services_of(orch).graph.relations("alice", include_invalid=True))
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
    orch = Orchestrator.from_settings(load_settings(data_dir=data), embedder=embedder)
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
    }
    fixed = doctor("--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert json.loads(fixed.stdout)["remaining"] == 0
    assert doctor().returncode == 0
    human = subprocess.run(
        [octomem, "doctor", "--data-dir", str(data)], capture_output=True, text=True, timeout=300
    )
    assert human.returncode == 0 and "consistent" in human.stdout
