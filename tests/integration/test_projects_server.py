"""Projects in server mode: Orchestrators of projects "default", "a" and "b" on one Chroma
server and one Bolt graph server (and one data directory), sharing one id key, holding
the same user and the same texts. No project shares an id with another, reads another's
memories, or loses anything when another forgets, resets or imports
(`tests/project_isolation.py`)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.settings import load_settings
from tests.project_isolation import (
    USER,
    assert_clean,
    assert_erasing_one_leaves_others,
    assert_export_is_own,
    assert_no_reach_by_id,
    assert_recall_finds_own,
    assert_same_content_other_ids,
    everything,
    fill,
    snapshot,
    write_interleaved,
)

pytestmark = pytest.mark.integration
SHARED = ("default",)  # other tests' memories are in its graph namespace too


@pytest.fixture
def projects(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> Iterator[dict[str, Orchestrator]]:
    """The default project and two of this test's own ("a-<run>", "b-<run>": other tests
    on the servers use "a" and "b" too)."""
    run = uuid.uuid4().hex[:8]
    orchs: dict[str, Orchestrator] = {}
    try:
        for name in ("default", "a", "b"):
            project = "default" if name == "default" else f"{name}-{run}"
            settings = load_settings(data_dir=tmp_path / "om", project=project, **server_stores)
            orchs[name] = Orchestrator(settings, embedder=embedder)
        yield orchs
    finally:
        for orch in orchs.values():
            orch.close()


def test_projects_on_shared_servers_stay_apart(projects: dict[str, Orchestrator]) -> None:
    fill(projects)
    assert_same_content_other_ids(projects)
    assert_recall_finds_own(projects)
    assert_no_reach_by_id(projects)
    assert_export_is_own(projects)
    assert_clean(projects, SHARED)
    assert_erasing_one_leaves_others(projects, "a", "forget", SHARED)
    assert_erasing_one_leaves_others(projects, "default", "delete_all", SHARED)
    assert_erasing_one_leaves_others(projects, "b", "reset", SHARED)


def test_an_export_moves_to_another_project_on_the_same_servers(
    projects: dict[str, Orchestrator],
) -> None:
    """The import keeps the ids: the same ids then live in two projects of one graph
    server and one Chroma server, and each project's forget removes only its own."""
    fill({"a": projects["a"]})
    buffer = io.StringIO()
    projects["a"].export_jsonl(buffer)
    projects["b"].import_jsonl(io.StringIO(buffer.getvalue()))
    assert everything(projects["b"]) == everything(projects["a"])
    assert snapshot(projects["b"]) == snapshot(projects["a"])
    assert_clean(projects, SHARED)
    before = snapshot(projects["a"])
    projects["b"].forget(user_id=USER)
    assert everything(projects["b"]) == {}
    assert snapshot(projects["a"]) == before
    assert_clean(projects, SHARED)


def test_interleaved_writes_on_shared_servers(projects: dict[str, Orchestrator]) -> None:
    write_interleaved(projects, notes=3)
    assert_clean(projects, SHARED)
