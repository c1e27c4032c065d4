"""The core agent: the persona and human blocks always given to the assistant (rules in
`agent`, LLM prompt in `prompt`)."""

from octomem.agents.core.agent import (
    HUMAN,
    CoreAgent,
    fact_line,
    human_lines,
)

__all__ = [
    "CoreAgent",
    "HUMAN",
    "fact_line",
    "human_lines",
]
