"""Server mode end to end, configured the way a deployment is: `configs/server.yaml` plus
`OCTOMEM_*` environment variables pointing at a Chroma server and a Bolt server (the ones
the tests start). The demo conversation goes in; recall answers from the servers; a
second host (another data directory, the same id key) sees the same memories; forget
removes the user from both servers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.demo import load_sample, run_demo
from octomem.models import MemoryType, SemanticMemory
from octomem.orchestrator.internals import services_of
from octomem.settings import ChromaHttp, Neo4jConfig
from tests.invariants import relations_of

pytestmark = pytest.mark.integration

SERVER_YAML = Path(__file__).resolve().parents[2] / "configs" / "server.yaml"


@pytest.fixture
def server_env(
    server_stores: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    vector, graph = server_stores["vector"], server_stores["graph"]
    for name, value in {
        "OCTOMEM_DATA_DIR": str(tmp_path / "host-a"),
        "OCTOMEM_ID_KEY": server_stores["id_key"],
        "OCTOMEM_DEPLOYMENT": server_stores["deployment"],
        "OCTOMEM_VECTOR__HOST": vector["host"],
        "OCTOMEM_VECTOR__PORT": str(vector["port"]),
        "OCTOMEM_VECTOR__COLLECTION_PREFIX": vector["collection_prefix"],
        "OCTOMEM_GRAPH__URI": graph["uri"],
        "OCTOMEM_GRAPH__USER": graph["user"],
        "OCTOMEM_GRAPH__PASSWORD": graph["password"],
        "OCTOMEM_GRAPH__DATABASE": graph["database"],
    }.items():
        monkeypatch.setenv(name, value)
    yield


def _sample() -> dict[str, Any]:
    sample = load_sample()
    sample["user_id"] = f"alice-{uuid.uuid4().hex[:8]}"  # the Bolt server is shared
    return sample


def _answer(orch: Orchestrator, user_id: str, query: str, top: int = 3) -> str:
    hits = orch.recall(query, user_id=user_id).hits[:top]
    return " | ".join(hit.memory.content for hit in hits)


def test_the_demo_conversation_on_chroma_and_bolt_servers(
    server_env: None, tmp_path: Path, embedder: Any
) -> None:
    sample = _sample()
    user = sample["user_id"]
    with Orchestrator.from_config(SERVER_YAML) as orch:
        assert isinstance(orch.settings.vector, ChromaHttp)
        assert isinstance(orch.settings.graph, Neo4jConfig)
        report = run_demo(orch, sample)
        assert not any(result.errors for _, result in report.processed)
        assert "Berlin" in _answer(orch, user, "Where does Alice live?", top=1)
        assert "Flash it over USB" in _answer(orch, user, "How do I deploy the robot firmware?")
        assert "Google" in _answer(orch, user, "Where does Maria work?", top=1)
        homes = [
            r
            for r in orch.get_all(user_id=user, memory_types=["semantic"], include_superseded=True)
            if isinstance(r, SemanticMemory) and r.attribute == "lives_in" and r.subject == "user"
        ]
        assert sorted((r.value, r.is_current) for r in homes) == [
            ("Berlin", True),
            ("Paris", False),
        ]
        current = next(r for r in homes if r.is_current)
        assert [e.operation.value for e in orch.history(current.id, user_id=user)] == ["ADD"]
        edges = orch.run_sync(relations_of(services_of(orch).graph, user, predicate="LIVES_IN"))
        homes_said = [e.fact for e in edges if "Maria" not in e.fact]  # the user's own
        assert len(homes_said) == 1 and "Berlin" in homes_said[0]
        said = [{"role": "user", "content": "I love opera.", "id": "msg-opera"}]
        assert orch.process(said, user_id=user, session_id="s9").all_operations()
        counts = {t: len(orch.get_all(user_id=user, memory_types=[t])) for t in MemoryType}

    # a second host: its own data directory, the same servers and id key
    other = tmp_path / "host-b"
    with Orchestrator.from_config(SERVER_YAML, data_dir=other) as host_b:
        assert {t: len(host_b.get_all(user_id=user, memory_types=[t])) for t in MemoryType} == (
            counts
        )
        assert "Berlin" in _answer(host_b, user, "Where does Alice live?", top=1)
        again = host_b.process(said, user_id=user, session_id="s9")  # a retry, on host b
        assert all(op.operation.value == "NOOP" for op in again.all_operations())  # same ids
        assert {t: len(host_b.get_all(user_id=user, memory_types=[t])) for t in MemoryType} == (
            counts
        )
        report = host_b.forget(user_id=user)
        assert report.total_memories >= sum(counts.values())
        assert host_b.get_all(user_id=user, include_superseded=True) == []
        assert host_b.run_sync(services_of(host_b).graph.relations(user)) == []
