"""Weighted reciprocal rank fusion over every agent's and retriever's ranked list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from octomem.models import MemoryType, Provenance
from octomem.orchestrator.state import RankedList


def fuse(
    lists: Sequence[RankedList],
    *,
    k: int = 60,
    retriever_weights: Mapping[str, float] | None = None,
    agent_weights: Mapping[MemoryType, float] | None = None,
) -> list[tuple[str, float, list[Provenance]]]:
    """score(d) = sum over lists L containing d of w(L) / (k + rank_L(d)), rank from 1.

    w(L) is the retriever's weight times the agent's weight (1.0 when not given).
    Returns (memory_id, score, provenance) best first; ties broken by id for stability.
    """
    retriever_weights = retriever_weights or {}
    agent_weights = agent_weights or {}
    scores: dict[str, float] = defaultdict(float)
    provenance: dict[str, list[Provenance]] = defaultdict(list)
    for ranked in lists:
        weight = retriever_weights.get(ranked.retriever, 1.0) * agent_weights.get(ranked.agent, 1.0)
        for rank, (memory_id, raw) in enumerate(zip(ranked.ids, ranked.scores, strict=True), 1):
            scores[memory_id] += weight / (k + rank)
            provenance[memory_id].append(
                Provenance(agent=ranked.agent, retriever=ranked.retriever, rank=rank, score=raw)  # type: ignore[arg-type]
            )
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(memory_id, score, provenance[memory_id]) for memory_id, score in ordered]
