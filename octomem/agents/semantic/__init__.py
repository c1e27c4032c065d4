"""The semantic agent: facts about the user and their world, one current value per
attribute (rules in `agent`, re-reading an updated fact in `update`, LLM prompt in
`prompt`)."""

from octomem.agents.semantic.agent import (
    SemanticAgent,
)

__all__ = [
    "SemanticAgent",
]
