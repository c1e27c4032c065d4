"""What the agents' LLM prompts share: the item every reply carries, its provenance, its
dates and the fields of the record it becomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from octomem.agents.base import ExtractionContext
from octomem.agents.base import record_fields as offline_fields
from octomem.llm_schema import LLMOutput
from octomem.models import SourceRef, Turn, as_utc


class Item(LLMOutput):
    """What every extracted item carries: the transcript turns it comes from."""

    source_turns: list[int] = Field(
        default_factory=list, description="indexes [n] of the turns this comes from"
    )


def source_of(item: Item, turns: Sequence[Turn], agent: str) -> tuple[SourceRef, Turn]:
    """Provenance of an item: its turns (the last turn when it names none it has)."""
    picked = [turns[i] for i in item.source_turns if 0 <= i < len(turns)] or [turns[-1]]
    return (
        SourceRef(
            turn_ids=[t.id for t in picked],
            message_ids=[t.external_id or t.id for t in picked],
            extractor=f"llm:{agent}",
        ),
        picked[-1],
    )


def from_user(item: Item, turns: Sequence[Turn]) -> bool:
    """Whether the item comes from at least one of the user's own turns: facts about the user
    are never taken from what the assistant, the system or a tool said."""
    picked = [turns[i] for i in item.source_turns if 0 <= i < len(turns)] or [turns[-1]]
    return any(turn.role == "user" for turn in picked)


def record_fields(
    item: Item, turns: Sequence[Turn], ctx: ExtractionContext, agent: str
) -> dict[str, Any]:
    """Scope, timestamps (of the item's last turn) and the item's provenance."""
    source, turn = source_of(item, turns, agent)
    return {**offline_fields(turn, ctx, agent), "source": source, "confidence": 0.9}


def parse_when(value: str | None, default: datetime) -> datetime:
    """An ISO date or datetime from the model; the turn's time when absent or unreadable."""
    if not value:
        return default
    try:
        return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return default
