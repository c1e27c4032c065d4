"""Projects on the embedded defaults: Orchestrators of projects "default", "a" and "b" on
ONE data directory, the same user and the same texts in each, and no project reaches,
finds, changes or erases anything of another (`tests/project_isolation.py`; the same
checks on the servers are in tests/integration/test_projects_server.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from octomem import ConfigurationError, Orchestrator
from octomem.cli import app
from octomem.embeddings import Embedder
from octomem.id_key import resolve_id_key
from octomem.settings import load_settings
from tests.project_isolation import (
    USER,
    assert_clean,
    assert_erasing_one_leaves_others,
    assert_export_is_own,
    assert_no_reach_by_id,
    assert_recall_finds_own,
    assert_same_content_other_ids,
    contents,
    everything,
    fill,
    snapshot,
    write_interleaved,
)

PROJECTS = ("default", "a", "b")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "om"


@pytest.fixture
def projects(data_dir: Path, embedder: Embedder) -> Iterator[dict[str, Orchestrator]]:
    orchs: dict[str, Orchestrator] = {}
    try:
        for project in PROJECTS:
            settings = load_settings(data_dir=data_dir, project=project)
            orchs[project] = Orchestrator(settings, embedder=embedder)
        yield orchs
    finally:
        for orch in orchs.values():
            orch.close()


@pytest.fixture
def filled(projects: dict[str, Orchestrator]) -> dict[str, Orchestrator]:
    fill(projects)
    return projects


def test_each_project_has_files_of_its_own(filled: dict[str, Orchestrator], data_dir: Path):
    # the default project keeps data_dir itself, as before projects
    assert {"keyword.sqlite", "history.sqlite", "journal.sqlite", "chroma", "graph"} <= {
        p.name for p in data_dir.iterdir()
    }
    keys = {(data_dir / "id.key").read_text()}
    for project in ("a", "b"):
        folder = data_dir / "projects" / project
        assert filled[project].settings.store_dir == folder
        for name in ("keyword.sqlite", "history.sqlite", "journal.sqlite", "chroma", "graph"):
            assert (folder / name).exists(), (project, name)
        keys.add((folder / "id.key").read_text())
    assert len(keys) == 3  # every project its own id key


def test_same_user_and_text_give_the_same_content_under_other_ids(
    filled: dict[str, Orchestrator],
) -> None:
    assert_same_content_other_ids(filled)


def test_no_project_reaches_another_projects_ids(filled: dict[str, Orchestrator]) -> None:
    assert_no_reach_by_id(filled)


def test_recall_finds_only_the_projects_own_memories(filled: dict[str, Orchestrator]) -> None:
    assert_recall_finds_own(filled)


def test_stats_and_doctor_see_only_their_project(filled: dict[str, Orchestrator]) -> None:
    before = {name: orch.stats() for name, orch in filled.items()}
    assert before["a"] == before["b"] == before["default"]
    filled["b"].process("I also play the cello.", user_id=USER, session_id="s3")
    filled["b"].process("Hi, I'm Carol.", user_id="carol", session_id="s1")
    after = {name: orch.stats() for name, orch in filled.items()}
    assert after["a"] == before["a"] and after["default"] == before["default"]
    assert after["b"].totals.memories > before["b"].totals.memories
    assert after["b"].users == before["b"].users + 1
    assert filled["a"].get_all(user_id="carol") == []
    assert_clean(filled)


def test_export_holds_its_project_only_and_imports_into_another(
    filled: dict[str, Orchestrator], data_dir: Path, embedder: Embedder
) -> None:
    exports = assert_export_is_own(filled)
    header = json.loads(exports["a"].splitlines()[0])
    assert "project" not in header  # nothing in the lines ties them to a project
    settings = load_settings(data_dir=data_dir, project="c")
    with Orchestrator(settings, embedder=embedder) as moved:
        moved.import_jsonl(io.StringIO(exports["a"]))
        # a migration: the same memories, ids and history, in the other project
        assert everything(moved) == everything(filled["a"])
        assert snapshot(moved)[1] == snapshot(filled["a"])[1]
        assert contents(moved) == contents(filled["b"])
        assert_clean({**filled, "c": moved})
        moved.forget(user_id=USER)
        assert everything(filled["a"])  # the source keeps its memories


@pytest.mark.parametrize("how", ["delete_all", "forget", "reset"])
@pytest.mark.parametrize("erase", ["a", "default"])
def test_erasing_in_one_project_leaves_the_others(
    filled: dict[str, Orchestrator], erase: str, how: str
) -> None:
    assert_erasing_one_leaves_others(filled, erase, how)


def test_interleaved_writes_to_several_projects_stay_apart(
    projects: dict[str, Orchestrator],
) -> None:
    write_interleaved(projects)
    assert_clean(projects)


def test_the_cli_opens_the_project_it_is_given(
    filled: dict[str, Orchestrator], data_dir: Path
) -> None:
    runner = CliRunner()
    for command in ("process", "search", "get", "list", "history", "update", "delete"):
        assert "--project" in runner.invoke(app, [command, "--help"]).output, command
    for command in ("forget", "export", "import", "stats", "doctor", "mcp", "demo"):
        assert "--project" in runner.invoke(app, [command, "--help"]).output, command
    for project in ("a", "b"):
        done = runner.invoke(
            app, ["list", "-u", USER, "--project", project, "--data-dir", str(data_dir), "--json"]
        )
        assert done.exit_code == 0, done.output
        listed = {record["id"] for record in json.loads(done.stdout)}
        current = {i for i, r in everything(filled[project]).items() if r.is_current}
        assert listed == current
    bad = runner.invoke(app, ["list", "--project", "../x", "--data-dir", str(data_dir)])
    assert bad.exit_code != 0 and "project" in str(bad.exception)


def test_id_keys_differ_per_project_and_agree_across_hosts(tmp_path: Path) -> None:
    key = "shared-secret-" + "s" * 32

    def id_key(host: str, **overrides: Any) -> bytes | None:
        return resolve_id_key(load_settings(data_dir=tmp_path / host, **overrides))

    acme = id_key("h1", id_key=key, project="acme")
    assert acme == id_key("h2", id_key=key, project="acme")  # hosts sharing the servers
    assert len({acme, id_key("h1", id_key=key, project="other"), key.encode()}) == 3
    assert id_key("h1", id_key=key) == key.encode()  # the default project: the key itself
    # server stores with the key file copied into data_dir (no id_key): a project derives
    # its key from that file, as hosts with id_key set do
    server = {"vector": {"provider": "chroma", "mode": "http", "port": 9}}
    (tmp_path / "h3").mkdir()
    (tmp_path / "h3" / "id.key").write_text(key + "\n")
    assert id_key("h3", project="acme", **server) == acme
    stores = load_settings(data_dir=tmp_path / "h3", project="acme", **server).store_dir
    stores.mkdir(parents=True)
    (stores / "history.sqlite").touch()  # reopened once it holds stores: the same key
    assert id_key("h3", project="acme", **server) == acme
    with pytest.raises(ConfigurationError, match="OCTOMEM_ID_KEY"):
        id_key("h4", project="acme", **server)
