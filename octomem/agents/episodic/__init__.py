"""The episodic agent: time-stamped events and the raw turns of every conversation (rules
in `agent`, LLM prompt in `prompt`)."""

from octomem.agents.episodic.agent import (
    EpisodicAgent,
    raw_turn_record,
)

__all__ = [
    "EpisodicAgent",
    "raw_turn_record",
]
