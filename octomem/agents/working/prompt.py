"""Working agent prompt: short-lived task state of this session."""

from __future__ import annotations

from collections.abc import Sequence

from octomem.agents.base import ExtractionContext
from octomem.agents.prompting import Item, from_user, listing, parse_when, record_fields, reply
from octomem.language import norm_key
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


def to_record(task: Task, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    if not (task.key.strip() and task.statement.strip()) or not from_user(task, turns, ctx):
        return None
    key = task.key.strip().lower()
    if ":" in key:
        kind, _, rest = key.partition(":")
        key = f"{kind}:{norm_key(rest)}"
    fields = record_fields(task, turns, ctx, "working")
    expires = parse_when(task.expires_at, fields["valid_from"] + ctx.working_ttl)
    return WorkingMemory(
        id=ctx.memory_id(MemoryType.WORKING, key, session=True),
        content=task.statement.strip(),
        key=key,
        value=task.value.strip(),
        expires_at=expires,
        **fields,
    )


WorkingOutput = reply("WorkingOutput", items=Task)
PROMPT = listing(INSTRUCTIONS, WorkingOutput, to_record)
