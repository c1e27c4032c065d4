"""The agent registry: query cues come from the agents, the language layer reads each
turn once for all agents, what is plugged in must be an agent of a valid type, and each
set of agents has its own memory types (`TypeRegistry`), with nothing registered
process-wide."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from octomem.agents import BaseAgent, ExtractionContext, default_agents
from octomem.agents.registry import type_registry, with_agents
from octomem.errors import ConfigurationError, InvalidInputError
from octomem.language import facts as language_facts
from octomem.memory_types import TypeRegistry, TypeSpec
from octomem.messages import normalize_messages
from octomem.models import (
    BUILTIN_TYPES,
    CustomMemory,
    MemoryType,
    Scope,
    SemanticMemory,
    record_from_json,
)
from octomem.orchestrator import lifecycle
from octomem.orchestrator.arguments import parse_memory_types
from octomem.orchestrator.lifecycle import build_services
from octomem.orchestrator.recall.plan import query_agent_weights
from octomem.settings import load_settings


def test_query_cues_come_from_the_agents_given() -> None:
    notes = MemoryType("note")

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


class Note(CustomMemory):
    """A custom agent's own record class: typed fields beyond the common ones."""

    topic: str
    pinned: bool = False


def _agent(name: str, record: type[Any], prefix: str | None = None) -> BaseAgent:
    class Agent(BaseAgent):
        memory_type = MemoryType(name)
        record_type = record
        id_prefix = prefix

    return Agent()


def test_a_custom_memory_type_is_a_value_registered_nowhere() -> None:
    notes = MemoryType("note")
    assert notes == "note" and notes == MemoryType("note") and hash(notes) == hash("note")
    assert isinstance(notes, MemoryType) and notes.value == "note"
    assert {notes: 1}[MemoryType("note")] == 1
    assert list(MemoryType) == list(BUILTIN_TYPES) and len(BUILTIN_TYPES) == 8
    assert notes not in BUILTIN_TYPES
    with pytest.raises(ValueError):
        MemoryType("Bad Name")


def test_each_set_of_agents_has_its_own_types_prefixes_and_record_classes() -> None:
    first = type_registry(with_agents(default_agents(), [_agent("note", Note, "nt")]))
    second = type_registry(with_agents(default_agents(), [_agent("note", CustomMemory)]))
    builtin = type_registry(default_agents())
    note = MemoryType("note")
    assert list(first) == [*BUILTIN_TYPES, note]
    assert note not in builtin and list(builtin) == list(BUILTIN_TYPES)
    assert (first.record_class(note), first.prefix(note)) == (Note, "nt")
    assert (second.record_class(note), second.prefix(note)) == (CustomMemory, "note")

    stored = Note(id=first.make_id(note, "k"), memory_type=note, content="x", topic="trip")
    assert stored.id.startswith("nt_") and first.type_of(stored.id) == note
    assert second.type_of(stored.id) is None and builtin.type_of(stored.id) is None
    assert first.type_of("sem_abc") is MemoryType.SEMANTIC and first.type_of("sem_") is None

    payload = stored.model_dump_json()
    assert first.record_from_json(payload) == stored  # as its agent's class, typed
    untyped = record_from_json(payload)  # without a registry: nothing is lost
    assert type(untyped) is CustomMemory and untyped.model_dump()["topic"] == "trip"
    assert first.record_from_dict(untyped.model_dump()) == stored
    with pytest.raises(ValueError, match="'note' is not one this Orchestrator knows"):
        builtin.record_from_json(payload)
    with pytest.raises(InvalidInputError, match="is a CustomMemory, not a Note"):
        first.check_record(untyped)


def test_a_custom_agent_declares_types_that_fit() -> None:
    with pytest.raises(InvalidInputError, match="derive it from octomem.models.CustomMemory"):
        with_agents(default_agents(), [_agent("note", SemanticMemory)])
    with pytest.raises(InvalidInputError, match="taken by semantic"):
        with_agents(default_agents(), [_agent("note", Note, "sem")])
    with pytest.raises(InvalidInputError, match="taken by note"):
        TypeRegistry([TypeSpec.custom("note", Note, "nt"), TypeSpec.custom("memo", Note, "nt")])
    with pytest.raises(InvalidInputError, match="records are SemanticMemory"):
        with_agents(default_agents(), [_agent("semantic", Note)])


def test_settings_that_name_a_type_no_agent_has_are_refused(tmp_path: Path) -> None:
    """Any valid name is a MemoryType now, so a typo is caught against the agents."""
    for config in (
        {"agents": {"enabled": ["semantc"]}},
        {"recall": {"agent_weights": {"note": 2.0}}},
    ):
        settings = load_settings(data_dir=tmp_path, **config)
        with pytest.raises(ConfigurationError, match="names memory type '(semantc|note)'"):
            build_services(settings)
    settings = load_settings(data_dir=tmp_path, recall={"agent_weights": {"note": 2.0}})
    services = build_services(settings, agents=[_agent("note", Note)])
    assert MemoryType("note") in services.types
    asyncio.run(lifecycle.close(services))


def test_a_call_names_only_the_types_its_orchestrator_has() -> None:
    note = MemoryType("note")
    assert parse_memory_types(["semantic", "note"], [*BUILTIN_TYPES, note]) == [
        MemoryType.SEMANTIC,
        note,
    ]
    with pytest.raises(InvalidInputError, match="memory type 'note' is not one of: core"):
        parse_memory_types(["note"])
