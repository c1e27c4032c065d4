"""Prompts and response models, one module per agent, plus extraction and reconcile.

Every agent module has `INSTRUCTIONS` (its part of the prompt, overridable in config
under `llm.prompts.<agent>`), a response model and `to_records(output, turns, ctx)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from octomem.agents.base import ExtractionContext
from octomem.llm_schema import LLMOutput
from octomem.models import MemoryBase, MemoryType, Turn
from octomem.prompts import (
    contextual,
    core,
    episodic,
    knowledge,
    procedural,
    resource,
    semantic,
    working,
)

Output = TypeVar("Output", bound=LLMOutput)


@dataclass(frozen=True)
class AgentPrompt(Generic[Output]):
    """An agent's prompt part, its response model and the reader of that model."""

    instructions: str
    output: type[Output]
    to_records: Callable[[Output, Sequence[Turn], ExtractionContext], list[MemoryBase]]


AGENT_PROMPTS: dict[MemoryType, AgentPrompt[Any]] = {
    MemoryType.CORE: AgentPrompt(core.INSTRUCTIONS, core.CoreOutput, core.to_records),
    MemoryType.EPISODIC: AgentPrompt(
        episodic.INSTRUCTIONS, episodic.EpisodicOutput, episodic.to_records
    ),
    MemoryType.SEMANTIC: AgentPrompt(
        semantic.INSTRUCTIONS, semantic.SemanticOutput, semantic.to_records
    ),
    MemoryType.PROCEDURAL: AgentPrompt(
        procedural.INSTRUCTIONS, procedural.ProceduralOutput, procedural.to_records
    ),
    MemoryType.WORKING: AgentPrompt(
        working.INSTRUCTIONS, working.WorkingOutput, working.to_records
    ),
    MemoryType.CONTEXTUAL: AgentPrompt(
        contextual.INSTRUCTIONS, contextual.ContextualOutput, contextual.to_records
    ),
    MemoryType.KNOWLEDGE: AgentPrompt(
        knowledge.INSTRUCTIONS, knowledge.KnowledgeOutput, knowledge.to_records
    ),
    MemoryType.RESOURCE: AgentPrompt(
        resource.INSTRUCTIONS, resource.ResourceOutput, resource.to_records
    ),
}
