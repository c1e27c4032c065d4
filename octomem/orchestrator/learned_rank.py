"""A learned re-ranking of recall's first hits (`recall.ranker: learned`).

Each of the first `recall.ranker_pool` hits of the fused ranking is described by the
features below - its fused rank and score, each retriever's rank and score, its agent,
whether it is a raw turn, said by the assistant (and to a question about the user), by
someone the query names, its length, how many of the pool share its session, whether it
is stale - and scored by a logistic model trained on the tuned parts of LoCoMo and
LongMemEval (`python -m benchmarks.train_ranker`, shipped as ``octomem/data/ranker.json``:
its feature names, standardisation and coefficients). The pool is re-ordered by that
score, its fused scores handed out again in the new order; the hits after it keep their
places. It was trained with a pool of 50 (`recall.ranker_pool`'s default): another pool
changes what some features mean. Features are computed here, for training and
for recall alike, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from octomem.errors import ConfigurationError
from octomem.models import MemoryType, RecallHit
from octomem.orchestrator.fusion import FIRST_PERSON, SECOND_PERSON, named_in

RETRIEVERS = ("vector", "keyword", "graph", "context", "current")
AGENTS = tuple(t.value for t in MemoryType)


def feature_names() -> list[str]:
    names = ["inverse_rank", "log_rank", "score_share"]
    for retriever in RETRIEVERS:
        names += [f"{retriever}_found", f"{retriever}_inverse_rank", f"{retriever}_score"]
    names += [f"agent_{agent}" for agent in AGENTS]
    return [
        *names,
        "raw_turn",
        "assistant",
        "assistant_to_user_question",
        "actor_named",
        "log_length",
        "session_share",
        "stale",
    ]


def features(query: str, hits: Sequence[RecallHit]) -> list[list[float]]:
    """One row per hit, in `feature_names` order."""
    if not hits:
        return []
    top = hits[0].score or 1.0
    keyword = [p.score or 0.0 for h in hits for p in h.provenance if p.retriever == "keyword"]
    keyword_best = max(keyword, default=0.0) or 1.0
    sessions = Counter(h.memory.session_id or "" for h in hits)
    named = named_in(query)
    about_user = FIRST_PERSON.search(query) is not None and not SECOND_PERSON.search(query)
    rows = []
    for position, hit in enumerate(hits):
        row = [1 / (1 + position), math.log(1 + position), hit.score / top]
        for retriever in RETRIEVERS:
            found = [p for p in hit.provenance if p.retriever == retriever]
            best = min((p.rank for p in found), default=None)
            score = max((p.score or 0.0 for p in found), default=0.0)
            if retriever == "keyword":
                score /= keyword_best
            row += [1.0 if found else 0.0, 1 / best if best else 0.0, score]
        row += [1.0 if hit.memory_type.value == agent else 0.0 for agent in AGENTS]
        memory = hit.memory
        actor = getattr(memory, "actor", None)
        role = memory.internal.get("role")
        assistant = role == "assistant" or (isinstance(actor, str) and actor.lower() == "assistant")
        row += [
            float(bool(memory.internal.get("raw"))),
            float(assistant),
            float(assistant and about_user),
            float(named(actor)),
            math.log(1 + len(memory.content)),
            sessions[memory.session_id or ""] / len(hits),
            float(bool(hit.replaced_by)),
        ]
        rows.append(row)
    return rows


class Ranker:
    """A logistic model over `features`: the score of a row is its standardised features
    weighted by `coefficients`, plus `intercept`."""

    def __init__(self, model: dict[str, Any]) -> None:
        names = feature_names()
        if not isinstance(model, dict) or model.get("features") != names:
            raise ConfigurationError(
                "the learned ranker was trained on other features than octomem computes; "
                "train it again (python -m benchmarks.train_ranker)"
            )
        try:
            self.mean = [float(x) for x in model["mean"]]
            self.scale = [float(x) or 1.0 for x in model["scale"]]
            self.coefficients = [float(x) for x in model["coefficients"]]
            self.intercept = float(model["intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"the learned ranker's model is damaged: {exc!r}") from exc
        if not len(self.mean) == len(self.scale) == len(self.coefficients) == len(names):
            raise ConfigurationError("the learned ranker's model has one value per feature")

    def scores(self, rows: list[list[float]]) -> list[float]:
        terms = list(zip(self.mean, self.scale, self.coefficients, strict=True))
        return [
            self.intercept + sum(c * (x - m) / s for x, (m, s, c) in zip(row, terms, strict=True))
            for row in rows
        ]

    def rerank(self, query: str, hits: list[RecallHit], pool: int) -> list[RecallHit]:
        """The first `pool` hits in the model's order (ties keep their fused order), then
        the rest as they were. The pool's scores are handed out again in the new order
        (each hit keeps its provenance), so whatever sorts hits by score keeps it."""
        head = hits[:pool]
        scored = self.scores(features(query, head))
        order = sorted(range(len(head)), key=lambda i: -scored[i])
        scores = sorted((hit.score for hit in head), reverse=True)
        moved = [
            head[i].model_copy(update={"score": s}) for i, s in zip(order, scores, strict=True)
        ]
        return moved + hits[pool:]


@cache
def shipped() -> Ranker:
    """The model shipped with octomem (``octomem/data/ranker.json``); ConfigurationError if
    it is missing or damaged (the Orchestrator loads it when made, with `recall.ranker:
    learned`)."""
    try:
        text = resources.files("octomem").joinpath("data/ranker.json").read_text("utf-8")
        model = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"the learned ranker cannot be read: {exc}") from exc
    return Ranker(model)
