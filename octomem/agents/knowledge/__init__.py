"""The knowledge agent: the entity-relation graph with edge validity (its class and policy
in `agent`, its rules in `rules`, a fact's edge as a view of the fact in `view`, its LLM
prompt in `prompt`)."""

from octomem.agents.knowledge.agent import KnowledgeAgent
from octomem.agents.knowledge.rules import fact_edge, triple_sentence

__all__ = [
    "KnowledgeAgent",
    "fact_edge",
    "triple_sentence",
]
