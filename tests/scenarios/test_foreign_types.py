"""Stores shared by Orchestrators with different agents: one without the kitchen's recipe
agent still forgets a user's recipes completely, resets them, counts and exports them,
and its doctor neither reports them as damage nor "repairs" their index entries away."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.errors import StoreError
from octomem.models import MemoryType
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings
from tests.conftest import T0
from tests.scenarios.test_memory_types import RECIPE, KitchenRecipes

SECRET = "saffronquux"  # a word only alice's recipe holds
TALK = f"My recipe for paella is rice, {SECRET} and prawns."


def _open(data: Path, embedder: Embedder, *, kitchen: bool) -> Orchestrator:
    agents = {"agents": [KitchenRecipes()]} if kitchen else {}
    return Orchestrator(load_settings(data_dir=data), embedder=embedder, **agents)


def _files_holding(root: Path, word: str) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and word.encode() in path.read_bytes()
    ]


def _kitchen_with_recipes(data: Path, embedder: Embedder) -> dict[str, str]:
    """Alice's and bob's recipes, written by an Orchestrator with the recipe agent; their
    ids by user."""
    ids = {}
    with _open(data, embedder, kitchen=True) as kitchen:
        for user in ("alice", "bob"):
            said = TALK if user == "alice" else "My recipe for soup is leeks and stock."
            [op] = kitchen.process(said, user_id=user, timestamp=T0).operations[RECIPE]
            ids[user] = op.memory_id
    return ids


def _traces(orch: Orchestrator, memory_id: str) -> dict[str, bool]:
    orch.open()  # completes what the journal holds first
    services = services_of(orch)
    run: Callable = orch.run_sync
    return {
        "vector": bool(run(services.vector.get(RECIPE, [memory_id]))),
        "keyword": memory_id in {e.memory_id for e in run(services.keyword.entries())},
        "graph": memory_id in run(services.graph.memory_ids()),
        "history": bool(run(services.history.for_memory(memory_id))),
    }


def test_forget_through_an_orchestrator_without_the_agent_leaves_no_trace(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "om"
    ids = _kitchen_with_recipes(data, embedder)
    assert _files_holding(data, SECRET)  # the secret is on disk before the forget

    with _open(data, embedder, kitchen=False) as plain:
        assert RECIPE not in services_of(plain).types
        report = plain.forget(user_id="alice")
        assert report.memories[RECIPE] == 1
        assert report.total_memories >= 2  # the recipe and the turn it came from
        assert plain.forget(user_id="alice").total_memories == 0  # nothing left to find

    assert _files_holding(data, SECRET) == []  # not in any store's files, logs or pages
    with _open(data, embedder, kitchen=True) as kitchen:
        assert _traces(kitchen, ids["alice"]) == dict.fromkeys(
            ("vector", "keyword", "graph", "history"), False
        )
        assert kitchen.get_all(user_id="alice", include_superseded=True) == []
        # bob's recipe is untouched, in every store
        assert all(_traces(kitchen, ids["bob"]).values())
        [hit, *_] = kitchen.recall("my soup recipe", user_id="bob").hits
        assert hit.memory.id == ids["bob"]
        assert kitchen.check().consistent


def test_doctor_stats_and_export_count_another_orchestrators_types(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "om"
    ids = _kitchen_with_recipes(data, embedder)

    with _open(data, embedder, kitchen=False) as plain:
        report = plain.check()
        assert report.consistent, report.stores  # their index entries are not damage
        assert report.foreign == {"recipe": 2}
        repaired = plain.check(repair=True)
        assert repaired.consistent and repaired.remaining == 0
        stats = plain.stats()
        assert stats.memories["recipe"].current == 2
        assert stats.history_events["recipe"] == 2
        out = tmp_path / "all.jsonl"
        summary = plain.export_jsonl(out)
        assert summary.by_type["recipe"] == 2
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        [alice_recipe] = [x for x in lines if x.get("id") == ids["alice"]]
        assert alice_recipe["record"]["ingredients"] == ["rice", SECRET, "prawns"]
        assert alice_recipe["history"]  # with its history, as any memory

    with _open(data, embedder, kitchen=True) as kitchen:  # the repair took nothing away
        for memory_id in ids.values():
            assert all(_traces(kitchen, memory_id).values())
        copy_settings = load_settings(data_dir=tmp_path / "copy")
    with Orchestrator(copy_settings, embedder=embedder, agents=[KitchenRecipes()]) as copy:
        assert copy.import_jsonl(out).by_type["recipe"] == 2  # the export is a whole backup
        [restored] = copy.get_all(user_id="alice", memory_types=["recipe"])
        assert restored.ingredients == ["rice", SECRET, "prawns"]  # type: ignore[attr-defined]


def test_reset_through_an_orchestrator_without_the_agent_removes_every_type(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "om"
    _kitchen_with_recipes(data, embedder)
    with _open(data, embedder, kitchen=False) as plain:
        plain.reset()
        assert plain.check().foreign == {}
    assert _files_holding(data, SECRET) == []
    with _open(data, embedder, kitchen=True) as kitchen:
        assert kitchen.get_all(user_id="alice", memory_types=[MemoryType("recipe")]) == []


def _cut_short_recipe_write(data: Path, embedder: Embedder) -> str:
    """Alice's recipe, journaled but cut short before the vector store took it; its id."""
    with _open(data, embedder, kitchen=True) as kitchen:
        services = services_of(kitchen)
        upsert = services.vector.upsert

        async def failing(memory_type: MemoryType, *args: object, **kwargs: object) -> None:
            if memory_type == RECIPE:
                raise StoreError("the disk went away")
            await upsert(memory_type, *args, **kwargs)  # type: ignore[arg-type]

        services.vector.upsert = failing  # type: ignore[method-assign]
        with pytest.raises(StoreError, match="the disk went away"):
            kitchen.process(TALK, user_id="alice", timestamp=T0)
        [intent] = kitchen.run_sync(services.journal.pending())
        [recipe] = [c.record for c in intent.writes if c.record.memory_type == RECIPE]
        services.vector.upsert = upsert  # type: ignore[method-assign]
        # closed without completing it, as a crash would leave it
        services.journal.finish = _never  # type: ignore[method-assign]
    return recipe.id


async def _never(intent_id: str, **kwargs: object) -> None:
    raise AssertionError("nothing may finish the intent")


def test_a_cut_short_write_of_another_orchestrators_type_waits_for_it(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "om"
    recipe_id = _cut_short_recipe_write(data, embedder)
    with _open(data, embedder, kitchen=False) as plain:  # opens, leaves the write alone
        assert plain.recover() == 0
        plain.process("I live in Lisbon.", user_id="alice", timestamp=T0)  # alice's lock
        assert plain.check().pending_writes == 1
    with _open(data, embedder, kitchen=True) as kitchen:  # completes it on opening
        assert all(_traces(kitchen, recipe_id).values())
        assert kitchen.check().consistent


def test_forget_drops_a_cut_short_write_of_another_orchestrators_type(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "om"
    recipe_id = _cut_short_recipe_write(data, embedder)
    with _open(data, embedder, kitchen=False) as plain:
        plain.forget(user_id="alice")
        assert plain.check().pending_writes == 0
    assert _files_holding(data, SECRET) == []
    with _open(data, embedder, kitchen=True) as kitchen:  # nothing comes back
        assert not any(_traces(kitchen, recipe_id).values())
        assert kitchen.get_all(user_id="alice", include_superseded=True) == []
