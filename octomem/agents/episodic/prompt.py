"""Episodic agent prompt: time-stamped events."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from octomem.agents.base import ExtractionContext
from octomem.agents.context import SAID_BY
from octomem.agents.prompting import (
    USER_WORDS,
    Item,
    listing,
    parse_when,
    record_fields,
    reply,
    speaker,
)
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
    said = speaker(event, turns, ctx)
    actor = said if said and event.actor.strip().lower() in USER_WORDS else event.actor
    return EpisodicMemory(
        id=ctx.memory_id(
            MemoryType.EPISODIC, "event", normalize_text(event.summary), when.date().isoformat()
        ),
        content=event.summary.strip(),
        summary=event.summary.strip(),
        occurred_at=when,
        actor=actor,
        event_type=event.event_type,
        details=event.details,
        internal={SAID_BY: said} if said else {},
        **fields,
    )


EpisodicOutput = reply("EpisodicOutput", events=Event)
PROMPT = listing(INSTRUCTIONS, EpisodicOutput, to_record)
