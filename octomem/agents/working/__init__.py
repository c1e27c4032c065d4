"""The working agent: short-lived task state of one session (rules in `agent`, LLM prompt
in `prompt`)."""

from octomem.agents.working.agent import (
    WorkingAgent,
)

__all__ = [
    "WorkingAgent",
]
