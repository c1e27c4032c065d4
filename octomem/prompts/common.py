"""Shared pieces of the extraction prompts: the system prompt, the transcript and what is
known besides it."""

from __future__ import annotations

from collections.abc import Sequence

from octomem.agents.base import ExtractionContext
from octomem.language.speakers import other_speakers
from octomem.models import Turn

Messages = list[dict[str, str]]  # a chat call's messages, as the prompts write them

SYSTEM = (
    "You are the memory extractor of an AI assistant. From a conversation between a user "
    "and an assistant you write down what is worth remembering about the user and their "
    "world, as short self-contained statements: who, what and when, with absolute dates "
    "(resolve 'yesterday', 'last Friday', 'in two weeks' against the timestamp of the turn "
    "that says it). Refer to the user by name when the conversation or the known name gives "
    "it, else as 'the user'. Facts about the user come only from the user's own turns: what "
    "the assistant says about itself or suggests is never a fact about the user. Values "
    "shown as [MASKED ...] are secrets: keep them masked, never guess them. Leave a list "
    "empty when there is nothing for it; never invent."
)


def transcript(turns: Sequence[Turn]) -> str:
    return "\n".join(_block(f"[{number}] ", turn) for number, turn in enumerate(turns))


def context_lines(ctx: ExtractionContext, turns: Sequence[Turn] = ()) -> str:
    known = ctx.user_name or "unknown"
    lines = f"Known name of the user: {known}. Now: {ctx.now.isoformat()}."
    others = sorted(set(other_speakers(turns, ctx.scope.user_id, ctx.user_name).values()))
    if others:
        lines += (
            f"\nOther people speaking in user turns, not the user: {', '.join(others)}. What "
            "they say about themselves is about them (the subject is their name), never the "
            "user's."
        )
    if ctx.earlier:
        said = "\n".join(_block("- ", turn) for turn in ctx.earlier)
        lines += (
            "\n\nEarlier in this conversation, remembered already (context only: extract "
            f"nothing from these lines):\n{said}"
        )
    return lines


def continued(text: str, indent: str = "  ") -> str:
    """`text` with every line after its first indented: none of its lines passes for one
    of the prompt's own (a numbered turn, an alias, a section), whichever line break it
    uses (any a tokenizer may read as one: U+2028, U+0085, ...)."""
    return f"\n{indent}".join(text.splitlines())


def _block(lead: str, turn: Turn) -> str:
    who = f"{turn.role}" + (f" ({turn.name})" if turn.name else "")
    return lead + continued(f"{turn.timestamp.isoformat()} {who}: {turn.content}")
