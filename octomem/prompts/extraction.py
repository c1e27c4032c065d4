"""The extraction prompts: one call for all agents (single_call) or router + per agent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from octomem.agents.base import ExtractionContext, MemoryAgent
from octomem.agents.registry import default_agents
from octomem.llm_schema import LLMOutput
from octomem.models import MemoryType, Turn
from octomem.prompts.common import SYSTEM, Messages, context_lines, transcript


class ExtractionReply(LLMOutput):
    """What one single_call extraction returns: routing, plus a field per agent that
    prompts the LLM, named by its memory type and typed by its own response model
    (`extraction_output` assembles it from the agents)."""

    agents: list[str] = Field(
        default_factory=list, description="the memory agents that have something to store"
    )

    def part(self, memory_type: MemoryType) -> BaseModel:
        part: BaseModel = getattr(self, memory_type.value)
        return part


class RouterOutput(LLMOutput):
    """per_agent mode: which agents should read this conversation."""

    agents: list[str] = Field(default_factory=list)
    reason: str = ""


def extraction_output(agents: Sequence[MemoryAgent]) -> type[ExtractionReply]:
    """The reply model of a single_call extraction for `agents`: a field per agent that
    prompts the LLM (its response model), and `agents` naming only those."""
    return _assembled(_prompted(agents))


def router_output(agents: Sequence[MemoryAgent]) -> type[RouterOutput]:
    """`RouterOutput`, whose `agents` may name only the agents among `agents` that prompt
    the LLM."""
    return _router(tuple(name for name, _ in _prompted(agents)))


def _prompted(agents: Sequence[MemoryAgent]) -> tuple[tuple[str, type[LLMOutput]], ...]:
    """(memory type, response model) of each of `agents` that prompts the LLM."""
    return tuple(
        (agent.memory_type.value, agent.prompt.output)
        for agent in agents
        if agent.prompt is not None
    )


def _names(names: tuple[str, ...]) -> Any:
    """The type of an `agents` list that names these memory types (the schema's enum)."""
    if not names:
        return (list[str], Field(default_factory=list, max_length=0))
    return (list[Literal[names]], Field(default_factory=list))  # type: ignore[valid-type]


@cache
def _assembled(parts: tuple[tuple[str, type[LLMOutput]], ...]) -> type[ExtractionReply]:
    fields: dict[str, Any] = {
        name: (output, Field(default_factory=output)) for name, output in parts
    }
    fields["agents"] = _names(tuple(name for name, _ in parts))
    return create_model("ExtractionOutput", __base__=ExtractionReply, **fields)


@cache
def _router(names: tuple[str, ...]) -> type[RouterOutput]:
    return create_model("RouterOutput", __base__=RouterOutput, agents=_names(names))


# The reply for the built-in agents, as a scripted model (`octomem.testing`) writes it.
ExtractionOutput = extraction_output(list(default_agents().values()))


# what each extraction call asks, before the instructions of the agents it prompts
SINGLE_CALL = (
    "Extract memories for these agents (keys of the reply), and list in `agents` the "
    "ones that got at least one item"
)
ROUTER = (
    "Which of these memory agents have something to store from this conversation? "
    "Reply with their names in `agents`"
)
PER_AGENT = "Extract only this kind of memory"


def extraction_messages(
    ask: str,
    turns: Sequence[Turn],
    ctx: ExtractionContext,
    agents: Sequence[MemoryAgent],
    overrides: Mapping[MemoryType, str],
) -> Messages:
    """`ask` (`SINGLE_CALL`, `ROUTER`, `PER_AGENT`), followed by the instructions of each
    of `agents` that prompts the LLM."""
    instructions = "\n".join(
        f"- {overrides.get(a.memory_type, a.prompt.instructions)}"
        for a in agents
        if a.prompt is not None
    )
    known = context_lines(ctx, turns)
    content = f"{known}\n\nConversation:\n{transcript(turns)}\n\n{ask}:\n{instructions}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": content}]
