"""Every system's answer to every question of a LoCoMo-format run, and recall over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.metrics import any_within, mean_recall, recall_from_ranks

KS = (5, 10, 25)
SESSION_KS = (1, 3, 5)  # session-level recall_any@k


@dataclass(frozen=True)
class Answer:
    """One system's ranking for one question: for each evidence turn, the rank (1-based)
    of the first hit that holds it, or None when no hit among those asked for did."""

    system: str
    sample_id: str
    question: int  # index in the sample's `qa` list
    category: int
    question_type: str | None
    ranks: dict[str, int | None]
    sessions: dict[str, int | None] = field(default_factory=dict)  # `metrics.session_ranks`

    def recall(self, k: int) -> float:
        return recall_from_ranks(list(self.ranks.values()), k)

    def session_recall_any(self, k: int) -> float:
        return any_within(self.sessions.values(), k)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Answer:
        return cls(
            item["system"],
            item["sample_id"],
            item["question"],
            item["category"],
            item.get("question_type"),
            item["evidence_ranks"],
            item.get("session_ranks", {}),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "sample_id": self.sample_id,
            "question": self.question,
            "category": self.category,
            **({"question_type": self.question_type} if self.question_type else {}),
            "evidence_ranks": self.ranks,
            **{f"recall@{k}": round(self.recall(k), 4) for k in KS},
            **({"session_ranks": self.sessions} if self.sessions else {}),
        }


@dataclass
class Scores:
    """Every system's answer to every question, and recall means over any part of them."""

    answers: list[Answer] = field(default_factory=list)

    def add(self, answer: Answer) -> None:
        self.answers.append(answer)

    def picked(
        self,
        system: str,
        category: int | None = None,
        samples: Sequence[str] | None = None,
        question_type: str | None = None,
    ) -> list[Answer]:
        return [
            a
            for a in self.answers
            if a.system == system
            and (category is None or a.category == category)
            and (samples is None or a.sample_id in samples)
            and (question_type is None or a.question_type == question_type)
        ]

    def recall(
        self,
        system: str,
        k: int,
        category: int | None = None,
        samples: Sequence[str] | None = None,
        question_type: str | None = None,
    ) -> tuple[float, int]:
        values = [a.recall(k) for a in self.picked(system, category, samples, question_type)]
        return mean_recall(values), len(values)

    def session_recall_any(
        self, system: str, k: int, samples: Sequence[str] | None = None
    ) -> tuple[float, int]:
        """Mean session-level recall_any@k over the answers that carry session ranks."""
        values = [
            a.session_recall_any(k) for a in self.picked(system, samples=samples) if a.sessions
        ]
        return mean_recall(values), len(values)

    def paired(
        self, first: str, second: str, k: int, samples: Sequence[str] | None = None
    ) -> tuple[list[float], list[float]]:
        """Recall@k of two systems on the questions both answered, in the same order."""
        theirs = {(a.sample_id, a.question): a for a in self.picked(second, samples=samples)}
        pairs = [
            (a.recall(k), theirs[key].recall(k))
            for a in self.picked(first, samples=samples)
            if (key := (a.sample_id, a.question)) in theirs
        ]
        return [x for x, _ in pairs], [y for _, y in pairs]

    @property
    def question_types(self) -> list[str]:
        return sorted({a.question_type for a in self.answers if a.question_type})
