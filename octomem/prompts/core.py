"""Core agent prompt: the human and persona blocks."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from octomem.agents.base import ExtractionContext
from octomem.agents.text import entities_in
from octomem.models import CoreMemory, MemoryBase, MemoryType, Turn
from octomem.prompts.common import Item, record_fields

INSTRUCTIONS = (
    "core: lasting key facts about the user as 'Label: value' lines for the human block "
    "(Name, Lives in, Works at, Job, Age, Family, Preferences, Allergies, Goals...), and, "
    "from system turns, how the assistant should behave (persona block lines)."
)


class CoreOutput(Item):
    human: list[str] = Field(default_factory=list, description="'Label: value' lines")
    persona: list[str] = Field(default_factory=list, description="assistant persona lines")


def to_records(
    output: BaseModel, turns: Sequence[Turn], ctx: ExtractionContext
) -> list[MemoryBase]:
    assert isinstance(output, CoreOutput)
    records: list[MemoryBase] = []
    for label, lines in (("human", output.human), ("persona", output.persona)):
        lines = [line.strip() for line in lines if line.strip()]
        if not lines:
            continue
        content = "\n".join(lines)[: ctx.core_char_limit]
        records.append(
            CoreMemory(
                id=ctx.memory_id(MemoryType.CORE, label),
                label=label,
                content=content,
                char_limit=ctx.core_char_limit,
                entities=entities_in(content),
                **record_fields(output, turns, ctx, "core"),
            )
        )
    return records
