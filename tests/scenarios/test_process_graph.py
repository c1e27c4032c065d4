"""The process graph LangGraph Studio serves (`Orchestrator.process_graph`) and `process`,
which runs the same steps without the graph runtime (`process.graph`), store and answer
the same, offline and in both LLM extraction modes (where the graph takes the conditional
edge to llm_extract, or sends one task per agent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from octomem import MemoryType, Orchestrator
from octomem.models import ProcessResult
from octomem.prompts.reconcile import DecisionOutput
from octomem.testing import ScriptedModel, ScriptedRequest
from tests.conftest import T0

TALK = [
    {"role": "user", "content": "I'm Alice. I live in Paris and I love jazz."},
    {"role": "assistant", "content": "Nice! Paris has great jazz clubs."},
    {"role": "user", "content": "Bob sent me the Q3 report last week; I must review it by Friday."},
]
FACT = {
    "subject": "user",
    "attribute": "home",
    "value": "Paris",
    "statement": "Alice lives in Paris.",
    "source_turns": [0],
}


def script(request: ScriptedRequest) -> Any:
    if request.purpose == "extract":
        return {"agents": ["semantic"], "semantic": {"facts": [FACT]}}
    if request.purpose == "route":
        return {"agents": ["semantic"], "reason": "a fact about the user"}
    if request.purpose == "extract:semantic":
        return {"facts": [FACT]}
    if request.purpose.startswith("extract:"):
        return {}
    return DecisionOutput()


def _answer(result: ProcessResult) -> dict[str, Any]:
    return {
        "extraction": result.extraction,
        "operations": {
            str(memory_type): sorted((op.operation.value, op.text) for op in ops)
            for memory_type, ops in result.operations.items()
        },
        "llm_calls": result.llm.calls,
        "turns": len(result.turn_memory_ids),
    }


def _stored(orch: Orchestrator) -> list[tuple[str, str]]:
    return sorted(
        (str(record.memory_type), record.content)
        for record in orch.get_all(user_id="alice", include_superseded=True, limit=1000)
    )


@pytest.mark.parametrize("mode", [None, "single_call", "per_agent"])
def test_the_studio_graph_stores_and_answers_what_process_does(
    make_orch: Callable[..., Orchestrator], mode: str | None
) -> None:
    with ScriptedModel(script, name=f"graph-{mode}") as model:
        llm = {} if mode is None else {"llm": {"model": model.model, "extraction_mode": mode}}
        direct, graph = make_orch(**llm), make_orch(**llm)
        inputs = {"messages": TALK, "user_id": "alice", "session_id": "s1", "timestamp": T0}
        called = direct.process(TALK, user_id="alice", session_id="s1", timestamp=T0)
        state = graph.run_sync(graph.process_graph.ainvoke(inputs))
    answered = state["result"]
    assert _answer(answered) == _answer(called)
    assert called.extraction == (mode or "offline")
    assert called.operations[MemoryType.SEMANTIC], called.operations
    assert state["routing"]["semantic"] == "selected"
    assert _stored(graph) == _stored(direct)
