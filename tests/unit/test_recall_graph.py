"""The recall graph (LangGraph Studio) and `Orchestrator.recall` run the same steps: the
same hits, scores and provenance, and the graph's state shows each step's output."""

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


def test_graph_and_direct_recall_give_the_same_hits(
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
        assert isinstance(state["plan"], RecallPlan) and state["plan"].now == NOW
        assert {ranked.agent for ranked in state["ranked"]} <= set(state["plan"].agents)


def test_graph_recall_with_no_agent_to_search_returns_no_hits(orch: Orchestrator) -> None:
    # a store of its own: which agents have anything to search is known per store
    state = orch.run_sync(orch.recall_graph.ainvoke({"query": "anything", "user_id": "nobody"}))
    assert state["plan"].agents == ()
    assert state["result"].hits == []
