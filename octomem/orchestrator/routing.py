"""Routing: which memory agents get a conversation, and which a query asks about.

Offline, every enabled agent reads every conversation (its rules are cheap and precise);
the caller can narrow the set with `memory_types`. The routing table says why each agent
was or was not chosen, for a person stepping through a run in LangGraph Studio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from octomem.agents.base import MemoryAgent
from octomem.models import MemoryType


def route(
    agents: Mapping[MemoryType, MemoryAgent],
    enabled: Sequence[MemoryType],
    requested: Sequence[MemoryType] | None,
) -> dict[MemoryType, str]:
    """Map every agent's memory type to the reason it was chosen or skipped."""
    reasons: dict[MemoryType, str] = {}
    for memory_type in agents:
        if memory_type not in enabled:
            reasons[memory_type] = "skipped: disabled in config (agents.enabled)"
        elif requested is not None and memory_type not in requested:
            reasons[memory_type] = "skipped: not in memory_types of this call"
        else:
            reasons[memory_type] = "selected"
    return reasons


def selected(reasons: dict[MemoryType, str]) -> list[MemoryType]:
    return [memory_type for memory_type, why in reasons.items() if why == "selected"]


def query_agent_weights(
    query: str,
    base: Mapping[MemoryType, float],
    boost: float,
    agents: Mapping[MemoryType, MemoryAgent],
) -> dict[MemoryType, float]:
    """Configured agent weights, multiplied by `boost` for the agents whose query cue
    (`MemoryAgent.query_cue`) the query matches."""
    weights = dict(base)
    for memory_type, agent in agents.items():
        if agent.query_cue is not None and agent.query_cue.search(query):
            weights[memory_type] = weights.get(memory_type, 1.0) * boost
    return weights
