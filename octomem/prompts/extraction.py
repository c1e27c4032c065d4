"""The extraction prompts: one call for all agents (single_call) or router + per agent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from octomem.agents.base import ExtractionContext, MemoryAgent
from octomem.agents.contextual.prompt import ContextualOutput
from octomem.agents.core.prompt import CoreOutput
from octomem.agents.episodic.prompt import EpisodicOutput
from octomem.agents.knowledge.prompt import KnowledgeOutput
from octomem.agents.procedural.prompt import ProceduralOutput
from octomem.agents.resource.prompt import ResourceOutput
from octomem.agents.semantic.prompt import SemanticOutput
from octomem.agents.working.prompt import WorkingOutput
from octomem.llm_schema import LLMOutput
from octomem.models import BUILTIN_TYPES, MemoryType, Turn
from octomem.prompts.common import SYSTEM, context_lines, transcript

Messages = list[dict[str, str]]


class ExtractionOutput(LLMOutput):
    """Everything one single_call extraction returns: routing and every agent's items
    (a custom agent's under its memory type, in the model `extraction_output` makes)."""

    agents: list[MemoryType] = Field(
        default_factory=list, description="the memory agents that have something to store"
    )
    core: CoreOutput = Field(default_factory=CoreOutput)
    episodic: EpisodicOutput = Field(default_factory=EpisodicOutput)
    semantic: SemanticOutput = Field(default_factory=SemanticOutput)
    procedural: ProceduralOutput = Field(default_factory=ProceduralOutput)
    working: WorkingOutput = Field(default_factory=WorkingOutput)
    contextual: ContextualOutput = Field(default_factory=ContextualOutput)
    knowledge: KnowledgeOutput = Field(default_factory=KnowledgeOutput)
    resource: ResourceOutput = Field(default_factory=ResourceOutput)

    def part(self, memory_type: MemoryType) -> BaseModel:
        part: BaseModel = getattr(self, memory_type.value)
        return part


class RouterOutput(LLMOutput):
    """per_agent mode: which agents should read this conversation."""

    agents: list[MemoryType] = Field(default_factory=list)
    reason: str = ""


def extraction_output(agents: Sequence[MemoryAgent]) -> type[ExtractionOutput]:
    """`ExtractionOutput`, with a field for each of `agents` that prompts the LLM and has
    none there (a custom agent), whose name `agents` may then list too."""
    custom = _custom(agents)
    return _with_fields(custom) if custom else ExtractionOutput


def router_output(agents: Sequence[MemoryAgent]) -> type[RouterOutput]:
    """`RouterOutput`, whose `agents` may name the custom ones among `agents` too."""
    custom = _custom(agents)
    return _router(tuple(name for name, _ in custom)) if custom else RouterOutput


def _custom(agents: Sequence[MemoryAgent]) -> tuple[tuple[str, type[LLMOutput]], ...]:
    """(memory type, response model) of each agent that prompts the LLM and is not built
    into `ExtractionOutput`."""
    return tuple(
        (agent.memory_type.value, agent.prompt.output)
        for agent in agents
        if agent.prompt is not None and agent.memory_type.value not in ExtractionOutput.model_fields
    )


def _names(custom: tuple[str, ...]) -> Any:
    """The type of an `agents` list that names built-in or these custom memory types (the
    schema's enum lists them all)."""
    names = tuple(t.value for t in BUILTIN_TYPES) + custom
    return (list[Literal[names]], Field(default_factory=list))  # type: ignore[valid-type]


@cache
def _with_fields(extra: tuple[tuple[str, type[LLMOutput]], ...]) -> type[ExtractionOutput]:
    fields: dict[str, Any] = {
        name: (output, Field(default_factory=output)) for name, output in extra
    }
    fields["agents"] = _names(tuple(name for name, _ in extra))
    return create_model("ExtractionOutput", __base__=ExtractionOutput, **fields)


@cache
def _router(custom: tuple[str, ...]) -> type[RouterOutput]:
    return create_model("RouterOutput", __base__=RouterOutput, agents=_names(custom))


def instructions_for(agents: Sequence[MemoryAgent], overrides: Mapping[MemoryType, str]) -> str:
    """The instructions of each of `agents` that prompts the LLM."""
    return "\n".join(
        f"- {overrides.get(a.memory_type, a.prompt.instructions)}"
        for a in agents
        if a.prompt is not None
    )


def _messages(turns: Sequence[Turn], ctx: ExtractionContext, ask: str) -> Messages:
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"{context_lines(ctx)}\n\nConversation:\n{transcript(turns)}\n\n{ask}",
        },
    ]


def single_call_messages(
    turns: Sequence[Turn],
    ctx: ExtractionContext,
    agents: Sequence[MemoryAgent],
    overrides: Mapping[MemoryType, str],
) -> Messages:
    return _messages(
        turns,
        ctx,
        (
            "Extract memories for these agents (keys of the reply), and list in `agents` the "
            "ones that got at least one item:\n" + instructions_for(agents, overrides)
        ),
    )


def router_messages(
    turns: Sequence[Turn],
    ctx: ExtractionContext,
    agents: Sequence[MemoryAgent],
    overrides: Mapping[MemoryType, str],
) -> Messages:
    return _messages(
        turns,
        ctx,
        (
            "Which of these memory agents have something to store from this conversation? "
            "Reply with their names in `agents`:\n" + instructions_for(agents, overrides)
        ),
    )


def agent_messages(
    agent: MemoryAgent,
    turns: Sequence[Turn],
    ctx: ExtractionContext,
    overrides: Mapping[MemoryType, str],
) -> Messages:
    return _messages(
        turns, ctx, f"Extract only this kind of memory:\n{instructions_for([agent], overrides)}"
    )
