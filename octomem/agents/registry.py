"""The one table of memory agents: every built-in agent registers its class here, and
routing, prompts, extraction and recall read it (or the agents an Orchestrator was given,
which start from it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar, cast

from octomem.agents.base import BaseAgent, MemoryAgent
from octomem.errors import InvalidInputError
from octomem.models import BUILTIN_TYPES, MemoryType

AGENTS: dict[MemoryType, type[BaseAgent]] = {}
A = TypeVar("A", bound=type[BaseAgent])


def register(agent_class: A) -> A:
    """Class decorator: `agent_class` is the agent of its memory type."""
    AGENTS[agent_class.memory_type] = agent_class
    return agent_class


def _order(memory_type: MemoryType) -> int:
    return BUILTIN_TYPES.index(memory_type) if memory_type in BUILTIN_TYPES else len(BUILTIN_TYPES)


def default_agents() -> dict[MemoryType, MemoryAgent]:
    """One instance of each registered agent, built-ins first in the order core, episodic,
    semantic, procedural, working, contextual, knowledge, resource."""
    # cast: BaseAgent declares the protocol's attributes as class variables
    return {
        memory_type: cast(MemoryAgent, AGENTS[memory_type]())
        for memory_type in sorted(AGENTS, key=_order)
    }


def with_agents(
    base: Mapping[MemoryType, MemoryAgent], extra: Iterable[object]
) -> dict[MemoryType, MemoryAgent]:
    """`base` plus the agents in `extra`; one of a type `base` has replaces it."""
    agents = dict(base)
    for agent in extra:
        if not isinstance(agent, MemoryAgent) or not isinstance(agent.memory_type, MemoryType):
            raise InvalidInputError(
                f"{agent!r} is not a memory agent: derive it from octomem.agents.BaseAgent "
                "and give it a memory_type (octomem.models.register_memory_type for a new one)"
            )
        agents[agent.memory_type] = agent
    turn_keeper(agents)
    return agents


def turn_keeper(agents: Mapping[MemoryType, MemoryAgent]) -> MemoryAgent:
    """The agent that keeps the raw turns (`keeps_turns`; the episodic one by default)."""
    for agent in agents.values():
        if agent.keeps_turns:
            return agent
    raise InvalidInputError(
        "no memory agent keeps the raw turns: one agent needs keeps_turns = True and "
        "turn_records / turn_record_id (octomem.agents.EpisodicAgent has them)"
    )
