"""`recall.ranker: learned`: the shipped model re-orders recall's first hits by features
computed in one place for training and recall; the fused order stays the default."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from octomem import ConfigurationError
from octomem.orchestrator import learned_rank
from octomem.orchestrator.learned_rank import Ranker, feature_names, features

TURNS = [
    ("user", "I adopted a rescue greyhound called Pixel last spring."),
    ("assistant", "Greyhounds are gentle dogs; Pixel sounds lovely, enjoy the walks!"),
    ("user", "My sister Ines lives in Porto and teaches chemistry."),
    ("user", "The boiler broke again, so I called the plumber on Tuesday."),
    ("user", "I run five kilometres along the river every Sunday."),
    ("assistant", "Running by the river on Sundays is a great habit to keep."),
]
QUESTION = "What is the name of my dog?"


def recalled(make_orch: Any, **recall: Any) -> list[str]:
    orch = make_orch(recall=recall)
    for role, text in TURNS:
        orch.process([{"role": role, "content": text}], user_id="u", infer=False)
    return [hit.memory.content for hit in orch.recall(QUESTION, user_id="u").hits]


def test_the_shipped_model_knows_every_feature_octomem_computes() -> None:
    ranker = learned_rank.shipped()
    shipped = json.loads((resources.files("octomem") / "data/ranker.json").read_text("utf-8"))
    assert shipped["features"] == feature_names()
    assert len(ranker.coefficients) == len(feature_names())
    assert shipped["trained_on"]["locomo"] == ["conv-26", "conv-30"]  # the tuned part only


def test_a_model_of_other_features_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="train it again"):
        Ranker({"features": ["inverse_rank"], "mean": [0], "scale": [1], "coefficients": [1]})


def test_learned_recall_reorders_the_same_hits(make_orch: Any) -> None:
    fused = recalled(make_orch)
    learned = recalled(make_orch, ranker="learned")
    assert sorted(learned) == sorted(fused)
    assert "Pixel" in learned[0]  # the user's own turn naming the dog, above the reply


def test_features_describe_each_hit_and_only_the_pool_moves(make_orch: Any) -> None:
    orch = make_orch()
    for role, text in TURNS:
        orch.process([{"role": role, "content": text}], user_id="u", infer=False)
    hits = orch.recall(QUESTION, user_id="u", limit=6).hits
    rows = features(QUESTION, hits)
    assert len(rows) == len(hits) and all(len(r) == len(feature_names()) for r in rows)
    names = feature_names()
    assistant = [r[names.index("assistant")] for r in rows]
    said = [h.memory.internal.get("role") == "assistant" for h in hits]
    assert assistant == [float(s) for s in said]
    assert rows[0][names.index("inverse_rank")] == 1.0
    # a model that prefers the last hit: only the pool of 3 is re-ordered
    model = {
        "features": names,
        "mean": [0.0] * len(names),
        "scale": [1.0] * len(names),
        "coefficients": [-1.0 if n == "inverse_rank" else 0.0 for n in names],
        "intercept": 0.0,
    }
    reordered = Ranker(model).rerank(QUESTION, hits, pool=3)
    assert [h.id for h in reordered] == [h.id for h in [hits[2], hits[1], hits[0], *hits[3:]]]
    # the pool's scores follow the new order: a consumer sorting by score keeps it
    assert [h.score for h in reordered] == [h.score for h in hits]


def test_a_damaged_model_is_a_configuration_error_when_the_orchestrator_is_made(
    make_orch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = feature_names()
    broken = {"features": names, "mean": [0.0], "scale": [1.0], "coefficients": [1.0]}
    with pytest.raises(ConfigurationError, match="damaged|one value per feature"):
        Ranker(broken)

    def unreadable() -> Ranker:
        raise ConfigurationError("the learned ranker cannot be read: test")

    monkeypatch.setattr(learned_rank, "shipped", unreadable)
    with pytest.raises(ConfigurationError, match="cannot be read"):
        make_orch(recall={"ranker": "learned"})
    make_orch()  # the fused order needs no model
