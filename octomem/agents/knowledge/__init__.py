"""The knowledge agent: the entity-relation graph with edge validity (its class and policy
in `agent`, its rules in `rules`, a fact's edge as a view of the fact in `view`, its LLM
prompt in `prompt`)."""

from octomem.agents.knowledge.agent import KnowledgeAgent

__all__ = [
    "KnowledgeAgent",
]
