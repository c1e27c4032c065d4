"""The one table of memory agents: every built-in agent registers its class here, and
routing, prompts, extraction and recall read it (or the agents an Orchestrator was given,
which start from it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar, cast

from octomem.agents.base import BaseAgent, MemoryAgent
from octomem.errors import ConfigurationError, InvalidInputError
from octomem.memory_types import TypeRegistry, TypeSpec
from octomem.models import BUILTIN_TYPES, RECORD_CLASS, MemoryType
from octomem.settings import Settings

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
    """`base` plus the agents in `extra`; one of a type `base` has replaces it. Each is
    checked (`type_registry`)."""
    agents = dict(base)
    for agent in extra:
        if not isinstance(agent, MemoryAgent) or not isinstance(agent.memory_type, MemoryType):
            raise InvalidInputError(
                f"{agent!r} is not a memory agent: derive it from octomem.agents.BaseAgent "
                "and give it a memory_type (a MemoryType: a built-in one, or "
                'MemoryType("name") for its own)'
            )
        agents[agent.memory_type] = agent
    turn_keeper(agents)
    type_registry(agents)
    return agents


def type_registry(agents: Mapping[MemoryType, MemoryAgent]) -> TypeRegistry:
    """The memory types of these agents (and every built-in one), with the id prefix and
    record class each custom agent declares (`id_prefix`, default the type's name;
    `record_type`). InvalidInputError if an agent's declarations do not fit: a built-in
    type's agent keeps its record class, two types may not share an id prefix."""
    custom = []
    for memory_type, agent in agents.items():
        record_type = agent.record_type
        if memory_type in BUILTIN_TYPES:
            if record_type is not RECORD_CLASS[memory_type]:
                raise InvalidInputError(
                    f"the {memory_type.value} agent {agent!r} declares record_type "
                    f"{record_type!r}; a built-in type's records are "
                    f"{RECORD_CLASS[memory_type].__name__}"
                )
            continue
        prefix = getattr(agent, "id_prefix", None)
        custom.append(TypeSpec.custom(agent.memory_type, record_type, prefix))
    return TypeRegistry(custom)


def check_configured(settings: Settings, types: TypeRegistry) -> None:
    """ConfigurationError if the settings name a memory type no agent has (a custom
    type's name is valid anywhere, so a typo would otherwise pass unnoticed)."""
    named = {
        "agents.enabled": settings.agents.enabled,
        "llm.prompts": settings.llm.prompts,
        "recall.agent_weights": settings.recall.agent_weights,
    }
    for where, names in named.items():
        for name in names:
            if name not in types:
                raise ConfigurationError(
                    f"{where} names memory type {name.value!r}, which no agent has: use one "
                    f"of {', '.join(t.value for t in types)}"
                )


def turn_keeper(agents: Mapping[MemoryType, MemoryAgent]) -> MemoryAgent:
    """The agent that keeps the raw turns (`keeps_turns`; the episodic one by default)."""
    for agent in agents.values():
        if agent.keeps_turns:
            return agent
    raise InvalidInputError(
        "no memory agent keeps the raw turns: one agent needs keeps_turns = True and "
        "turn_records / turn_record_id (octomem.agents.EpisodicAgent has them)"
    )
