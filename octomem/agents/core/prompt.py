"""Core agent prompt: the persona block (the human block is a projection of the user's
semantic facts, see `octomem.orchestrator.projections`)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from octomem.agents.base import AgentPrompt, ExtractionContext
from octomem.agents.prompting import Item, from_system, record_fields
from octomem.language import entities_in
from octomem.models import CoreMemory, MemoryBase, MemoryType, Turn

# how the assistant behaves is the app's to say: persona lines the model sources from no
# system turn (a user's, a tool's: where a prompt injection is written) are dropped, as the
# offline rules read the persona from system turns alone
INSTRUCTIONS = (
    "core: from system turns only, how the assistant should behave (persona block lines). "
    "Facts about the user belong to semantic."
)


class CoreOutput(Item):
    persona: list[str] = Field(default_factory=list, description="assistant persona lines")


def to_records(
    output: CoreOutput, turns: Sequence[Turn], ctx: ExtractionContext
) -> list[MemoryBase]:
    lines = [line.strip() for line in output.persona if line.strip()]
    if not lines or not from_system(output, turns):
        return []
    content = "\n".join(lines)[: ctx.core_char_limit]
    return [
        CoreMemory(
            id=ctx.memory_id(MemoryType.CORE, "persona"),
            label="persona",
            content=content,
            char_limit=ctx.core_char_limit,
            entities=entities_in(content),
            **record_fields(output, turns, ctx, "core"),
        )
    ]


PROMPT = AgentPrompt(INSTRUCTIONS, CoreOutput, to_records)
