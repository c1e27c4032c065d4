"""The knowledge agent: the entity-relation graph with edge validity (rules in `agent`, LLM
prompt in `prompt`)."""

from octomem.agents.knowledge.agent import (
    ATTR_PREDICATE,
    KnowledgeAgent,
    edge_key,
    fact_edge,
    triple_sentence,
)

__all__ = [
    "ATTR_PREDICATE",
    "KnowledgeAgent",
    "edge_key",
    "fact_edge",
    "triple_sentence",
]
