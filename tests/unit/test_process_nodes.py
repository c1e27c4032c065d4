"""Each process node is a function of a state and the services: called alone here, on
embedded stores in a tmp dir, with no graph around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from octomem.embeddings import Embedder
from octomem.errors import InvalidInputError
from octomem.models import FACT_KEYS, MemoryType, Operation
from octomem.orchestrator import lifecycle
from octomem.orchestrator.process.extract import agent
from octomem.orchestrator.process.graph import run
from octomem.orchestrator.process.intake import normalize, read_turns
from octomem.orchestrator.process.route import agent_tasks, route
from octomem.orchestrator.services import Services
from octomem.settings import load_settings

SAID = "I live in Paris and my password is Tr0ub4dor&3."


@pytest.fixture
async def deps(tmp_path: Path, embedder: Embedder) -> AsyncIterator[Services]:
    services = lifecycle.build_services(load_settings(data_dir=tmp_path / "om"), embedder=embedder)
    await lifecycle.open_services(services)
    yield services
    await lifecycle.close(services)


async def _read(deps: Services, **inputs: Any) -> dict[str, Any]:
    """The state route reads: the input, normalize's update, the user's stored name (which
    store_turns reads: alice has none) and read_turns' update."""
    state: dict[str, Any] = {"user_id": "alice", **inputs}
    state |= await normalize(state, deps) | {"user_name": None}
    return state | await read_turns(state, deps)


async def test_normalize_masks_secrets_and_stores_nothing(deps: Services) -> None:
    update = await normalize(
        {
            "messages": [{"role": "user", "content": SAID}],
            "user_id": "alice",
            "metadata": {"note": "the wifi password is hunter2hunter"},
        },
        deps,
    )
    [turn] = update["turns"]
    assert turn.role == "user" and "Paris" in turn.content
    assert "Tr0ub4dor" not in turn.content and "[MASKED password]" in turn.content
    assert update["metadata"] == {"note": "the wifi password is [MASKED password]"}
    assert update["erasures"] == await deps.locks.erasures("alice", None)
    assert deps.vector.known_empty(deps.turn_log.memory_type)


async def test_normalize_refuses_bad_input(deps: Services) -> None:
    with pytest.raises(InvalidInputError):
        await normalize({"messages": [{"role": "wizard", "content": "hi"}]}, deps)


async def test_route_selects_the_agents_the_conversation_is_for(deps: Services) -> None:
    update = await route(await _read(deps, messages=SAID), deps)
    assert update["routing"]["semantic"] == "selected"
    assert update["extraction"].mode == "offline"  # no LLM configured
    assert update["llm_types"] == []

    stored_only = await route(await _read(deps, messages=SAID, infer=False), deps)
    assert "selected" not in stored_only["routing"].values()


async def test_an_agent_node_extracts_its_candidates_by_its_rules(deps: Services) -> None:
    state = await _read(deps, messages=SAID, metadata={"source": "chat"})
    state |= await route(state, deps)
    tasks = {task["agent"]: task for task in agent_tasks(state, deps)}
    assert tasks[MemoryType.SEMANTIC]["extractor"] == "rules"

    update = await agent(tasks[MemoryType.SEMANTIC], deps)
    [fact] = update["candidates"]
    assert fact.memory_type == MemoryType.SEMANTIC and "Paris" in fact.content
    assert fact.user_id == "alice" and fact.metadata["source"] == "chat"
    assert "Tr0ub4dor" not in fact.content
    assert "llm_usage" not in update and "errors" not in update


async def test_an_agent_node_with_nothing_to_extract_returns_no_candidates(
    deps: Services,
) -> None:
    state = await _read(deps, messages="Hello there.")
    task = {**state, "llm_from": 0, "agent": MemoryType.SEMANTIC, "extractor": "rules"}
    assert (await agent(task, deps))["candidates"] == []


@pytest.fixture
async def keyed(tmp_path: Path, embedder: Embedder) -> AsyncIterator[Services]:
    """Services whose raw turns are keyed by what was read from them (`turn_keys`)."""
    settings = load_settings(data_dir=tmp_path / "keyed", agents={"fact_keys": True})
    services = lifecycle.build_services(settings, embedder=embedder)
    await lifecycle.open_services(services)
    yield services
    await lifecycle.close(services)


async def test_a_call_without_a_model_holds_the_lock_once_and_writes_once(
    keyed: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No model is asked anything: one lease for the whole call, and its raw turn written
    in the one journaled write of what was extracted from it, the turn already keyed by
    its fact (`turn_keys`), with one ADD in its history."""
    deps = keyed
    holds: list[set[str | None]] = []
    intents: list[set[str]] = []
    hold_many, begin = deps.locks.hold_many, deps.journal.begin

    def counted(user_ids: Any, **kw: Any) -> Any:
        holds.append(set(user_ids))
        return hold_many(user_ids, **kw)

    async def begun(intent: Any, *args: Any, **kw: Any) -> Any:
        intents.append({change.record.memory_type.value for change in intent.writes})
        return await begin(intent, *args, **kw)

    monkeypatch.setattr(deps.locks, "hold_many", counted)
    monkeypatch.setattr(deps.journal, "begin", begun)
    state = await run({"messages": "I live in Paris.", "user_id": "alice"}, deps)
    assert holds == [{"alice"}]
    assert len(intents) == 1 and {"episodic", "semantic"} <= intents[0], intents
    assert "held" not in state and "unwritten" not in state
    [fact] = state["result"].operations[MemoryType.SEMANTIC]
    [turn] = await deps.vector.get(MemoryType.EPISODIC, state["stored_turns"])
    assert fact.memory_id in turn.internal[FACT_KEYS]
    assert [e.operation for e in await deps.history.for_memory(turn.id)] == [Operation.ADD]


async def test_a_call_whose_extraction_fails_still_stores_its_turns(
    deps: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing said is lost: the turns the commit would have written with the extracted
    memories are written before the error is raised."""
    agent_ = deps.agents[MemoryType.SEMANTIC]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the rules broke")

    monkeypatch.setattr(agent_, "extract", broken)
    with pytest.raises(RuntimeError, match="the rules broke"):
        await run({"messages": "I live in Paris.", "user_id": "alice"}, deps)
    stored = await deps.vector.list(MemoryType.EPISODIC)
    assert [(t.user_id, t.content) for t in stored] == [("alice", "user: I live in Paris.")]
