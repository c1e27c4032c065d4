"""Memory types belong to each Orchestrator: two Orchestrators in one process, each with
its own custom agents and typed record classes - even a "recipe" type of the same name
with different record classes and id prefixes - through process, recall, export, import
and the Studio process graph, with `MemoryType` left as the eight built-ins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.agents import BaseAgent, ConflictPolicy, ExtractionContext
from octomem.agents.base import record_fields, user_turns
from octomem.embeddings import Embedder
from octomem.errors import ImportRejectedError, InvalidInputError, NotFoundError
from octomem.models import BUILTIN_TYPES, CustomMemory, MemoryBase, MemoryType, Turn
from octomem.settings import load_settings
from tests.conftest import T0

RECIPE, PLANT = MemoryType("recipe"), MemoryType("plant")
_RECIPE = re.compile(r"\bmy recipe for (\w+) is (.+?)(?:\.|$)", re.I)
_WATER = re.compile(r"\bI water the (\w+) every (\d+) days\b", re.I)


class Recipe(CustomMemory):
    """The kitchen's recipes: the dish and its ingredients, one by one."""

    dish: str
    ingredients: list[str]


class RecipeCard(CustomMemory):
    """The garden's recipes: another record class for a type of the same name."""

    dish: str
    method: str
    from_garden: bool = True


class Plant(CustomMemory):
    """How often a plant is watered: one current value per plant."""

    plant: str
    every_days: int


class KitchenRecipes(BaseAgent):
    memory_type = RECIPE
    record_type = Recipe
    id_prefix = "rcp"

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        found: list[MemoryBase] = []
        for turn, _ in user_turns(turns, ctx):
            if match := _RECIPE.search(turn.content):
                dish = match[1].lower()
                ingredients = [i.strip() for i in re.split(r",|\band\b", match[2]) if i.strip()]
                found.append(
                    Recipe(
                        id=ctx.memory_id(RECIPE, dish),
                        memory_type=RECIPE,
                        content=f"Recipe for {dish}: {', '.join(ingredients)}.",
                        dish=dish,
                        ingredients=ingredients,
                        **record_fields(turn, ctx, "kitchen"),
                    )
                )
        return found


class GardenRecipes(BaseAgent):
    memory_type = RECIPE  # the same name as the kitchen's, its own class and prefix
    record_type = RecipeCard

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        found: list[MemoryBase] = []
        for turn, _ in user_turns(turns, ctx):
            if match := _RECIPE.search(turn.content):
                dish = match[1].lower()
                found.append(
                    RecipeCard(
                        id=ctx.memory_id(RECIPE, dish),
                        memory_type=RECIPE,
                        content=f"Garden recipe for {dish}: {match[2]}.",
                        dish=dish,
                        method=match[2],
                        **record_fields(turn, ctx, "garden"),
                    )
                )
        return found


class Watering(BaseAgent):
    memory_type = PLANT
    record_type = Plant
    id_prefix = "plt"
    policy = ConflictPolicy.SUPERSEDE
    query_cue = re.compile(r"\bwater", re.I)

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        found: list[MemoryBase] = []
        for turn, _ in user_turns(turns, ctx):
            if match := _WATER.search(turn.content):
                plant, days = match[1].lower(), int(match[2])
                found.append(
                    Plant(
                        id=ctx.memory_id(PLANT, plant, days),
                        memory_type=PLANT,
                        content=f"The user waters the {plant} every {days} days.",
                        plant=plant,
                        every_days=days,
                        **record_fields(turn, ctx, "watering"),
                    )
                )
        return found

    def conflict_key(self, record: MemoryBase) -> str | None:
        return record.plant if isinstance(record, Plant) else None

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return False  # "every 3 days" and "every 5 days" read alike: a new value supersedes


@pytest.fixture
def kitchen(tmp_path: Path, embedder: Embedder) -> Iterator[Orchestrator]:
    settings = load_settings(data_dir=tmp_path / "kitchen")
    with Orchestrator(settings, embedder=embedder, agents=[KitchenRecipes()]) as orch:
        yield orch


@pytest.fixture
def garden(tmp_path: Path, embedder: Embedder) -> Iterator[Orchestrator]:
    settings = load_settings(data_dir=tmp_path / "garden")
    agents = [GardenRecipes(), Watering()]
    with Orchestrator(settings, embedder=embedder, agents=agents) as orch:
        yield orch


TALK = "My recipe for pancakes is flour, milk and eggs. I water the basil every 3 days."


def test_two_orchestrators_keep_their_own_types_through_process_and_recall(
    kitchen: Orchestrator, garden: Orchestrator
) -> None:
    assert list(MemoryType) == list(BUILTIN_TYPES)  # nothing was added to the enum

    cooked = kitchen.process(TALK, user_id="alice", timestamp=T0)
    grown = garden.process(TALK, user_id="alice", timestamp=T0)
    assert RECIPE in cooked.agents and PLANT not in cooked.agents
    assert PLANT not in cooked.operations  # the kitchen has no watering agent
    assert {RECIPE, PLANT} <= set(grown.agents)
    [kitchen_op] = cooked.operations[RECIPE]
    [garden_op] = grown.operations[RECIPE]
    [plant_op] = grown.operations[PLANT]
    # each Orchestrator's prefix: the kitchen's agent declares "rcp", the garden's none
    assert kitchen_op.memory_id.startswith("rcp_")
    assert garden_op.memory_id.startswith("recipe_")
    assert plant_op.memory_id.startswith("plt_")

    # read back as each Orchestrator's own record class, typed fields and all
    pancakes = kitchen.get(kitchen_op.memory_id)
    assert isinstance(pancakes, Recipe)
    assert pancakes.ingredients == ["flour", "milk", "eggs"]
    card = garden.get(garden_op.memory_id)
    assert isinstance(card, RecipeCard) and not isinstance(card, Recipe)
    assert (card.method, card.from_garden) == ("flour, milk and eggs", True)
    # an id of a type one Orchestrator does not have is no memory of its
    with pytest.raises(InvalidInputError, match="not one of"):
        kitchen.get_all(user_id="alice", memory_types=["plant"])
    with pytest.raises(NotFoundError, match="not an octomem memory id"):
        kitchen.history(plant_op.memory_id)

    hits = kitchen.recall("my pancakes recipe", user_id="alice").hits
    assert isinstance(hits[0].memory, Recipe) and hits[0].memory_type == RECIPE
    assert hits[0].memory.ingredients == ["flour", "milk", "eggs"]
    assert all(hit.memory_type != PLANT for hit in hits)
    hits = garden.recall("how often do I water the basil?", user_id="alice").hits
    assert isinstance(hits[0].memory, Plant) and hits[0].memory.every_days == 3
    hits = garden.recall("my pancakes recipe", user_id="alice", memory_types=["recipe"]).hits
    assert [type(h.memory) for h in hits] == [RecipeCard]

    # a custom type's conflict policy: a new value supersedes; the old value, said again,
    # is a new record whose id the Orchestrator makes with the agent's prefix
    for day, days in ((1, 5), (2, 3)):
        said = f"I water the basil every {days} days."
        garden.process(said, user_id="alice", timestamp=T0 + timedelta(days=day))
    plants = garden.get_all(user_id="alice", memory_types=["plant"], include_superseded=True)
    assert all(isinstance(p, Plant) and p.id.startswith("plt_") for p in plants)
    [current] = [p for p in plants if p.is_current]
    assert isinstance(current, Plant) and current.every_days == 3
    assert current.id != plant_op.memory_id and garden.get(current.id) == current
    assert sorted(p.every_days for p in plants if isinstance(p, Plant)) == [3, 3, 5]

    assert list(MemoryType) == list(BUILTIN_TYPES)


def test_each_studio_process_graph_runs_its_own_agents(
    kitchen: Orchestrator, garden: Orchestrator
) -> None:
    """The compiled process graph LangGraph Studio serves (`Orchestrator.process_graph`):
    each routes to its own custom agents and extracts their record classes."""
    inputs: dict[str, Any] = {"messages": [{"role": "user", "content": TALK}], "user_id": "bob"}
    states = {
        name: orch.run_sync(orch.process_graph.ainvoke(inputs))
        for name, orch in (("kitchen", kitchen), ("garden", garden))
    }
    assert states["kitchen"]["routing"]["recipe"] == "selected"
    assert "plant" not in states["kitchen"]["routing"]
    assert states["garden"]["routing"]["recipe"] == states["garden"]["routing"]["plant"]
    assert states["garden"]["routing"]["plant"] == "selected"
    classes = {
        name: sorted(
            type(c).__name__ for c in state["candidates"] if c.memory_type in (RECIPE, PLANT)
        )
        for name, state in states.items()
    }
    assert classes == {"kitchen": ["Recipe"], "garden": ["Plant", "RecipeCard"]}


def _memory_lines(path: Path, memory_type: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [x for x in lines if x["type"] == "memory" and x["memory_type"] == memory_type]


def test_export_and_import_keep_typed_records_and_refuse_unknown_types(
    kitchen: Orchestrator, garden: Orchestrator, tmp_path: Path, embedder: Embedder
) -> None:
    kitchen.process(TALK, user_id="alice", timestamp=T0)
    garden.process(TALK, user_id="alice", timestamp=T0)
    kitchen_file, garden_file = tmp_path / "kitchen.jsonl", tmp_path / "garden.jsonl"
    assert kitchen.export_jsonl(kitchen_file).by_type["recipe"] == 1
    exported = garden.export_jsonl(garden_file)
    assert exported.by_type["recipe"] == exported.by_type["plant"] == 1
    [line] = _memory_lines(kitchen_file, "recipe")
    assert line["record"]["ingredients"] == ["flour", "milk", "eggs"]  # the typed fields
    [line] = _memory_lines(garden_file, "plant")
    assert line["record"]["every_days"] == 3

    # into a new Orchestrator with the kitchen's agent: the same typed records, same ids
    settings = load_settings(data_dir=tmp_path / "kitchen-copy")
    with Orchestrator(settings, embedder=embedder, agents=[KitchenRecipes()]) as copy:
        assert copy.import_jsonl(kitchen_file).by_type["recipe"] == 1
        [original] = kitchen.get_all(user_id="alice", memory_types=["recipe"])
        [restored] = copy.get_all(user_id="alice", memory_types=["recipe"])
        assert isinstance(restored, Recipe) and restored == original
        hits = copy.recall("my pancakes recipe", user_id="alice").hits
        assert isinstance(hits[0].memory, Recipe)

        # the garden's plants are a type the kitchen has no agent of: refused by name,
        # and nothing is imported
        with pytest.raises(ImportRejectedError) as refused:
            copy.import_jsonl(garden_file)
        assert isinstance(refused.value, InvalidInputError)
        assert "memory type 'plant' is not one this Orchestrator knows" in str(refused.value)
        assert copy.get_all(user_id="alice", memory_types=["recipe"]) == [restored]
        # the garden's recipes have the kitchen's type name but not its record class (nor
        # its id prefix): refused too
        rejected = {r.id: r.reason for r in refused.value.rejected}
        [garden_recipe] = _memory_lines(garden_file, "recipe")
        assert "is not valid" in rejected[garden_recipe["id"]]

        # skip_invalid imports the rest (the turns, facts and graph) and names what it left
        summary = copy.import_jsonl(garden_file, skip_invalid=True)
        assert summary.rejected_count == 2
        assert any("'plant'" in r.reason for r in summary.rejected)
        assert "plant" not in summary.by_type and summary.by_type.get("episodic", 0) > 0

    assert list(MemoryType) == list(BUILTIN_TYPES)


def test_an_agents_record_of_another_class_is_refused_before_it_is_written(
    tmp_path: Path, embedder: Embedder
) -> None:
    class Untyped(KitchenRecipes):
        """Declares Recipe, returns plain CustomMemory records."""

        def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
            return [
                CustomMemory.model_validate(r.model_dump(exclude={"ingredients"}))
                for r in super().extract(turns, ctx)
            ]

    settings = load_settings(data_dir=tmp_path / "om")
    with Orchestrator(settings, embedder=embedder, agents=[Untyped()]) as orch:
        with pytest.raises(InvalidInputError, match="is a CustomMemory, not a Recipe"):
            orch.process(TALK, user_id="alice", timestamp=T0)
        assert orch.get_all(user_id="alice", memory_types=["recipe"]) == []
