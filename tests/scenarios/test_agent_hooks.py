"""Per-type behaviour comes from the agents' hooks, not from lists in the orchestrator:
the same conversation behaves otherwise when a built-in agent's hook is changed, and no
orchestrator module names a built-in memory type or agent."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import octomem.orchestrator
from octomem import Orchestrator
from octomem.agents import CoreAgent, EpisodicAgent, SemanticAgent, WorkingAgent
from octomem.embeddings import Embedder
from octomem.errors import InvalidInputError
from octomem.models import MemoryType
from octomem.settings import load_settings

TASK_AND_HOME = "I'm working on the quarterly report today. I live in Paris."


@pytest.fixture
def open_orch(tmp_path: Path, embedder: Embedder) -> Iterator[Any]:
    opened: list[Orchestrator] = []

    def make(*agents: object) -> Orchestrator:
        settings = load_settings(data_dir=tmp_path / f"om{len(opened)}")
        orch = Orchestrator(settings, agents=agents, embedder=embedder)
        opened.append(orch)
        return orch

    yield make
    for orch in opened:
        orch.close()


def said(orch: Orchestrator, text: str, session: str = "s1") -> None:
    orch.process([{"role": "user", "content": text}], user_id="u", session_id=session)


class SharedWorking(WorkingAgent):
    session_scoped = False


@pytest.mark.parametrize(("agent", "found"), [(WorkingAgent(), False), (SharedWorking(), True)])
def test_session_scoped_decides_whether_a_session_narrows_an_agents_memories(
    open_orch: Any, agent: WorkingAgent, found: bool
) -> None:
    orch = open_orch(agent)
    said(orch, TASK_AND_HOME, session="s1")
    hits = orch.recall("what am I working on?", user_id="u", session_id="s2").hits
    working = [h for h in hits if h.memory.memory_type is MemoryType.WORKING]
    assert bool(working) is found


class RankedCore(CoreAgent):
    always_recalled = False


def test_always_recalled_decides_whether_blocks_come_whole_or_rank(open_orch: Any) -> None:
    whole, ranked = open_orch(), open_orch(RankedCore())
    for orch in (whole, ranked):
        said(orch, TASK_AND_HOME)
    default = whole.recall("where do I live?", user_id="u")
    assert [c.content for c in default.core] == ["Lives in: Paris"]
    assert MemoryType.CORE not in {h.memory.memory_type for h in default.hits}
    asked = ranked.recall("where do I live?", user_id="u")
    assert asked.core == []
    assert "Lives in: Paris" in [h.memory.content for h in asked.hits]


class QuietSemantic(SemanticAgent):
    marks_stale_turns = False


@pytest.mark.parametrize(("agent", "marked"), [(SemanticAgent(), True), (QuietSemantic(), False)])
def test_marks_stale_turns_decides_whether_a_closed_fact_marks_its_turns(
    open_orch: Any, agent: SemanticAgent, marked: bool
) -> None:
    orch = open_orch(agent)
    said(orch, TASK_AND_HOME)
    said(orch, "I moved to Berlin.")
    turns = orch.get_all(user_id="u", memory_types=["episodic"])
    [paris_turn] = [t for t in turns if t.content.startswith("user: I'm working")]
    assert bool(paris_turn.internal.get("outdated")) is marked


class Forgetful(EpisodicAgent):
    keeps_turns = False


def test_an_agent_set_in_which_no_agent_keeps_the_turns_is_refused(open_orch: Any) -> None:
    with pytest.raises(InvalidInputError, match="keeps the raw turns"):
        open_orch(Forgetful())


_BUILTIN = {t.name for t in MemoryType} | {t.value for t in MemoryType}


def _names_a_builtin(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "MemoryType"
        and node.attr in _BUILTIN
    ):
        return f"MemoryType.{node.attr}"
    if isinstance(node, ast.ImportFrom) and node.module:
        parts = node.module.split(".")
        if parts[:2] == ["octomem", "agents"] and len(parts) > 2 and parts[2] in _BUILTIN:
            return f"import of {node.module}"
        if node.module == "octomem.agents":
            agents = [a.name for a in node.names if a.name.endswith("Agent")]
            named = [a for a in agents if a not in {"BaseAgent", "MemoryAgent"}]
            return f"import of {named}" if named else None
    return None


def test_no_orchestrator_module_names_a_builtin_memory_type_or_agent() -> None:
    root = Path(octomem.orchestrator.__file__).parent
    found = [
        f"{path.name}:{node.lineno}: {what}"
        for path in sorted(root.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if (what := _names_a_builtin(node)) is not None
    ]
    assert found == []
