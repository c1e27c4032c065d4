"""Deployments on one Chroma server and one Bolt server: two deployments holding the same
user, the same texts and the same project names never see or touch each other's data -
`doctor` of one reports nothing of the other, its repairs and `reset` change nothing of
the other's - whether their hosts have data directories of their own or share one, and
whatever their names (a deployment name may look like another's name plus a project)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.models import ConsistencyReport
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings
from tests.project_isolation import (
    assert_clean,
    assert_erasing_one_leaves_others,
    assert_no_reach_by_id,
    assert_recall_finds_own,
    assert_same_content_other_ids,
    everything,
    fill,
    snapshot,
)
from tests.service_support import octomem

pytestmark = pytest.mark.integration


@pytest.fixture
def opened(tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder) -> Iterator[Any]:
    """Factory: an Orchestrator of a deployment (and project) on the shared servers."""
    orchs: list[Orchestrator] = []
    servers = {k: v for k, v in server_stores.items() if k != "deployment"}

    def make(deployment: str, data_dir: str, **overrides: Any) -> Orchestrator:
        settings = load_settings(
            data_dir=tmp_path / data_dir, deployment=deployment, **servers, **overrides
        )
        orchs.append(Orchestrator(settings, embedder=embedder))
        return orchs[-1]

    yield make
    for orch in orchs:
        orch.close()


def _names() -> tuple[str, str]:
    run = uuid.uuid4().hex[:8]
    return f"d{run}", f"e{run}"


@pytest.mark.parametrize("data_dirs", ["own", "shared"])
def test_deployments_on_shared_servers_stay_apart(
    opened: Callable[..., Orchestrator], data_dirs: str
) -> None:
    first, second = _names()
    deployments = {
        "first": opened(first, "a"),
        "second": opened(second, "b" if data_dirs == "own" else "a"),
    }
    fill(deployments)
    assert_same_content_other_ids(deployments)
    assert_recall_finds_own(deployments)
    assert_no_reach_by_id(deployments)
    assert_clean(deployments)
    assert_erasing_one_leaves_others(deployments, "first", "forget")
    fill({"first": deployments["first"]})
    assert_erasing_one_leaves_others(deployments, "second", "reset")
    fill({"second": deployments["second"]})
    assert_erasing_one_leaves_others(deployments, "first", "delete_all")


def test_a_deployment_named_like_another_plus_a_project_is_apart(
    opened: Callable[..., Orchestrator],
) -> None:
    """Deployment "<x>-p-y" (default project) and deployment "<x>" project "y"; and
    deployment "<x>-p" project "p-y" (a name that ends like the project marker)."""
    x = f"x{uuid.uuid4().hex[:8]}"
    orchs = {
        "plain": opened(f"{x}-p-y", "a"),
        "project": opened(x, "b", project="y"),
        "tail": opened(f"{x}-p", "c", project="p-y"),
        "tail2": opened(x, "d", project="p-p-y"),
    }
    fill(orchs)
    assert_same_content_other_ids(orchs)
    assert_clean(orchs)
    assert_erasing_one_leaves_others(orchs, "plain", "reset")


def _damage(orch: Orchestrator) -> set[str]:
    """Remove one memory's graph node and keyword entry: the doctor must find both."""
    [victim] = [r.id for r in everything(orch).values() if r.memory_type.value == "semantic"][:1]
    services = services_of(orch)
    orch.run_sync(services.graph.delete_memory(victim))
    orch.run_sync(services.keyword.delete([victim]))
    return {victim}


def test_doctor_and_repair_of_one_deployment_see_only_its_own(
    opened: Callable[..., Orchestrator], server_stores: dict[str, Any], tmp_path: Path
) -> None:
    first, second = _names()
    mine, theirs = opened(first, "a"), opened(second, "b")
    fill({"mine": mine, "theirs": theirs})
    damaged_mine, damaged_theirs = _damage(mine), _damage(theirs)

    assert _found(mine.check()) == damaged_mine  # nothing of the other deployment
    before = snapshot(theirs)

    repaired = mine.check(repair=True)
    assert repaired.repaired and repaired.remaining == 0
    assert snapshot(theirs) == before
    assert _found(theirs.check()) == damaged_theirs  # still exactly its own damage
    mine_after = snapshot(mine)

    # the command line, with the deployment from the environment
    config = tmp_path / "server.yaml"
    config.write_text(yaml.safe_dump({k: v for k, v in server_stores.items() if k != "deployment"}))
    env = {"OCTOMEM_DEPLOYMENT": second}
    args = ["doctor", "--json", "--config", str(config), "--data-dir", str(tmp_path / "b")]
    cli = json.loads(octomem(*args, env=env, check=False))
    cli_found = {i for s in cli["stores"] for i in (*s["missing"], *s["extra"], *s["stale"])}
    assert cli_found == damaged_theirs and not cli["consistent"]
    cli = json.loads(octomem(*args, "--repair", env=env, check=False))
    assert cli["remaining"] == 0
    assert theirs.check().consistent and mine.check().consistent
    assert snapshot(mine) == mine_after


def _found(report: ConsistencyReport) -> set[str]:
    return {i for s in report.stores for i in (*s.missing, *s.extra, *s.stale)}
