"""The memory agents: each built-in agent registers itself (`octomem.agents.registry`)."""

from __future__ import annotations

from octomem.agents.base import (
    AgentPrompt,
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    MemoryAgent,
    read_turns,
    record_fields,
)
from octomem.agents.contextual import ContextualAgent
from octomem.agents.core import CoreAgent
from octomem.agents.episodic import EpisodicAgent, raw_turn_record
from octomem.agents.knowledge import KnowledgeAgent
from octomem.agents.procedural import ProceduralAgent
from octomem.agents.registry import AGENTS, default_agents, register
from octomem.agents.resource import ResourceAgent
from octomem.agents.semantic import SemanticAgent
from octomem.agents.working import WorkingAgent

__all__ = [
    "AGENTS",
    "AgentPrompt",
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
    "read_turns",
    "record_fields",
    "register",
]
