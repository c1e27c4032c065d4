"""The resource agent: documents, links and files the user mentioned (rules in `agent`, LLM
prompt in `prompt`)."""

from octomem.agents.resource.agent import (
    ResourceAgent,
)

__all__ = [
    "ResourceAgent",
]
