"""Working agent prompt: short-lived task state of this session."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from octomem.agents.base import ExtractionContext
from octomem.agents.prompting import Item, from_user, parse_when, record_fields
from octomem.language import norm_key
from octomem.llm_schema import LLMOutput
from octomem.models import MemoryBase, MemoryType, Turn, WorkingMemory

INSTRUCTIONS = (
    "working: what the user is doing now and must not forget soon: current task, goal, "
    "todos, reminders, with a key ('current_task', 'goal', 'todo:<thing>', "
    "'reminder:<thing>') and expires_at (ISO datetime) when a deadline is said ('by "
    "Friday', 'today'); leave expires_at empty otherwise."
)


class Task(Item):
    key: str
    value: str
    statement: str
    expires_at: str | None = None


class WorkingOutput(LLMOutput):
    items: list[Task] = Field(default_factory=list)


def to_records(
    output: WorkingOutput, turns: Sequence[Turn], ctx: ExtractionContext
) -> list[MemoryBase]:
    records: list[MemoryBase] = []
    for task in output.items:
        if not (task.key.strip() and task.statement.strip()) or not from_user(task, turns):
            continue
        key = task.key.strip().lower()
        if ":" in key:
            kind, _, rest = key.partition(":")
            key = f"{kind}:{norm_key(rest)}"
        fields = record_fields(task, turns, ctx, "working")
        expires = parse_when(task.expires_at, fields["valid_from"] + ctx.working_ttl)
        records.append(
            WorkingMemory(
                id=ctx.memory_id(MemoryType.WORKING, key, session=True),
                content=task.statement.strip(),
                key=key,
                value=task.value.strip(),
                expires_at=expires,
                **fields,
            )
        )
    return records
