"""A custom agent plugged into an Orchestrator: its own memory type, extracted by process,
found by recall, listed by get_all and shown by the Studio process graph."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from octomem import Orchestrator
from octomem.agents import AgentPrompt, BaseAgent, ExtractionContext
from octomem.agents.base import ConflictPolicy, RecallPort, read_turns, record_fields
from octomem.embeddings import Embedder
from octomem.llm_schema import LLMOutput
from octomem.models import CustomMemory, MemoryBase, MemoryType, Turn
from octomem.orchestrator import lifecycle, studio
from octomem.orchestrator.process.graph import build_process_graph
from octomem.plans import RankedList, RecallPlan
from octomem.prompts.reconcile import DecisionOutput
from octomem.settings import load_settings
from octomem.testing import ScriptedModel, ScriptedRequest
from tests.conftest import T0

_RECIPE = re.compile(r"\bmy recipe for ([\w ]+?) is (.+?)(?:\.|$)", re.I)


def recipe_agent(with_prompt: AgentPrompt | None = None) -> BaseAgent:
    """An agent of the "recipe" memory type: "my recipe for X is Y" becomes a recipe;
    `with_prompt`: its LLM prompt."""
    recipe = MemoryType("recipe")

    class RecipeAgent(BaseAgent):
        memory_type = recipe
        record_type = CustomMemory
        id_prefix = "rcp"
        prompt = with_prompt
        query_cue = re.compile(r"\b(recipes?|cook(ing)?)\b", re.I)

        def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
            found: list[MemoryBase] = []
            for turn, reading in zip(turns, read_turns(turns, ctx), strict=True):
                if turn.role != "user" or not (match := _RECIPE.search(turn.content)):
                    continue
                dish, steps = match[1].strip(), match[2].strip()
                who = reading.user_name or "The user"
                found.append(
                    CustomMemory(
                        id=ctx.memory_id(recipe, dish.lower()),
                        memory_type=recipe,
                        content=f"{who}'s recipe for {dish}: {steps}.",
                        attributes={"dish": dish, "steps": steps},
                        **record_fields(turn, ctx, "recipe"),
                    )
                )
            return found

    return RecipeAgent()


class Recipe(BaseModel):
    dish: str
    steps: str


class RecipeOutput(LLMOutput):
    recipes: list[Recipe] = Field(default_factory=list)


def recipe_records(
    output: BaseModel, turns: Sequence[Turn], ctx: ExtractionContext
) -> list[MemoryBase]:
    assert isinstance(output, RecipeOutput)
    recipe = MemoryType("recipe")
    return [
        CustomMemory(
            id=ctx.memory_id(recipe, item.dish.lower()),
            memory_type=recipe,
            content=f"Recipe for {item.dish}: {item.steps}",
            attributes=item.model_dump(),
            **record_fields(turns[-1], ctx, "recipe"),
        )
        for item in output.recipes
    ]


def test_custom_agent_end_to_end(tmp_path: Path, embedder: Embedder) -> None:
    agent = recipe_agent()
    orch = Orchestrator(load_settings(data_dir=tmp_path / "om"), embedder=embedder, agents=[agent])
    with orch:
        result = orch.process(
            "I'm Alice. My recipe for pancakes is flour, milk and two eggs.",
            user_id="alice",
            timestamp=T0,
        )
        recipe = agent.memory_type
        assert recipe in result.agents
        [added] = result.operations[recipe]
        assert added.text == "Alice's recipe for pancakes: flour, milk and two eggs."
        assert added.memory_id.startswith("rcp_")
        # the built-in agents still run beside it
        assert result.operations[MemoryType.SEMANTIC]

        hits = orch.recall("what is my pancakes recipe?", user_id="alice").hits
        assert hits[0].memory_type == recipe
        assert isinstance(hits[0].memory, CustomMemory)
        steps = "flour, milk and two eggs"
        assert hits[0].memory.attributes == {"dish": "pancakes", "steps": steps}

        listed = orch.get_all(user_id="alice", memory_types=["recipe"])
        assert [r.id for r in listed] == [added.memory_id]
        assert orch.get(added.memory_id).content == added.text

        # the same recipe again is the same memory (deterministic id)
        orch.process(
            "My recipe for pancakes is flour, milk and two eggs.", user_id="alice", timestamp=T0
        )
        assert len(orch.get_all(user_id="alice", memory_types=["recipe"])) == 1


async def test_studio_process_graph_shows_a_custom_agent(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(studio.AGENTS_VARIABLE, f"{__name__}:recipe_agent")
    agents = studio.studio_agents()
    services = lifecycle.build_services(
        load_settings(data_dir=tmp_path / "studio"), embedder=embedder, agents=agents
    )
    graph = build_process_graph(services)
    try:
        await lifecycle.open_services(services)  # the graph runs on open stores
        state: dict[str, Any] = await graph.ainvoke(
            {
                "messages": [{"role": "user", "content": "My recipe for soup is leeks."}],
                "user_id": "bob",
            }
        )
    finally:
        await lifecycle.close(services)
    assert state["routing"]["recipe"] == "selected"
    assert [c.content for c in state["candidates"] if c.memory_type == "recipe"] == [
        "The user's recipe for soup: leeks."
    ]


def test_studio_rejects_an_agent_path_that_does_not_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from octomem.errors import ConfigurationError

    monkeypatch.setenv(studio.AGENTS_VARIABLE, "tests.nowhere:agent")
    with pytest.raises(ConfigurationError, match="OCTOMEM_STUDIO_AGENTS"):
        studio.studio_agents()


@pytest.mark.parametrize("mode", ["single_call", "per_agent"])
def test_a_custom_agent_extracts_with_the_llm(
    tmp_path: Path, embedder: Embedder, mode: str
) -> None:
    pancakes = {"dish": "pancakes", "steps": "whisk and fry"}

    def script(request: ScriptedRequest) -> Any:
        if request.purpose == "extract":
            return {"agents": ["recipe"], "recipe": {"recipes": [pancakes]}}
        if request.purpose == "route":
            return {"agents": ["recipe"], "reason": "a recipe"}
        if request.purpose == "extract:recipe":
            return {"recipes": [pancakes]}
        if request.purpose.startswith("extract:"):
            return {}
        return DecisionOutput()

    with ScriptedModel(script, name=f"recipes-{mode}") as model:
        settings = load_settings(
            data_dir=tmp_path / "om", llm={"model": model.model, "extraction_mode": mode}
        )
        agent = recipe_agent(
            AgentPrompt("recipe: the user's recipes (dish, steps)", RecipeOutput, recipe_records)
        )
        with Orchestrator(settings, embedder=embedder, agents=[agent]) as orch:
            result = orch.process("Pancakes: whisk and fry.", user_id="alice", timestamp=T0)
            asked = [r for r in model.requests if r.purpose in ("extract", "route")]
            assert "recipe: the user's recipes" in asked[0].prompt
    assert result.extraction == mode
    [added] = result.operations[agent.memory_type]
    assert added.text == "Recipe for pancakes: whisk and fry"


def test_an_agent_with_its_own_retrieval_replaces_the_default(
    tmp_path: Path, embedder: Embedder
) -> None:
    asked: list[str] = []
    base = type(recipe_agent())

    class SilentRecipes(base):  # type: ignore[misc, valid-type]
        async def retrieve(self, search: Any, query: str, plan: Any) -> Any:
            asked.append(query)
            return [], {}  # finds nothing, whatever is stored

    settings = load_settings(data_dir=tmp_path / "om")
    with Orchestrator(settings, embedder=embedder, agents=[SilentRecipes()]) as orch:
        orch.process("My recipe for pancakes is flour and milk.", user_id="alice", timestamp=T0)
        hits = orch.recall("my pancakes recipe", user_id="alice").hits
    assert asked == ["my pancakes recipe"]
    assert hits and all(hit.memory_type != "recipe" for hit in hits)


def test_an_agents_own_retrieval_searches_only_within_the_recall_scope(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A retrieval hook sees the stores only through searches bound to the recall's plan
    (`RecallPort`): asked for alice, its vector, keyword and id searches return alice's
    recipe and never bob's, even when it asks for bob's by id."""
    base = type(recipe_agent())
    found: dict[str, list[str]] = {}

    class OwnSearch(base):  # type: ignore[misc, valid-type]
        async def retrieve(self, search: RecallPort, query: str, plan: RecallPlan) -> Any:
            near = await search.nearest(self.memory_type, await search.embed(query), 10)
            words = await search.keyword(self.memory_type, "pancakes flour", 10)
            by_id = await search.get(self.memory_type, found["stored"])
            found["nearest"] = [r.user_id for r, _ in near]
            found["keyword"] = [r.user_id for r, _ in words]
            found["get"] = [r.user_id for r in by_id]
            ranked = RankedList(
                agent=self.memory_type,
                retriever="vector",
                ids=[r.id for r, _ in near],
                scores=[s for _, s in near],
            )
            return [ranked], {r.id: r for r, _ in near}

    settings = load_settings(data_dir=tmp_path / "om")
    with Orchestrator(settings, embedder=embedder, agents=[OwnSearch()]) as orch:
        for user in ("alice", "bob"):
            orch.process("My recipe for pancakes is flour and milk.", user_id=user, timestamp=T0)
        recipe = OwnSearch().memory_type
        found["stored"] = [
            r.id for u in ("alice", "bob") for r in orch.get_all(user_id=u, memory_types=[recipe])
        ]
        assert len(found["stored"]) == 2  # one each
        hits = orch.recall("my pancakes recipe", user_id="alice").hits
    assert found["nearest"] == found["keyword"] == found["get"] == ["alice"]
    assert [h.memory.user_id for h in hits if h.memory_type == recipe] == ["alice"]


def test_a_conflict_key_of_star_is_a_key_like_any_other(tmp_path: Path, embedder: Embedder) -> None:
    """A custom agent's conflict key comes from what was said; one said as "*" competes with
    the records of that key only, never with every record that has a key (in a filter's
    shorthand, "*" means "the field is present")."""
    status = MemoryType("status")
    said = re.compile(r"\bstatus of (\S+) is (\w+)", re.I)

    class OneStatusPerThing(BaseAgent):
        memory_type = status
        record_type = CustomMemory
        id_prefix = "sts"
        policy = ConflictPolicy.SUPERSEDE

        def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
            return [
                CustomMemory(
                    id=ctx.memory_id(status, match[1], match[2]),
                    memory_type=status,
                    content=f"{match[1]} is {match[2]}",
                    attributes={"thing": match[1], "state": match[2]},
                    **record_fields(turn, ctx, "status"),
                )
                for turn in turns
                if (match := said.search(turn.content))
            ]

        def conflict_key(self, record: MemoryBase) -> str | None:
            return str(record.attributes["thing"])

    settings = load_settings(data_dir=tmp_path / "om")
    agents = [OneStatusPerThing()]
    with Orchestrator(settings, embedder=embedder, agents=agents) as orch:
        for thing, state in (("pump", "open"), ("valve", "open"), ("*", "open"), ("valve", "shut")):
            orch.process(f"The status of {thing} is {state}.", user_id="u", timestamp=T0)
        now = orch.get_all(user_id="u", memory_types=["status"])
        assert sorted((r.attributes["thing"], r.attributes["state"]) for r in now) == [
            ("*", "open"),
            ("pump", "open"),
            ("valve", "shut"),
        ]
