from __future__ import annotations

from octomem.models import MemoryType
from octomem.orchestrator.fusion import fuse
from octomem.plans import RankedList

SEM, EPI = MemoryType.SEMANTIC, MemoryType.EPISODIC


def ranked(agent: MemoryType, retriever: str, *pairs: tuple[str, float]) -> RankedList:
    return RankedList(
        agent=agent, retriever=retriever, ids=[p[0] for p in pairs], scores=[p[1] for p in pairs]
    )


def test_rrf_scores_by_hand() -> None:
    fused = fuse(
        [
            ranked(SEM, "vector", ("a", 0.9), ("b", 0.8)),
            ranked(SEM, "keyword", ("b", 5.0), ("c", 1.0)),
        ],
        k=60,
    )
    scores = {memory_id: score for memory_id, score, _ in fused}
    assert scores["a"] == 1 / 61
    assert scores["b"] == 1 / 62 + 1 / 61
    assert scores["c"] == 1 / 62
    assert [m for m, _, _ in fused] == ["b", "a", "c"]


def test_lists_of_one_retriever_merge_across_agents_by_raw_score() -> None:
    # a weak episodic best hit (0.2) must rank below a strong semantic second hit (0.7)
    fused = fuse(
        [
            ranked(SEM, "vector", ("s1", 0.9), ("s2", 0.7)),
            ranked(EPI, "vector", ("e1", 0.2)),
        ]
    )
    assert [m for m, _, _ in fused] == ["s1", "s2", "e1"]
    provenance = {m: p for m, _, p in fused}
    assert [(p.agent, p.retriever, p.rank) for p in provenance["e1"]] == [(EPI, "vector", 3)]


def test_weights() -> None:
    lists = [ranked(SEM, "vector", ("a", 0.9)), ranked(EPI, "keyword", ("b", 3.0))]
    assert fuse(lists)[0][0] == "a"  # tie broken by id
    assert fuse(lists, retriever_weights={"keyword": 2.0})[0][0] == "b"
    assert fuse(lists, agent_weights={EPI: 3.0})[0][0] == "b"
