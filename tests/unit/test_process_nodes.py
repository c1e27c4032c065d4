"""Each process node is a function of a state and the services: called alone here, on
embedded stores in a tmp dir, with no graph around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from octomem.embeddings import Embedder
from octomem.errors import InvalidInputError
from octomem.models import MemoryType
from octomem.orchestrator import lifecycle
from octomem.orchestrator.process.extract import agent
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
    """The state route reads: the input, normalize's update and read_turns'."""
    state: dict[str, Any] = {"user_id": "alice", **inputs}
    state |= await normalize(state, deps)
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
