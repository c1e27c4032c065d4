"""Routing: which memory agents get a conversation.

Offline, every enabled agent reads every conversation (its rules are cheap and precise);
the caller can narrow the set with `memory_types`. The routing table says why each agent
was or was not chosen, for a person stepping through a run in LangGraph Studio.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from octomem.models import MemoryType


def route(
    enabled: Sequence[MemoryType],
    requested: Sequence[MemoryType] | None,
) -> dict[MemoryType, str]:
    """Map every memory type to the reason it was chosen or skipped."""
    reasons: dict[MemoryType, str] = {}
    for memory_type in MemoryType:
        if memory_type not in enabled:
            reasons[memory_type] = "skipped: disabled in config (agents.enabled)"
        elif requested is not None and memory_type not in requested:
            reasons[memory_type] = "skipped: not in memory_types of this call"
        else:
            reasons[memory_type] = "selected"
    return reasons


def selected(reasons: dict[MemoryType, str]) -> list[MemoryType]:
    return [memory_type for memory_type, why in reasons.items() if why == "selected"]


# Words in a query that say which kind of memory it asks for (recall planning).
_QUERY_CUES: dict[MemoryType, re.Pattern[str]] = {
    MemoryType.RESOURCE: re.compile(
        r"\b(documents?|docs?|files?|links?|urls?|shared|sent|pdfs?|spreadsheets?|slides?|"
        r"attachments?|images?|photos?|repo(sitory)?)\b",
        re.I,
    ),
    MemoryType.PROCEDURAL: re.compile(
        r"\b(how (do|to|can|should)|steps?|procedures?|routine|process|instructions?|recipe)\b",
        re.I,
    ),
    MemoryType.EPISODIC: re.compile(
        r"\b(when|happened|went|meet|met|visited|ago|yesterday|last (week|month|year|time)|"
        r"trip|event)\b",
        re.I,
    ),
    MemoryType.WORKING: re.compile(
        r"\b(working on|task|todo|to-do|goals?|need to|right now|currently|deadline|remind)\b", re.I
    ),
    MemoryType.CONTEXTUAL: re.compile(
        r"\b(where (am i|is \w+ now)|right now|this week|device|phone|laptop|mood|feeling)\b", re.I
    ),
}


def query_agent_weights(
    query: str, base: Mapping[MemoryType, float], boost: float
) -> dict[MemoryType, float]:
    """Configured agent weights, multiplied by `boost` for agents the query asks about."""
    weights = dict(base)
    for memory_type, cue in _QUERY_CUES.items():
        if cue.search(query):
            weights[memory_type] = weights.get(memory_type, 1.0) * boost
    return weights
