"""What the agents' LLM prompts share: the item every reply carries, its provenance, its
dates, the fields of the record it becomes and the prompt of a reply that lists items."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field, create_model

from octomem.agents.base import AgentPrompt, ExtractionContext
from octomem.agents.base import record_fields as offline_fields
from octomem.language.speakers import other_speakers
from octomem.llm_schema import LLMOutput
from octomem.models import MemoryBase, SourceRef, Turn, as_utc
from octomem.validation import EARLIEST, LATEST

USER_WORDS = frozenset({"user", "the user", "i", "me"})  # a subject that names the user


class Item(LLMOutput):
    """What every extracted item carries: the transcript turns it comes from."""

    source_turns: list[int] = Field(
        default_factory=list, description="indexes [n] of the turns this comes from"
    )


def _picked(item: Item, turns: Sequence[Turn]) -> list[Turn]:
    """The item's turns (the last turn when it names none it has)."""
    return [turns[i] for i in item.source_turns if 0 <= i < len(turns)] or [turns[-1]]


def from_user(item: Item, turns: Sequence[Turn], ctx: ExtractionContext) -> bool:
    """Whether the item comes from at least one of the user's own turns: facts about the user
    are never taken from what the assistant, the system, a tool or another speaker of a
    user-role turn (a mail's sender, a channel's member: `other_speakers`) said."""
    others = _others(turns, ctx)
    return any(turn.role == "user" and turn.id not in others for turn in _picked(item, turns))


def from_system(item: Item, turns: Sequence[Turn]) -> bool:
    """Whether the item comes from at least one system turn (the app's own instructions)."""
    return any(turn.role == "system" for turn in _picked(item, turns))


def speaker(item: Item, turns: Sequence[Turn], ctx: ExtractionContext) -> str | None:
    """The one other speaker whose user-role turns the item comes from, when all its turns
    are theirs: what they say of themselves ("I moved to Lisbon") is about them."""
    others = _others(turns, ctx)
    names = {others.get(turn.id) for turn in _picked(item, turns)}
    return names.pop() if len(names) == 1 and None not in names else None


def _others(turns: Sequence[Turn], ctx: ExtractionContext) -> dict[str, str]:
    return other_speakers(turns, ctx.scope.user_id, ctx.user_name)


def record_fields(
    item: Item, turns: Sequence[Turn], ctx: ExtractionContext, agent: str
) -> dict[str, Any]:
    """Scope, timestamps (of the item's last turn) and the item's provenance."""
    picked = _picked(item, turns)
    source = SourceRef(
        turn_ids=[t.id for t in picked],
        message_ids=[t.external_id or t.id for t in picked],
        extractor=f"llm:{agent}",
    )
    return {**offline_fields(picked[-1], ctx, agent), "source": source, "confidence": 0.9}


def parse_when(value: str | None, default: datetime) -> datetime:
    """An ISO date or datetime from the model; the turn's time when absent, unreadable or
    outside the years every timestamp octomem takes lies in (`validation.check_timestamp`:
    a task that expires in 9999 never does, and dates at datetime's edges overflow)."""
    if not value:
        return default
    try:
        when = as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return default
    return when if EARLIEST <= when <= LATEST else default


def reply(name: str, **items: type[Item]) -> type[LLMOutput]:
    """The response model `name` of a reply that lists items: one list field."""
    [(field, item)] = items.items()
    list_field: Any = (list[item], Field(default_factory=list))  # type: ignore[valid-type]
    return create_model(name, __base__=LLMOutput, __module__=item.__module__, **{field: list_field})


ToRecord = Callable[[Any, Sequence[Turn], ExtractionContext], MemoryBase | None]


def listing(instructions: str, output: type[LLMOutput], to_record: ToRecord) -> AgentPrompt[Any]:
    """The prompt of an agent whose reply (`reply`) lists items, each becoming at most one
    record (`to_record`: None drops it)."""
    [field] = output.model_fields

    def to_records(
        reply: LLMOutput, turns: Sequence[Turn], ctx: ExtractionContext
    ) -> list[MemoryBase]:
        found = (to_record(item, turns, ctx) for item in getattr(reply, field))
        return [record for record in found if record is not None]

    return AgentPrompt(instructions, output, to_records)
