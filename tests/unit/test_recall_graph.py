"""The recall graph LangGraph Studio shows: each step's output is in its state, and its
result is `Orchestrator.recall`'s (both run the steps of `recall.steps`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from octomem import Orchestrator
from octomem.models import RecallResult
from octomem.plans import RecallPlan

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _ranking(result: RecallResult) -> list[tuple[str, float, list[Any], list[str]]]:
    return [
        (
            hit.memory.id,
            round(hit.score, 9),
            [p.model_dump() for p in hit.provenance],
            [r.id for r in hit.replaced_by],
        )
        for hit in result.hits
    ]


def test_studio_shows_each_recall_step_and_recalls_answer(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(
        [
            {"role": "user", "content": "I'm Alice. I live in Paris and I love jazz."},
            {"role": "user", "content": "Bob sent me the Q3 report last week."},
        ],
        user_id=alice,
        session_id="s1",
    )
    orch.process("I moved to Berlin.", user_id=alice, session_id="s2")
    graph = orch.recall_graph
    for query, arguments in [
        ("where does alice live?", {}),
        ("what did Bob send?", {"limit": 2}),
        ("where does alice live?", {"include_superseded": True, "memory_types": None}),
    ]:
        direct = orch.recall(query, user_id=alice, now=NOW, **arguments)
        state = orch.run_sync(
            graph.ainvoke({"query": query, "user_id": alice, "now": NOW, **arguments})
        )
        assert direct.hits, query
        assert _ranking(state["result"]) == _ranking(direct), query
        assert [c.id for c in state["result"].core] == [c.id for c in direct.core]
        plan = state["plan"]
        assert isinstance(plan, RecallPlan) and plan.now == NOW
        assert len(state["shared"].embedding) == orch.embedder.dimension
        assert {ranked.agent for ranked in state["ranked"]} <= set(plan.agents)
        hit_ids = {hit.memory.id for hit in state["result"].hits}
        assert hit_ids <= set(state["records"])


def test_graph_recall_with_no_agent_to_search_returns_no_hits(orch: Orchestrator) -> None:
    # a store of its own: which agents have anything to search is known per store, once
    # it is open (the graphs run on open stores)
    orch.open()
    state = orch.run_sync(orch.recall_graph.ainvoke({"query": "anything", "user_id": "nobody"}))
    assert state["plan"].agents == ()
    assert state["result"].hits == []
    assert orch.recall("anything", user_id="nobody").hits == []
