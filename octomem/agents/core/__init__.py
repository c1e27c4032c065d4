"""The core agent: the persona and human blocks always given to the assistant (its class
and policy in `agent`, its rules in `rules`, the human block as a view of the user's facts
in `view`, its LLM prompt in `prompt`)."""

from octomem.agents.core.agent import CoreAgent

__all__ = [
    "CoreAgent",
]
