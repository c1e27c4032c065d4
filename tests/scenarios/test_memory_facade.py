"""The mem0-compatible `Memory` facade, used the way a mem0 user would."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from octomem import Memory, NotFoundError, Orchestrator
from octomem.memory import DefaultDataDirWarning
from tests.conftest import T0


@pytest.fixture
def memory(shared_orch: Orchestrator) -> Memory:
    """The facade on the module's shared store: a test's users come from `uid`."""
    return Memory(shared_orch)


def test_add_search_get_update_history(memory: Memory, uid: Callable[[str], str]) -> None:
    bob = uid("bob")
    added = memory.add(
        [{"role": "user", "content": "I'm Bob. I live in Lisbon and I love surfing."}],
        user_id=bob,
        metadata={"category": "profile"},
    )
    events = {item["event"] for item in added["results"]}
    assert events == {"ADD"}
    assert any("Lisbon" in item["memory"] for item in added["results"])

    found = memory.search("where does bob live", user_id=bob, limit=5)["results"]
    assert found and "Lisbon" in found[0]["memory"]
    first = found[0]
    assert {"id", "memory", "hash", "metadata", "score", "created_at", "user_id"} <= set(first)
    assert first["user_id"] == bob

    item = memory.get(first["id"])
    assert item["memory"] == first["memory"]

    assert memory.update(first["id"], "Bob lives in Porto.")["message"]
    assert memory.get(first["id"])["memory"] == "Bob lives in Porto."
    history = memory.history(first["id"])
    assert [h["event"] for h in history][-1] == "UPDATE"
    assert history[-1]["old_memory"] == first["memory"]
    assert history[-1]["new_memory"] == "Bob lives in Porto."


def test_change_of_fact_reports_update_with_previous(
    memory: Memory, uid: Callable[[str], str]
) -> None:
    bob = uid("bob")
    memory.add("I work at Initech.", user_id=bob)
    moved = memory.add("I work at Globex now.", user_id=bob)["results"]
    [change] = [
        i
        for i in moved
        if i["event"] == "UPDATE" and "Globex" in i["memory"] and i.get("memory_type") == "semantic"
    ]
    assert "Initech" in change["previous_memory"]
    current = [i["memory"] for i in memory.get_all(user_id=bob)["results"]]
    assert any("Globex" in m for m in current)
    assert not any("works at Initech" in m for m in current)


def test_infer_false_stores_messages_as_they_are(memory: Memory, uid: Callable[[str], str]) -> None:
    bob = uid("bob")
    said = [
        {"role": "user", "content": "Note to self: buy oat milk"},
        {"role": "assistant", "content": "Noted."},
    ]
    added = memory.add(said, user_id=bob, infer=False)["results"]
    assert [i["memory"] for i in added] == ["Note to self: buy oat milk", "Noted."]
    assert [i["event"] for i in added] == ["ADD", "ADD"]
    stored = memory.get_all(user_id=bob)["results"]
    assert len(stored) == 2  # raw turns only, no extracted memories
    assert memory.get(added[0]["id"])["memory"].endswith("buy oat milk")
    # the same call again (a retry) stores nothing and says so
    again = memory.add(said, user_id=bob, infer=False)["results"]
    assert [(i["id"], i["event"]) for i in again] == [(i["id"], "NONE") for i in added]
    assert len(memory.get_all(user_id=bob)["results"]) == 2


def test_filters_and_run_scope(memory: Memory, uid: Callable[[str], str]) -> None:
    bob = uid("bob")
    memory.add("I love jazz.", user_id=bob, run_id="r1", metadata={"source": "chat", "n": 1})
    memory.add("I love opera.", user_id=bob, run_id="r2", metadata={"source": "email", "n": 5})

    def texts(results: dict) -> str:
        return " | ".join(i["memory"] for i in results["results"])

    assert "opera" not in texts(memory.get_all(user_id=bob, filters={"source": "chat"}))
    assert "jazz" in texts(memory.get_all(user_id=bob, filters={"source": "chat"}))
    # the core block is one record per user, rewritten by both calls: leave it out here
    not_core = {"memory_type": {"ne": "core"}}
    high = memory.get_all(user_id=bob, filters={"AND": [{"n": {"gte": 2}}, not_core]})
    assert "jazz" not in texts(high) and "opera" in texts(high)
    either = memory.get_all(user_id=bob, filters={"OR": [{"source": "chat"}, {"n": 5}]})
    assert "jazz" in texts(either) and "opera" in texts(either)
    not_chat = memory.get_all(user_id=bob, filters={"AND": [{"NOT": {"source": "chat"}}, not_core]})
    assert "jazz" not in texts(not_chat)
    assert "opera" not in texts(memory.search("music I love", user_id=bob, run_id="r1"))
    strict = memory.search("music I love", user_id=bob, threshold=0.99)["results"]
    assert strict == []


def test_delete_and_delete_all(orch: Orchestrator) -> None:
    memory = Memory(orch)  # a store of its own: reset() empties all of it
    memory.add("I live in Oslo.", user_id="bob")
    memory.add("I live in Rome.", user_id="carol")
    first = memory.get_all(user_id="bob")["results"][0]["id"]
    memory.delete(first)
    with pytest.raises(NotFoundError):
        memory.get(first)
    assert memory.history(first)[-1]["event"] == "DELETE"
    memory.delete_all(user_id="bob")
    assert memory.get_all(user_id="bob")["results"] == []
    assert memory.get_all(user_id="carol")["results"], "other users are untouched"
    memory.reset()
    assert memory.get_all(user_id="carol")["results"] == []


def test_memory_type_limits_agents(memory: Memory, uid: Callable[[str], str]) -> None:
    bob = uid("bob")
    added = memory.add(
        "Here's how to brew tea: 1. Boil water. 2. Steep for 3 minutes. I live in Kyoto.",
        user_id=bob,
        memory_type="procedural_memory",
    )["results"]
    # the procedural agent alone extracted; the message itself is stored as a turn
    assert [i["memory_type"] for i in added].count("procedural") >= 1
    assert {i["memory_type"] for i in added} == {"procedural", "episodic"}
    assert [i["memory"] for i in added if i["memory_type"] == "episodic"] == [
        "Here's how to brew tea: 1. Boil water. 2. Steep for 3 minutes. I live in Kyoto."
    ]


def test_timestamps_flow_through(shared_orch: Orchestrator, uid: Callable[[str], str]) -> None:
    orch, bob = shared_orch, uid("bob")
    orch.process("I live in Oslo.", user_id=bob, timestamp=T0)
    [fact] = [r for r in orch.get_all(user_id=bob, memory_types=["semantic"])]
    assert fact.valid_from == T0


def test_memory_with_no_configuration_says_where_it_keeps_memories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("OCTOMEM_DATA_DIR", raising=False)
    with pytest.warns(DefaultDataDirWarning, match=str(tmp_path / ".octomem")) as said:
        Memory().orchestrator.close()
    assert [w.filename for w in said] == [__file__]  # at the line that made the Memory
    chosen = tmp_path / "chosen"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DefaultDataDirWarning)
        Memory.from_config(data_dir=chosen).orchestrator.close()
        monkeypatch.setenv("OCTOMEM_DATA_DIR", str(chosen))
        memory = Memory()
        assert memory.orchestrator.settings.data_dir == chosen
        memory.orchestrator.close()


def test_a_facade_is_made_from_settings_and_refuses_anything_else(tmp_path: Path) -> None:
    """`Memory(settings)` opens them; mem0's habit `Memory(config)` with a config dict (or
    any other object) is an InvalidInputError naming the class called and the way that
    takes it - never an AttributeError from deep inside, nor the config's values (its API
    keys) in the message."""
    from octomem import AsyncMemory, InvalidInputError
    from octomem.settings import load_settings

    memory = Memory(load_settings(data_dir=tmp_path / "from-settings"))
    try:
        assert memory.orchestrator.settings.data_dir == tmp_path / "from-settings"
        assert memory.add("I live in Porto", user_id="ann", infer=False)["results"]
    finally:
        memory.orchestrator.close()
    config = {"llm": {"provider": "openai", "config": {"api_key": "sk-do-not-show-1234"}}}
    for cls in (Memory, AsyncMemory):
        for given in (config, "a/path", 3):
            with pytest.raises(InvalidInputError, match=rf"^{cls.__name__}\(\) takes") as err:
                cls(given)  # type: ignore[arg-type]
            assert f"{cls.__name__}.from_config" in str(err.value)
            assert "sk-do-not" not in str(err.value)


def test_an_add_without_a_scope_names_add(memory: Memory) -> None:
    from octomem import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"^add needs a user_id \(or an agent_id\)"):
        memory.add("I live in Porto")
