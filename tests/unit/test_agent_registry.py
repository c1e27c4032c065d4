"""The agent registry: query cues come from the agents, the language layer reads each
turn once for all agents, and what is plugged in must be an agent of a valid type."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from octomem.agents import BaseAgent, ExtractionContext, default_agents
from octomem.agents.registry import with_agents
from octomem.errors import InvalidInputError
from octomem.language import facts as language_facts
from octomem.messages import normalize_messages
from octomem.models import (
    CustomMemory,
    MemoryType,
    Scope,
    memory_type_of,
    register_memory_type,
    unregister_memory_type,
)
from octomem.orchestrator.routing import query_agent_weights


@pytest.fixture
def notes() -> Iterator[MemoryType]:
    yield register_memory_type("note")
    unregister_memory_type("note")


def test_query_cues_come_from_the_agents_given(notes: MemoryType) -> None:
    class NoteAgent(BaseAgent):
        memory_type = notes
        record_type = CustomMemory
        query_cue = re.compile(r"\bnotes?\b", re.I)

    agents = with_agents(default_agents(), [NoteAgent()])
    weights = query_agent_weights("my notes about the trip", {}, 2.0, agents)
    assert weights == {notes: 2.0, MemoryType.EPISODIC: 2.0}
    assert query_agent_weights("my notes", {}, 2.0, default_agents()) == {}


def test_the_language_layer_reads_each_user_turn_once_for_all_agents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = language_facts.read_facts

    def counted(text: str, *args: Any) -> Any:
        calls.append(text)
        return real(text, *args)

    monkeypatch.setattr(language_facts, "read_facts", counted)
    turns = normalize_messages(
        [
            {"role": "user", "content": "I'm Alice and I live in Paris."},
            {"role": "assistant", "content": "Nice to meet you, Alice."},
            {"role": "user", "content": "Yesterday I met my sister Maria at the museum."},
        ],
        session_id="s1",
        timestamp=None,
        now=datetime.now(UTC),
        max_message_chars=10_000,
    )
    ctx = ExtractionContext(scope=Scope(user_id="u"), now=datetime.now(UTC))
    found = [r for agent in default_agents().values() for r in agent.extract(turns, ctx)]
    assert len(calls) == 2  # the two user turns, once each
    assert any("Alice" in r.content and r.memory_type is MemoryType.EPISODIC for r in found)


def test_only_agents_of_a_memory_type_plug_in() -> None:
    with pytest.raises(InvalidInputError, match="not a memory agent"):
        with_agents(default_agents(), [object()])


def test_a_registered_memory_type_names_its_ids(notes: MemoryType) -> None:
    assert register_memory_type("note") is notes
    assert MemoryType("note") is notes
    with pytest.raises(InvalidInputError, match="id prefix"):
        register_memory_type("note", "nt")
    with pytest.raises(InvalidInputError, match="taken"):
        register_memory_type("memo", "sem")
    with pytest.raises(InvalidInputError, match="lower-case"):
        register_memory_type("Bad Name")
    record = CustomMemory(id="note_1", memory_type=notes, content="x")
    assert memory_type_of(record.id) is notes
