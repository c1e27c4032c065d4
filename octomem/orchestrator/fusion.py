"""Weighted reciprocal rank fusion over the agents' retriever lists.

Every agent contributes one list per retriever (vector, keyword, graph). Scores of one
retriever are comparable across agents (one embedder, one BM25 index, one graph), so a
retriever's per-agent lists are first merged into one global ranking by raw score; RRF
then fuses the retrievers:

    score(d) = sum over retrievers r that found d of  w_r * w_agent(d) / (k + rank_r(d))

This keeps a weak agent's best hit from tying with a strong agent's best hit, which is
what plain per-agent RRF does.
"""

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
    """Returns (memory_id, score, provenance) best first; ties broken by id.

    Provenance ranks are 1-based positions in the retriever's global ranking.
    """
    retriever_weights = retriever_weights or {}
    agent_weights = agent_weights or {}
    by_retriever: dict[str, list[tuple[float, str, MemoryType]]] = defaultdict(list)
    for ranked in lists:
        for memory_id, raw in zip(ranked.ids, ranked.scores, strict=True):
            by_retriever[ranked.retriever].append((raw, memory_id, ranked.agent))

    scores: dict[str, float] = defaultdict(float)
    provenance: dict[str, list[Provenance]] = defaultdict(list)
    for retriever, entries in by_retriever.items():
        entries.sort(key=lambda entry: (-entry[0], entry[1]))
        weight = retriever_weights.get(retriever, 1.0)
        for rank, (raw, memory_id, agent) in enumerate(entries, 1):
            scores[memory_id] += weight * agent_weights.get(agent, 1.0) / (k + rank)
            provenance[memory_id].append(
                Provenance(agent=agent, retriever=retriever, rank=rank, score=raw)  # type: ignore[arg-type]
            )
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(memory_id, score, provenance[memory_id]) for memory_id, score in ordered]
