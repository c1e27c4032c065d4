"""The eight memory agents and their offline (rule-based) extractors."""

from __future__ import annotations

from typing import cast

from octomem.agents.base import BaseAgent, ConflictPolicy, ExtractionContext, MemoryAgent
from octomem.agents.contextual import ContextualAgent
from octomem.agents.core import CoreAgent
from octomem.agents.episodic import EpisodicAgent, raw_turn_record
from octomem.agents.knowledge import KnowledgeAgent
from octomem.agents.procedural import ProceduralAgent
from octomem.agents.resource import ResourceAgent
from octomem.agents.semantic import SemanticAgent
from octomem.agents.working import WorkingAgent
from octomem.models import MemoryType

__all__ = [
    "BaseAgent",
    "ConflictPolicy",
    "ContextualAgent",
    "CoreAgent",
    "EpisodicAgent",
    "ExtractionContext",
    "KnowledgeAgent",
    "MemoryAgent",
    "ProceduralAgent",
    "ResourceAgent",
    "SemanticAgent",
    "WorkingAgent",
    "default_agents",
    "raw_turn_record",
]


def default_agents() -> dict[MemoryType, MemoryAgent]:
    """One instance of each agent, in the order core, episodic, ..., resource."""
    agents: list[BaseAgent] = [
        CoreAgent(),
        EpisodicAgent(),
        SemanticAgent(),
        ProceduralAgent(),
        WorkingAgent(),
        ContextualAgent(),
        KnowledgeAgent(),
        ResourceAgent(),
    ]
    # cast: BaseAgent declares the protocol's attributes as class variables
    return {agent.memory_type: cast(MemoryAgent, agent) for agent in agents}
