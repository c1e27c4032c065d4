"""The procedural agent: how-to knowledge, one current version per procedure (rules in
`agent`, LLM prompt in `prompt`)."""

from octomem.agents.procedural.agent import (
    ProceduralAgent,
)

__all__ = [
    "ProceduralAgent",
]
