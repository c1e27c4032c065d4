"""A realistic three-session conversation (the demo's): every agent stores what a reader
would agree with, and recall finds it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from octomem import MemoryType, Orchestrator
from octomem.demo import DemoReport, load_sample, run_demo


@pytest.fixture
def report(shared_orch: Orchestrator, uid: Callable[[str], str]) -> DemoReport:
    """The demo run on the module's shared store, by a user of the test's own."""
    sample = load_sample()
    return run_demo(shared_orch, {**sample, "user_id": uid(sample["user_id"])})


def _texts(report: DemoReport, memory_type: MemoryType, *, current: bool = True) -> str:
    return " | ".join(
        m.content for m in report.stored.get(memory_type, []) if m.is_current or not current
    )


def test_every_agent_stores_what_was_said(report: DemoReport) -> None:
    core = _texts(report, MemoryType.CORE)
    assert "Alice Chen" in core and "Berlin" in core and "Paris" not in core
    assert "helpful personal assistant" in core  # persona block from the system prompt

    episodic = _texts(report, MemoryType.EPISODIC)
    assert "went to the Louvre" in episodic and "met Kenji" in episodic
    assert episodic.count("user: ") + episodic.count("assistant: ") >= 13  # raw turns kept

    semantic = _texts(report, MemoryType.SEMANTIC)
    for fact in (
        "lives in Berlin",
        "works at Acme Robotics",
        "likes sushi",
        "dislikes cilantro",
        "allergic to peanuts",
    ):
        assert fact in semantic
    assert "lives in Paris" in _texts(report, MemoryType.SEMANTIC, current=False)
    assert "lives in Paris" not in semantic

    procedural = _texts(report, MemoryType.PROCEDURAL)
    assert "Flash it over USB" in procedural and "Open the analytics dashboard" in procedural

    working = _texts(report, MemoryType.WORKING)
    assert "keynote slides" in working

    contextual = _texts(report, MemoryType.CONTEXTUAL)
    assert "Tokyo" in contextual and "phone" in contextual

    knowledge = _texts(report, MemoryType.KNOWLEDGE)
    assert "Maria works at Google" in knowledge and "Tom is married to Anna" in knowledge

    resource = _texts(report, MemoryType.RESOURCE)
    assert "sales_q1.csv" in resource and "docs.example.com/q1-robotics-report" in resource


def _answer(report: DemoReport, query: str, top: int = 3) -> str:
    for question, recalled in report.answers:
        if question["query"] == query:
            return " | ".join(hit.memory.content for hit in recalled.hits[:top])
    raise AssertionError(f"no question {query!r} in the sample")


def test_recall_answers_the_sample_questions(report: DemoReport) -> None:
    assert "Berlin" in _answer(report, "Where does Alice live?", top=1)
    assert "Paris" in _answer(report, "Where did Alice live before?")
    assert "Flash it over USB" in _answer(report, "How do I deploy the robot firmware?", top=1)
    assert "keynote" in _answer(report, "What is Alice working on right now?", top=1)
    assert "q1-robotics-report" in _answer(report, "Which documents did Alice share?")
    assert "Google" in _answer(report, "Where does Maria work?", top=1)
    assert "sushi" in _answer(report, "What food does Alice like?", top=1)
    assert "Kenji" in _answer(report, "Who did Alice meet in Tokyo?", top=5)


def test_recall_returns_core_blocks_and_provenance(report: DemoReport) -> None:
    question, recalled = report.answers[0]
    assert {block.label for block in recalled.core} == {"human", "persona"}
    assert all(hit.memory_type is not MemoryType.CORE for hit in recalled.hits)
    top = recalled.hits[0]
    assert top.provenance and {p.retriever for p in top.provenance} <= {
        "vector",
        "keyword",
        "graph",
        "current",  # it replaces what a lower, stale turn said
    }
    assert all(p.rank >= 1 for p in top.provenance)
    scores = [hit.score for hit in recalled.hits]
    assert scores == sorted(scores, reverse=True)


def test_sample_ships_with_the_package() -> None:
    sample = load_sample()
    assert len(sample["sessions"]) == 3 and sample["questions"]
