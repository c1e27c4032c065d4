"""Procedural agent prompt: how-to knowledge as titled, ordered steps."""

from __future__ import annotations

from collections.abc import Sequence

from octomem.agents.base import ExtractionContext
from octomem.agents.prompting import Item, listing, record_fields, reply
from octomem.language import norm_key
from octomem.models import MemoryBase, MemoryType, ProceduralMemory, Turn, stable_hash

INSTRUCTIONS = (
    "procedural: procedures, routines and how-tos stated by anyone in the conversation: a "
    "short title (the same title as before when a known procedure is refined), the trigger "
    "('how to ...') and the ordered steps, each an imperative sentence."
)


class Procedure(Item):
    title: str
    trigger: str = ""
    steps: list[str]


def to_record(proc: Procedure, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    steps = [s.strip().rstrip(".") for s in proc.steps if s.strip()]
    title = proc.title.strip().rstrip(":")
    if not (title and steps):
        return None
    numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    steps_hash = stable_hash([norm_key(s) for s in steps])[:16]
    return ProceduralMemory(
        id=ctx.memory_id(MemoryType.PROCEDURAL, norm_key(title), steps_hash),
        content=f"{title}:\n{numbered}",
        title=title,
        steps=steps,
        trigger=proc.trigger or f"how to {title[:1].lower()}{title[1:]}",
        **record_fields(proc, turns, ctx, "procedural"),
    )


ProceduralOutput = reply("ProceduralOutput", procedures=Procedure)
PROMPT = listing(INSTRUCTIONS, ProceduralOutput, to_record)
