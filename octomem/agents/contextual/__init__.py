"""The contextual agent: the situation the user is in, latest per kind (rules in `agent`,
LLM prompt in `prompt`)."""

from octomem.agents.contextual.agent import (
    ContextualAgent,
)

__all__ = [
    "ContextualAgent",
]
