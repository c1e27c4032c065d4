"""In server mode the app host's data directory holds caches only - after a process and a
recall it holds no file at all - and deleting it between two calls (the Orchestrator
closed, a new one opened on the fresh, empty directory) changes no answer: recall (ids
and provenance), history, stats, and the ids and operations of a retried call."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.models import ProcessResult
from octomem.settings import load_settings

pytestmark = pytest.mark.integration
USER = "alice"
TALK = [
    {"role": "user", "content": "Hi, I'm Alice. I live in Paris and I love jazz."},
    {"role": "user", "content": "My sister Zoltana plays the theremin on Tuesdays."},
]
MOVE = "I moved to Lisbon."
QUERIES = ("Where does Alice live?", "theremin", "Who is Zoltana?")


def _answers(orch: Orchestrator) -> dict[str, Any]:
    """Everything a caller can see of the user."""
    records = {r.id: r for r in orch.get_all(user_id=USER, include_superseded=True)}
    recalls = {}
    for query in QUERIES:
        result = orch.recall(query, user_id=USER)
        recalls[query] = (
            [
                (hit.id, sorted((p.agent.value, p.retriever, p.rank) for p in hit.provenance))
                for hit in result.hits
            ],
            [block.id for block in result.core],
        )
    return {
        "records": records,
        "history": {i: [e.model_dump() for e in orch.history(i)] for i in records},
        "stats": orch.stats(user_id=USER),
        "recall": recalls,
    }


def test_deleting_a_hosts_data_directory_changes_nothing(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> None:
    servers = {k: v for k, v in server_stores.items() if k != "id_key"}  # the server's key
    settings = load_settings(data_dir=tmp_path / "host", **servers)

    first = Orchestrator(settings, embedder=embedder)
    first.process(TALK, user_id=USER, session_id="s1")
    first.process(MOVE, user_id=USER, session_id="s2")
    retried = _outcome(first.process(TALK, user_id=USER, session_id="s1"))  # a retry
    before = _answers(first)
    first.close()
    assert [f for f in (tmp_path / "host").rglob("*") if f.is_file()] == []  # nothing kept

    shutil.rmtree(tmp_path / "host")
    second = Orchestrator(settings, embedder=embedder)
    try:
        assert _answers(second) == before
        assert _outcome(second.process(TALK, user_id=USER, session_id="s1")) == retried
        assert _answers(second) == before
    finally:
        second.close()


def _outcome(result: ProcessResult) -> tuple[object, ...]:
    """What a call answered: its operations (with ids) and its turns' ids."""
    ops = sorted(
        (op.operation.value, op.memory_type.value, op.memory_id) for op in result.all_operations()
    )
    return ops, result.turn_memory_ids
