"""Measures recall on the recall-regression fixture (`tests/data/recall_fixture.py`).

Two modes: `raw` (`process(infer=False)`: the turns alone) and `extract` (`process()` with
the default offline extraction). One Orchestrator per mode; one `process` call per
session at its date, for the conversation's user. A question's recall@k is the share of its
answering turns named by the first k hits (`source.message_ids`), as the LoCoMo benchmark
counts it; a category's is the mean over its questions.

`python -m tests.scenarios.recall_regression` prints the table and the questions whose
answer is not in the first 10 hits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from statistics import fmean

from benchmarks.metrics import recall_at_k
from octomem import Orchestrator
from tests.data.recall_fixture import CATEGORIES, CONVERSATIONS, KS, MODES, QUESTIONS, Question

MakeOrch = Callable[..., Orchestrator]


@dataclass(frozen=True)
class Answer:
    question: Question
    recall: dict[int, float]  # k -> recall@k
    top: list[str]  # the first hits' contents, best first


USERS = {c.name: c.user for c in CONVERSATIONS}


def ingest(orch: Orchestrator, mode: str) -> None:
    for conversation in CONVERSATIONS:
        for number, session in enumerate(conversation.sessions, 1):
            orch.process(
                conversation.messages(number),
                user_id=conversation.user,
                session_id=f"{conversation.name}-{number}",
                timestamp=session.at,
                infer=mode == "extract",
            )


def ask(orch: Orchestrator) -> list[Answer]:
    answers = []
    for question in QUESTIONS:
        user = USERS[question.conversation]
        result = orch.recall(question.text, user_id=user, limit=max(KS))
        ranked = [hit.memory.source.message_ids for hit in result.hits]
        recall = {k: recall_at_k(question.answers, ranked, k) for k in KS}
        answers.append(Answer(question, recall, [hit.memory.content for hit in result.hits]))
    return answers


def run_mode(make_orch: MakeOrch, mode: str) -> list[Answer]:
    """Ingest the fixture into a fresh Orchestrator (`make_orch()`) and ask every question."""
    orch = make_orch()
    try:
        ingest(orch, mode)
        return ask(orch)
    finally:
        orch.close()


def recall_by_category(answers: list[Answer]) -> dict[str, dict[int, float]]:
    """Mean recall@k per category, in percent."""
    values: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for answer in answers:
        for k, value in answer.recall.items():
            values[answer.question.category][k].append(value)
    return {
        category: {k: 100.0 * fmean(values[category][k]) for k in KS}
        for category in CATEGORIES
        if category in values
    }


def table(results: dict[str, list[Answer]]) -> str:
    """Markdown: category, questions, recall@k per mode (percent)."""
    rates = {mode: recall_by_category(answers) for mode, answers in results.items()}
    counts = {c: sum(q.category == c for q in QUESTIONS) for c in CATEGORIES}
    heads = [f"{mode} R@{k}" for mode in results for k in KS]
    lines = [
        "| category | questions | " + " | ".join(heads) + " |",
        "|---|---:|" + "---:|" * len(heads),
    ]
    for category in [*CATEGORIES, "all"]:
        cells = []
        for mode, answers in results.items():
            for k in KS:
                if category == "all":
                    value = 100.0 * fmean(a.recall[k] for a in answers)
                else:
                    value = rates[mode][category][k]
                cells.append(f"{value:.0f}")
        count = len(QUESTIONS) if category == "all" else counts[category]
        lines.append(f"| {category} | {count} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def misses(answers: list[Answer]) -> str:
    """One line per question with an answering turn outside the first 10 hits."""
    k = max(KS)
    return "\n".join(
        f"  {a.question.category} / {a.question.conversation}: {a.question.text} "
        f"R@{k}={a.recall[k]:.2f}; top: {a.top[:2]}"
        for a in answers
        if a.recall[k] < 1.0
    )


def main() -> None:
    """Both modes on fresh stores in a temporary directory, then the misses and the table."""
    import tempfile
    from pathlib import Path

    from octomem.orchestrator.lifecycle import build_embedder
    from octomem.settings import load_settings

    embedder = build_embedder(load_settings())
    results: dict[str, list[Answer]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in MODES:

            def make_orch(mode: str = mode) -> Orchestrator:
                settings = load_settings(data_dir=Path(tmp) / mode)
                return Orchestrator(settings, embedder=embedder)

            results[mode] = run_mode(make_orch, mode)
    for mode, answers in results.items():
        print(f"\n{mode} misses:\n{misses(answers)}")
    print("\n" + table(results))


if __name__ == "__main__":
    main()
