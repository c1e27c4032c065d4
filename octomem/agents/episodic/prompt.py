"""Episodic agent prompt: time-stamped events."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from octomem.agents.base import ExtractionContext
from octomem.agents.prompting import Item, listing, parse_when, record_fields, reply
from octomem.models import EpisodicMemory, MemoryBase, MemoryType, Turn, normalize_text

INSTRUCTIONS = (
    "episodic: events that happened to or were done by the user or people they mention: "
    "one self-contained sentence each with the absolute date (e.g. 'On 2024-03-14 Alice "
    "visited the Louvre with Tom.'), occurred_at as an ISO date, the actor, an event_type "
    "(visit, meeting, purchase, travel, milestone, health, work, social, activity...)."
)


class Event(Item):
    summary: str
    occurred_at: str | None = Field(None, description="ISO date or datetime")
    actor: str = "user"
    event_type: str = "activity"
    details: str = ""


def to_record(event: Event, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    if not event.summary.strip():
        return None
    fields = record_fields(event, turns, ctx, "episodic")
    when = parse_when(event.occurred_at, fields["valid_from"])
    return EpisodicMemory(
        id=ctx.memory_id(
            MemoryType.EPISODIC, "event", normalize_text(event.summary), when.date().isoformat()
        ),
        content=event.summary.strip(),
        summary=event.summary.strip(),
        occurred_at=when,
        actor=event.actor,
        event_type=event.event_type,
        details=event.details,
        **fields,
    )


EpisodicOutput = reply("EpisodicOutput", events=Event)
PROMPT = listing(INSTRUCTIONS, EpisodicOutput, to_record)
