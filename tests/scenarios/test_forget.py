"""`forget`: after it, nothing of the user is left - on any API surface, and (embedded)
in any byte of any file under data_dir - while other users are untouched."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octomem import ForgetReport, Memory, Orchestrator
from octomem.embeddings import Embedder
from octomem.errors import InvalidInputError, NotFoundError
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings

ZOE = [
    "My name is Zoe. I love quuxberry pie.",
    "I live in Zanzibarville.",
    "I work at Flumberdyne Corp.",
    "I moved to Xanthopolis last week.",  # supersedes Zanzibarville
]
ZOE_HELPER = "I keep my bike at Quibbleton station."
BOB = ["I love banana bread.", "I live in Bobtown."]
# what is distinctive of zoe's text (stems too: the keyword index stores stemmed tokens)
# and a metadata key's name: Chroma keeps every key it saw in its collection's schema
SECRETS = ["quuxberr", "zanzibarvil", "flumberdyn", "xanthopol", "quibbleton", "yodelgrov"]
ALLERGY = {"yodelgrove_allergy": "peanuts"}


def _fill(orch: Orchestrator, *, suffix: str = "") -> None:
    for text in ZOE:
        orch.process(text, user_id=f"zoe{suffix}", session_id="s1", metadata=ALLERGY)
    tagged = {"metadata.yodelgrove_allergy": "peanuts"}  # found by the key's name
    assert len(orch.get_all(user_id=f"zoe{suffix}", filters=tagged)) >= len(ZOE)
    orch.process(ZOE_HELPER, user_id=f"zoe{suffix}", agent_id="helper")
    for text in BOB:
        orch.process(text, user_id=f"bob{suffix}")


def _leaks(data_dir: Path) -> dict[str, list[str]]:
    """Zoe's strings found in any file under data_dir (any case, UTF-8 and UTF-16)."""
    found: dict[str, list[str]] = {}
    for path in data_dir.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes().lower()
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if secret.encode(encoding) in data:
                    found.setdefault(str(path.relative_to(data_dir)), []).append(secret)
    return found


def _export(orch: Orchestrator, user_id: str | None = None) -> str:
    buffer = io.StringIO()
    orch.export_jsonl(buffer, user_id=user_id)
    return buffer.getvalue()


def _assert_zoe_gone(orch: Orchestrator, zoe: str, bob: str) -> None:
    assert orch.get_all(user_id=zoe, include_superseded=True) == []
    assert orch.recall("where does she live? pie", user_id=zoe).hits == []
    assert orch.recall("bike station", user_id=zoe, agent_id="helper").hits == []
    export = _export(orch).lower()
    assert not [s for s in SECRETS if s in export], "export still holds zoe's text"
    assert len(_export(orch, zoe).splitlines()) == 1  # the header, nothing else
    stats = orch.stats(user_id=zoe)
    assert stats.totals.model_dump() == {"memories": 0, "current": 0, "history_events": 0}
    assert stats.graph.relations == 0
    assert "Bobtown" in " ".join(orch.recall("where does bob live?", user_id=bob).texts())
    assert len(orch.get_all(user_id=bob)) >= 3


def test_forget_leaves_no_byte_of_the_user_on_disk(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    _fill(orch)
    ids = [m.id for m in orch.get_all(user_id="zoe", include_superseded=True)]
    assert any(m.valid_to is not None for m in orch.get_all(user_id="zoe", include_superseded=True))
    orch.delete(ids[0])  # a deleted memory's history is forgotten too

    report = orch.forget(user_id="zoe")

    assert isinstance(report, ForgetReport)
    assert report.total_memories == len(ids) - 1
    assert report.history_events >= len(ids) + 1  # every ADD, the SUPERSEDE, the DELETE
    assert report.graph_relations >= 2 and report.graph_entities >= 3
    for memory_id in ids:
        with pytest.raises(NotFoundError):
            orch.history(memory_id)
    _assert_zoe_gone(orch, "zoe", "bob")
    orch.close()

    assert _leaks(data_dir) == {}

    again = make_orch(data_dir=data_dir)  # reopens cleanly; bob is intact; zoe can return
    assert "Bobtown" in " ".join(again.recall("where does bob live?", user_id="bob").texts())
    assert again.check().consistent
    again.process("I live in Zanzibarville.", user_id="zoe")
    assert again.get_all(user_id="zoe")


def test_forget_is_idempotent_and_reports_nothing_the_second_time(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, zoe = shared_orch, uid("zoe")
    _fill(orch, suffix=zoe.removeprefix("zoe"))  # zoe and bob of this test's own
    first = orch.forget(user_id=zoe)
    second = orch.forget(user_id=zoe)
    assert first.total_memories > 0
    assert second.total_memories == 0 and second.history_events == 0
    assert second.graph_entities == 0 and second.keyword_entries == 0


def test_forget_one_agent_keeps_the_users_other_scopes(orch: Orchestrator) -> None:
    _fill(orch)
    before = orch.get_all(user_id="zoe", include_superseded=True)
    helper = [m for m in before if m.agent_id == "helper"]
    assert helper

    report = orch.forget(user_id="zoe", agent_id="helper")

    assert report.total_memories == len(helper)
    left = orch.get_all(user_id="zoe", include_superseded=True)
    assert {m.id for m in left} == {m.id for m in before} - {m.id for m in helper}
    assert "Xanthopolis" in " ".join(orch.recall("where does zoe live", user_id="zoe").texts())
    assert "quibbleton" not in _export(orch, "zoe").lower()
    # the entity "Zoe" is still used by her other memories: it stays
    assert orch.run_sync(services_of(orch).graph.find_entities("zoe", ["Zoe"]))
    assert orch.check().consistent


def test_an_interrupted_forget_is_completed_when_the_stores_are_reopened(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    _fill(orch)

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died here")

    # dies after the graph and keyword index, before the vector store and history
    monkeypatch.setattr(services_of(orch).vector, "delete", crash)
    with pytest.raises(RuntimeError):
        orch.forget(user_id="zoe")
    monkeypatch.undo()
    orch.close()

    reopened = make_orch(data_dir=data_dir)
    _assert_zoe_gone(reopened, "zoe", "bob")
    reopened.close()
    assert _leaks(data_dir) == {}


def test_reset_leaves_no_text_on_disk(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    _fill(orch)
    orch.reset()
    orch.close()
    assert _leaks(data_dir) == {}


def test_forget_validates_its_arguments(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, zoe = shared_orch, uid("zoe")
    with pytest.raises(InvalidInputError, match="user_id"):
        orch.forget(user_id=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        orch.forget(user_id="")
    with pytest.raises(InvalidInputError):
        orch.forget(user_id=zoe, agent_id=42)  # type: ignore[arg-type]


def test_memory_facade_forget(tmp_path: Path, embedder: Embedder) -> None:
    with Memory.from_config(data_dir=tmp_path / "m") as memory:
        memory.add("I live in Zanzibarville.", user_id="zoe")
        memory.add("I live in Bobtown.", user_id="bob")
        result = memory.forget(user_id="zoe")
        assert result["user_id"] == "zoe" and result["history_events"] >= 1
        assert memory.get_all(user_id="zoe")["results"] == []
        assert memory.get_all(user_id="bob")["results"]


def test_forget_in_server_mode(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> None:
    import uuid

    servers = server_stores
    suffix = uuid.uuid4().hex[:6]
    settings = load_settings(data_dir=tmp_path / "srv", **servers)
    with Orchestrator(settings, embedder=embedder) as orch:
        _fill(orch, suffix=suffix)
        zoe, bob = f"zoe{suffix}", f"bob{suffix}"
        bob_relations = orch.stats(user_id=bob).graph.relations
        report = orch.forget(user_id=zoe)
        assert report.total_memories >= len(ZOE) and report.graph_relations >= 2
        # the servers own their files (the history log and journal included): none rewritten
        assert not {"vector", "graph", "history", "journal"} & set(report.files_rewritten)
        _assert_zoe_gone(orch, zoe, bob)
        graph = services_of(orch).graph
        assert orch.run_sync(graph.relations(zoe)) == []
        assert orch.run_sync(graph.find_entities(zoe, ["Zoe", "Flumberdyne Corp"])) == []
        assert zoe not in set(orch.run_sync(graph.memory_ids()).values())
        assert orch.stats(user_id=bob).graph.relations == bob_relations
    assert json.dumps(report.model_dump(mode="json"))


def _log_rows(data_dir: Path, ids: set[str]) -> list[tuple[str, int, Any]]:
    import sqlite3

    database = sqlite3.connect(data_dir / "chroma" / "chroma.sqlite3")
    try:
        rows = database.execute("SELECT id, operation, metadata FROM embeddings_queue").fetchall()
    finally:
        database.close()
    return [row for row in rows if row[0] in ids]


def test_forget_leaves_no_id_of_the_user_in_chromas_write_log(
    make_orch: Any, tmp_path: Path
) -> None:
    """Chroma logs every write until it next saves its vector index; the forgotten ids'
    rows go from that log (not only their payloads), and new writes after the forget are
    still applied and found, before and after reopening (the log's numbering goes on)."""
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    _fill(orch)
    ids = {m.id for m in orch.get_all(user_id="zoe", include_superseded=True)}
    orch.forget(user_id="zoe")
    orch.process("I live in Neuville.", user_id="ann")
    assert "Neuville" in " ".join(m.content for m in orch.get_all(user_id="ann"))
    orch.close()
    assert _log_rows(data_dir, ids) == []
    again = make_orch(data_dir=data_dir)
    assert "Neuville" in " ".join(m.content for m in again.get_all(user_id="ann"))
    again.process("I work at Newco.", user_id="ann")
    assert "Newco" in " ".join(again.recall("where does ann work", user_id="ann").texts())
    assert again.check().consistent


def test_a_forgotten_id_in_a_saved_vector_index_keeps_only_a_bare_delete(
    make_orch: Any, tmp_path: Path
) -> None:
    """Past 1,000 writes Chroma saves the vector index; an id saved there keeps one
    payload-free delete in the log (a replay must remove it from the index), nothing else."""
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    turns = [{"role": "user", "content": f"Note {i}: quuxberry {i}."} for i in range(1100)]
    orch.process(turns, user_id="zoe", infer=False)
    ids = {m.id for m in orch.get_all(user_id="zoe", include_superseded=True)}
    orch.forget(user_id="zoe")
    orch.process("I live in Bobtown.", user_id="bob")
    orch.close()
    assert {(operation, metadata) for _, operation, metadata in _log_rows(data_dir, ids)} <= {
        (3, "{}")
    }
    assert _leaks(data_dir) == {}
    again = make_orch(data_dir=data_dir)
    assert again.get_all(user_id="zoe", include_superseded=True) == []
    assert again.recall("quuxberry note", user_id="zoe").hits == []
    assert "Bobtown" in " ".join(m.content for m in again.get_all(user_id="bob"))
    assert again.check().consistent


def test_a_user_whose_memories_were_all_deleted_is_listed_until_forgotten(
    orch: Orchestrator,
) -> None:
    """A delete keeps the memory's history: `users(include_history=True)` names the user
    it belongs to (0 memories), which `forget` would still erase, until it has."""
    orch.process("I keep my spare key under the quibbleton mat.", user_id="amy", infer=False)
    orch.process("I love banana bread.", user_id="bob", infer=False)
    orch.delete_all(user_id="amy")
    assert "amy" not in orch.users() and "amy" not in orch.users(include_superseded=True)
    listed = orch.users(include_history=True)
    assert listed["amy"] == 0 and listed["bob"] >= 1
    orch.forget(user_id="amy")
    assert "amy" not in orch.users(include_history=True)
    with pytest.raises(InvalidInputError, match="include_history"):
        orch.users(include_history="yes")  # type: ignore[arg-type]
