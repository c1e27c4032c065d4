"""Contextual agent prompt: the user's situation right now."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from octomem.agents.base import ExtractionContext
from octomem.agents.prompting import Item, from_user, listing, record_fields, reply
from octomem.language import norm_key
from octomem.models import ContextualMemory, MemoryBase, MemoryType, Turn

INSTRUCTIONS = (
    "contextual: the user's current situation, one item per kind: location (where they are "
    "now, not where they live), device, app, topic (what the conversation is about) and "
    "mood, each with a self-contained statement."
)
KINDS = ("location", "device", "app", "topic", "mood")


class Situation(Item):
    kind: str = Field(description="location | device | app | topic | mood")
    value: str
    statement: str


def to_record(item: Situation, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    kind = item.kind.strip().lower()
    if kind not in KINDS or not item.value.strip() or not from_user(item, turns, ctx):
        return None
    return ContextualMemory(
        id=ctx.memory_id(MemoryType.CONTEXTUAL, kind, norm_key(item.value), session=True),
        content=item.statement.strip() or f"The user's {kind}: {item.value}",
        kind=kind,
        value=item.value.strip(),
        **record_fields(item, turns, ctx, "contextual"),
    )


ContextualOutput = reply("ContextualOutput", items=Situation)
PROMPT = listing(INSTRUCTIONS, ContextualOutput, to_record)
