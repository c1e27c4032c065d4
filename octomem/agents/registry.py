"""The one table of memory agents: every built-in agent registers its class here, and
routing, prompts, extraction and recall read it (or the agents an Orchestrator was given,
which start from it). `Roles` tells which of a set of agents play which role
(`octomem.agents.base`): the orchestrator asks it, by a record's memory type, and names
no type."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar, cast

from octomem.agents.base import (
    AlwaysRecalled,
    BaseAgent,
    FindsVersions,
    GraphProjection,
    MarksStaleTurns,
    MemoryAgent,
    NamesUser,
    StaleEvidence,
    TurnLog,
    ViewKeeper,
)
from octomem.errors import ConfigurationError, InvalidInputError
from octomem.memory_types import TypeRegistry, TypeSpec
from octomem.models import BUILTIN_TYPES, RECORD_CLASS, CoreMemory, MemoryBase, MemoryType, Relation
from octomem.settings import Settings

AGENTS: dict[MemoryType, type[BaseAgent]] = {}
# what `doctor` compares of a stored edge and the one its record implies (`Roles.same_edge`)
EDGE_KEYS = ("user_id", "subject_id", "predicate", "object_id", "fact", "invalid_at")
_DEFAULT_EVIDENCE = StaleEvidence()  # what a record of an agent without the role says
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


def turn_keeper(agents: Mapping[MemoryType, MemoryAgent]) -> TurnLog:
    """The agent that keeps the raw turns (`TurnLog`; the episodic one by default)."""
    for agent in agents.values():
        if isinstance(agent, TurnLog):
            return agent
    raise InvalidInputError(
        "no memory agent keeps the raw turns: one agent needs the TurnLog role "
        "(octomem.agents.base.TurnLog; octomem.agents.EpisodicAgent plays it)"
    )


class Roles:
    """Which of one Orchestrator's agents play which role, read once (a protocol check
    costs microseconds, and some are asked per record), and what the orchestrator asks of
    a record's agent in a role: each record goes to the agent of its memory type."""

    def __init__(self, agents: Mapping[MemoryType, MemoryAgent]) -> None:
        self.turns = turn_keeper(agents)
        self.views: list[ViewKeeper] = [
            a for a in agents.values() if isinstance(a, ViewKeeper) and a.projects is not None
        ]
        self.graph = {t: a for t, a in agents.items() if isinstance(a, GraphProjection)}
        self.stale = {t: a for t, a in agents.items() if isinstance(a, MarksStaleTurns)}
        self.blocks = {t: a for t, a in agents.items() if isinstance(a, AlwaysRecalled)}
        self.names_user = {t: a for t, a in agents.items() if isinstance(a, NamesUser)}
        self.versions = {t: a for t, a in agents.items() if isinstance(a, FindsVersions)}

    # graph projection: the writer, a deletion and doctor

    def linked_names(self, record: MemoryBase) -> list[str]:
        agent = self.graph.get(record.memory_type)
        return agent.linked_names(record) if agent is not None else list(record.entities)

    def edge(self, record: MemoryBase) -> Relation | None:
        agent = self.graph.get(record.memory_type)
        return agent.edge(record) if agent is not None else None

    def same_edge(self, stored: Relation, record: MemoryBase) -> bool:
        """Whether a stored edge is the one the record implies (what `doctor` checks):
        its ends, predicate, fact, owner and whether it is still valid."""
        expected = self.edge(record)
        if expected is None:
            return False
        return all(getattr(stored, k) == getattr(expected, k) for k in EDGE_KEYS)

    # stale evidence: what a closed record said

    def said(self, record: MemoryBase) -> set[str]:
        return self.stale.get(record.memory_type, _DEFAULT_EVIDENCE).said(record)

    def held_name(self, record: MemoryBase | None) -> str | None:
        if record is None:
            return None
        return self.stale.get(record.memory_type, _DEFAULT_EVIDENCE).held_name(record)

    # the rest

    def core_blocks(self, records: Iterable[MemoryBase]) -> list[CoreMemory]:
        """The records that are blocks of `RecallResult.core` (`AlwaysRecalled`)."""
        blocks = []
        for record in records:
            agent = self.blocks.get(record.memory_type)
            if agent is not None and (block := agent.block(record)) is not None:
                blocks.append(block)
        return blocks

    def user_name(self, facts: Iterable[MemoryBase]) -> str | None:
        """The newest name of the user among `facts` about the user (`NamesUser`)."""
        named = []
        for fact in facts:
            agent = self.names_user.get(fact.memory_type)
            if agent is not None and (name := agent.user_name(fact)) is not None:
                named.append((fact.valid_from, fact.id, name))
        return max(named)[2] if named else None
