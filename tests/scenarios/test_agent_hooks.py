"""Per-type behaviour comes from the roles the agents play (`octomem.agents.base`), not
from lists in the orchestrator: the same conversation behaves otherwise when a built-in
agent drops a role, a custom agent that plays a role gets what the role gives, no
orchestrator module names a built-in memory type or agent, and no module outside the agents
and the models names a concrete memory class."""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import octomem
import octomem.orchestrator
from octomem import Orchestrator
from octomem.agents import CoreAgent, EpisodicAgent, SemanticAgent, WorkingAgent
from octomem.agents.base import BaseAgent, ExtractionContext, record_fields
from octomem.embeddings import Embedder
from octomem.errors import InvalidInputError
from octomem.models import (
    BUILTIN_TYPES,
    RECORD_CLASS,
    CustomMemory,
    Entity,
    MemoryBase,
    MemoryType,
    Relation,
    Turn,
)
from octomem.orchestrator.internals import services_of
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
    block = None  # drops the AlwaysRecalled role


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
    said = None  # drops the MarksStaleTurns role


@pytest.mark.parametrize(("agent", "marked"), [(SemanticAgent(), True), (QuietSemantic(), False)])
def test_the_stale_role_decides_whether_a_closed_fact_marks_its_turns(
    open_orch: Any, agent: SemanticAgent, marked: bool
) -> None:
    orch = open_orch(agent)
    said(orch, TASK_AND_HOME)
    said(orch, "I moved to Berlin.")
    turns = orch.get_all(user_id="u", memory_types=["episodic"])
    [paris_turn] = [t for t in turns if t.content.startswith("user: I'm working")]
    assert bool(paris_turn.internal.get("outdated")) is marked


class Forgetful(EpisodicAgent):
    turn_records = None  # drops the TurnLog role


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
        f"{path.relative_to(root)}:{node.lineno}: {what}"
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if (what := _names_a_builtin(node)) is not None
    ]
    assert found == []


_RECORD_CLASSES = {RECORD_CLASS[t].__name__ for t in BUILTIN_TYPES}


def test_no_module_outside_the_agents_and_the_models_names_a_concrete_memory_class() -> None:
    """Agents own their types: the orchestrator, the stores and the surfaces reach a
    record's type through its agent's roles (`octomem.__init__` re-exports the models as
    the public API)."""
    root = Path(octomem.__file__).parent
    exempt = {root / "models.py", root / "__init__.py"}
    found = []
    for path in sorted(root.rglob("*.py")):
        if path in exempt or (root / "agents") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else []
            names += [node.id] if isinstance(node, ast.Name) else []
            names += [node.attr] if isinstance(node, ast.Attribute) else []
            found += [
                f"{path.relative_to(root)}:{node.lineno}: {n}"
                for n in names
                if n in _RECORD_CLASSES
            ]
    assert found == []


FRIENDSHIP = MemoryType("friendship")
_FRIENDS = re.compile(r"\b([A-Z][a-z]+) and ([A-Z][a-z]+) are best friends\b")


class FriendshipAgent(BaseAgent):
    """A custom agent that plays `GraphProjection`: each friendship is an edge."""

    memory_type = FRIENDSHIP
    record_type = CustomMemory

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        return [
            CustomMemory(
                id=ctx.memory_id(FRIENDSHIP, a, b),
                memory_type=FRIENDSHIP,
                content=f"{a} and {b} are best friends.",
                attributes={"friends": [a, b]},
                **record_fields(turn, ctx, "friendship"),
            )
            for turn in turns
            for a, b in _FRIENDS.findall(turn.content)
        ]

    def linked_names(self, record: MemoryBase) -> list[str]:
        return list(getattr(record, "attributes", {}).get("friends", []))

    def edge(self, record: MemoryBase) -> Relation | None:
        a, b = getattr(record, "attributes", {})["friends"]
        return Relation(
            id=record.id,
            user_id=record.user_id,
            subject_id=Entity.make_id(record.user_id, a),
            predicate="BEST_FRIENDS_WITH",
            object_id=Entity.make_id(record.user_id, b),
            fact=record.content,
            memory_id=record.id,
            valid_at=record.valid_from,
            invalid_at=record.valid_to,
            created_at=record.created_at,
        )


def test_a_custom_agent_with_a_graph_projection_gets_its_edges_written_and_checked(
    open_orch: Any,
) -> None:
    orch = open_orch(FriendshipAgent())
    said(orch, "Maria and Laura are best friends.")
    [record] = orch.get_all(user_id="u", memory_types=["friendship"])
    graph = services_of(orch).graph

    def edge() -> Relation:
        edges = orch.run_sync(graph.relations("u"))
        return next(e for e in edges if e.id == record.id)

    written = edge()
    assert (written.predicate, written.fact, written.invalid_at) == (
        "BEST_FRIENDS_WITH",
        "Maria and Laura are best friends.",
        None,
    )
    entities = {e.name: e.id for e in orch.run_sync(graph.find_entities("u", ["Maria", "Laura"]))}
    assert (written.subject_id, written.object_id) == (entities["Maria"], entities["Laura"])
    assert orch.check().consistent

    # doctor compares the stored edge with the one the record implies, and repairs it
    orch.run_sync(graph.upsert_relations([written.model_copy(update={"fact": "Rivals."})]))
    report = orch.check()
    assert [s.stale for s in report.stores if s.store == "graph"] == [[record.id]]
    assert orch.check(repair=True).remaining == 0
    assert edge().fact == "Maria and Laura are best friends."

    # a deletion invalidates the edge, never deletes it
    orch.delete(record.id)
    assert edge().invalid_at is not None
    assert orch.check().consistent


def test_a_custom_agents_edges_and_their_entities_travel_with_an_export(open_orch: Any) -> None:
    source = open_orch(FriendshipAgent())
    said(source, "Maria and Laura are best friends.")
    [record] = source.get_all(user_id="u", memory_types=["friendship"])
    exported = io.StringIO()
    source.export_jsonl(exported)

    target = open_orch(FriendshipAgent())
    summary = target.import_jsonl(io.StringIO(exported.getvalue()))
    assert summary.rejected_count == 0
    edges = target.run_sync(services_of(target).graph.relations("u"))
    assert record.id in {e.id for e in edges}
    assert target.check().consistent
