"""`recall.fusion: rrf` ranks with its own retriever weights (`recall.rrf_weights`), not
score fusion's: ranks carry no scale, so the keyword index's ranks count fully there."""

from __future__ import annotations

from typing import Any

import pytest

from octomem.settings import load_settings

TURNS = [
    "My locker number at the gym is QX-7731, don't let me forget it.",
    "I forgot my gym bag at home again and had to train in jeans.",
    "The gym near work opens early, which suits my schedule.",
    "Training at the gym in the morning keeps my head clear.",
    "I keep forgetting things lately, my memory is a sieve.",
]
QUESTION = "Where did I note QX-7731?"


def ranking(make_orch: Any, **recall: Any) -> list[tuple[str, float]]:
    orch = make_orch(recall={"fusion": "rrf", **recall})
    for text in TURNS:
        orch.process([{"role": "user", "content": text}], user_id="u", infer=False)
    return [
        (hit.memory.content.removeprefix("user: "), hit.score)
        for hit in orch.recall(QUESTION, user_id="u").hits
    ]


def test_rrf_ranks_the_keyword_match_first_with_its_default_weights(make_orch: Any) -> None:
    assert ranking(make_orch)[0][0] == TURNS[0]


def test_rrf_uses_rrf_weights_not_the_score_fusion_weights(make_orch: Any) -> None:
    default = ranking(make_orch)
    # the score fusion weights do not reach rrf: silencing keyword there changes nothing
    assert ranking(make_orch, weights={"keyword": 0.0}) == default
    # rrf's own weights do: the locker turn, first in both lists, keeps only its vector
    # rank's share
    [(text, score), *_] = ranking(make_orch, rrf_weights={"keyword": 0.0})
    assert text == TURNS[0] and score < default[0][1]
    config = load_settings().recall
    assert score == pytest.approx(config.rrf_weights.vector / (config.rrf_k + 1))
