"""The reconcile decision prompt: one batched call deciding every open candidate.

Stored memories are shown under short integer aliases, never their ids; decisions naming
an alias that was not shown are rejected by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from octomem.llm_schema import LLMOutput
from octomem.models import MemoryBase
from octomem.prompts.common import Messages, continued

MORE = "      "  # a memory's own further lines: under its text, never an alias or a number

SYSTEM = (
    "You keep an AI assistant's long-term memory consistent. For each new candidate memory "
    "you see the stored memories it may duplicate or contradict, and decide:\n"
    "ADD - it is new information; store it.\n"
    "UPDATE - it refines the same stored memory (target): rewrite that memory as `text`, "
    "keeping what is still true.\n"
    "SUPERSEDE - it replaces a stored memory that is no longer true (target), e.g. a move, "
    "a new job, a changed preference; the old one is kept as history.\n"
    "DELETE - it says a stored memory (target) is no longer or never was true, without a "
    "replacement (a retraction); the candidate itself is not stored.\n"
    "NOOP - the stored memories already say it.\n"
    "Use only the aliases shown. Newer statements win over older ones."
)


class Decision(LLMOutput):
    candidate: int = Field(description="the candidate's number")
    operation: Literal["ADD", "UPDATE", "SUPERSEDE", "DELETE", "NOOP"]
    target: int | None = Field(None, description="alias of the stored memory it acts on")
    text: str | None = Field(None, description="UPDATE only: the rewritten memory")


class DecisionOutput(LLMOutput):
    decisions: list[Decision] = Field(default_factory=list)


def decision_messages(
    candidates: Sequence[MemoryBase],
    related: Sequence[Sequence[int]],
    stored: Sequence[MemoryBase],
) -> Messages:
    lines = ["Stored memories:"]
    lines += [
        f"  <{alias}> ({m.memory_type.value}, since {m.valid_from.date()}) "
        f"{continued(m.content, MORE)}"
        for alias, m in enumerate(stored)
    ]
    lines.append("\nCandidates:")
    for number, (candidate, aliases) in enumerate(zip(candidates, related, strict=True)):
        shown = ", ".join(f"<{a}>" for a in aliases)
        lines.append(
            f"  #{number} ({candidate.memory_type.value}, said "
            f"{candidate.valid_from.date()}) {continued(candidate.content, MORE)}   "
            f"related: {shown}"
        )
    lines.append("\nReply with one decision per candidate.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]
