"""Owned ids and id keys on the embedded defaults: one tenant never reaches another's
memories by id, and ids cannot be derived from a user_id."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octomem import ConfigurationError, Memory, NotFoundError, Orchestrator
from octomem.langgraph import OctomemStore, create_manage_memory_tool
from octomem.models import MemoryBase, MemoryType, make_memory_id

ALICE = [
    {"role": "user", "content": "Hi, I'm Alice. I live in Paris and I love jazz."},
    {"role": "assistant", "content": "Nice to meet you, Alice!"},
]
BOB = [
    {"role": "user", "content": "Hi, I'm Bob. I live in Berlin and I love jazz."},
    {"role": "assistant", "content": "Nice to meet you, Bob!"},
]


def _everything(orch: Orchestrator, user: str) -> dict[str, MemoryBase]:
    records = orch.get_all(user_id=user, include_superseded=True)
    return {r.id: r for r in records}


def _unknown_message(memory_id: str) -> str:
    return f"no memory with id {memory_id!r}"


@pytest.fixture
def two_users(shared_orch: Orchestrator, uid: Callable[[str], str]) -> Orchestrator:
    """The shared store, where the test's `uid("alice")` and `uid("bob")` introduced
    themselves."""
    orch, alice, bob = shared_orch, uid("alice"), uid("bob")
    orch.process(ALICE, user_id=alice, session_id="s1")
    orch.process(BOB, user_id=bob, session_id="s1")
    orch.process("I moved to Munich.", user_id=bob, session_id="s2")  # a superseded fact
    return orch


def test_alice_cannot_reach_bobs_ids(two_users: Orchestrator, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    orch = two_users
    bobs = _everything(orch, bob)
    types = {r.memory_type for r in bobs.values()}
    assert {MemoryType.CORE, MemoryType.SEMANTIC, MemoryType.EPISODIC} <= types
    assert any(not r.is_current for r in bobs.values())
    histories = {i: orch.history(i) for i in bobs}
    reached = []
    for memory_id in bobs:
        for name, attempt in {
            "get": lambda i=memory_id: orch.get(i, user_id=alice),
            "update": lambda i=memory_id: orch.update(i, "Alice was here.", user_id=alice),
            "delete": lambda i=memory_id: orch.delete(i, user_id=alice),
            "history": lambda i=memory_id: orch.history(i, user_id=alice),
            "other agent": lambda i=memory_id: orch.get(i, user_id=bob, agent_id="x"),
        }.items():
            try:
                attempt()
            except NotFoundError as exc:
                # the same answer as for an id that does not exist: nothing is revealed
                missing = memory_id[:-4] + "0000"
                if name == "history":
                    with pytest.raises(NotFoundError) as unknown:
                        orch.history(missing, user_id=alice)
                    assert str(exc) == str(unknown.value).replace(missing, memory_id)
                else:
                    assert str(exc) == _unknown_message(memory_id)
            else:
                reached.append((name, memory_id))
    assert reached == []
    # bob's memories are untouched
    assert _everything(orch, bob) == bobs
    assert {i: orch.history(i) for i in bobs} == histories


def test_owner_reaches_own_ids_and_history_after_delete(
    two_users: Orchestrator, uid: Callable[[str], str]
) -> None:
    alice, bob = uid("alice"), uid("bob")
    orch = two_users
    [home] = [
        r for r in orch.get_all(user_id=bob, memory_types=["semantic"]) if "Munich" in r.content
    ]
    assert orch.get(home.id, user_id=bob) == home
    updated = orch.update(home.id, "Bob lives in Hamburg.", user_id=bob)
    assert orch.get(home.id, user_id=bob).content == updated.content == "Bob lives in Hamburg."
    orch.delete(home.id, user_id=bob)
    with pytest.raises(NotFoundError):
        orch.get(home.id, user_id=bob)
    # the deleted memory's history: its owner reads it, nobody else does
    events = orch.history(home.id, user_id=bob)
    assert [e.operation.value for e in events][-2:] == ["UPDATE", "DELETE"]
    with pytest.raises(NotFoundError):
        orch.history(home.id, user_id=alice)
    # without a scope (trusted code, the CLI without --user) every id stays reachable
    assert orch.history(home.id) == events


def test_agent_scope(shared_orch: Orchestrator, uid: Callable[[str], str]) -> None:
    orch, carol, dave = shared_orch, uid("carol"), uid("dave")
    orch.process("I live in Rome.", user_id=carol, agent_id="travel")
    [fact] = orch.get_all(user_id=carol, agent_id="travel", memory_types=["semantic"])
    assert orch.get(fact.id, user_id=carol, agent_id="travel").id == fact.id
    assert orch.get(fact.id, user_id=carol).id == fact.id  # the user's own, any agent
    assert orch.history(fact.id, user_id=carol, agent_id="travel")
    for agent in ("chat", None):
        with pytest.raises(NotFoundError):
            orch.get(fact.id, user_id=dave, agent_id=agent)
    with pytest.raises(NotFoundError):
        orch.delete(fact.id, user_id=carol, agent_id="chat")
    with pytest.raises(NotFoundError):
        orch.history(fact.id, user_id=carol, agent_id="chat")
    assert orch.get(fact.id).is_current


def test_mem0_facade_scopes_ids(two_users: Orchestrator, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    memory = Memory(two_users)
    bob_id = next(iter(_everything(two_users, bob)))
    for call in (
        lambda: memory.get(bob_id, user_id=alice),
        lambda: memory.update(bob_id, "x", user_id=alice),
        lambda: memory.delete(bob_id, user_id=alice),
        lambda: memory.history(bob_id, user_id=alice),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert memory.get(bob_id, user_id=bob)["id"] == bob_id


def test_ids_are_keyed_per_data_dir_and_stable_across_reopen(
    make_orch: Any, tmp_path: Path
) -> None:
    first, second = make_orch(), make_orch()
    for orch in (first, second):
        orch.process(ALICE, user_id="alice", session_id="s1")
    ids_first, ids_second = set(_everything(first, "alice")), set(_everything(second, "alice"))
    assert len(ids_first) == len(ids_second) > 3
    assert ids_first.isdisjoint(ids_second)  # same user and text, other data dir: other ids
    # the core block's id is not the unkeyed hash of its type, user and label
    [core] = first.get_all(user_id="alice", memory_types=["core"])
    assert core.id != make_memory_id(MemoryType.CORE, "alice", None, core.label)

    key_file = tmp_path / "om0" / "id.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first.close()
    reopened = make_orch(data_dir=tmp_path / "om0")
    result = reopened.process(ALICE, user_id="alice", session_id="s1")  # a retry
    assert {op.operation.value for op in result.all_operations()} <= {"NOOP"}
    assert set(_everything(reopened, "alice")) == ids_first


def test_a_data_dir_that_lost_its_key_file_is_refused(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "lost"
    orch = make_orch(data_dir=data_dir)
    orch.process(ALICE, user_id="alice", session_id="s1")
    orch.close()
    (data_dir / "id.key").unlink()
    with pytest.raises(ConfigurationError, match="holds stores but no id key"):
        make_orch(data_dir=data_dir)  # a new key would give every stored memory other ids
    assert not (data_dir / "id.key").exists()


def test_configured_id_key(make_orch: Any, tmp_path: Path) -> None:
    key = "shared-secret-" + "s" * 32
    host_a = make_orch(data_dir=tmp_path / "a", id_key=key)
    host_b = make_orch(data_dir=tmp_path / "b", id_key=key)
    for orch in (host_a, host_b):
        orch.process(ALICE, user_id="alice", session_id="s1")
    assert set(_everything(host_a, "alice")) == set(_everything(host_b, "alice"))
    assert not (tmp_path / "a" / "id.key").exists()
    make_orch(data_dir=tmp_path / "c")  # a key file of its own
    with pytest.raises(ConfigurationError, match="another id key"):
        make_orch(data_dir=tmp_path / "c", id_key=key)


def test_bad_or_missing_id_keys_are_configuration_errors(make_orch: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as short:
        make_orch(id_key="too-short-secret")
    assert "id_key" in str(short.value) and "too-short-secret" not in str(short.value)
    # server stores: hosts must share one key, a random one per host would split ids
    with pytest.raises(ConfigurationError, match="OCTOMEM_ID_KEY"):
        make_orch(
            data_dir=tmp_path / "server",
            vector={"provider": "chroma", "mode": "http", "host": "127.0.0.1", "port": 9},
        )


# --- LangGraph ------------------------------------------------------------------------


def _tool_call(tool: Any, user: str, **args: Any) -> str:
    return str(tool.invoke(args, config={"configurable": {"user_id": user}}))


def test_manage_memory_tool_reaches_only_its_users_memories(
    two_users: Orchestrator, uid: Callable[[str], str]
) -> None:
    alice, bob = uid("alice"), uid("bob")
    orch = two_users
    tool = create_manage_memory_tool(orch)
    created = _tool_call(tool, bob, action="create", content="Bob's locker code is 4711.")
    item = created.removeprefix("created memory ")
    bobs = _everything(orch, bob)
    assert item in bobs
    reached = []
    for memory_id in bobs:
        for action, content in (("update", "hacked"), ("delete", None)):
            answer = _tool_call(tool, alice, action=action, id=memory_id, content=content)
            if "no memory with id" not in answer:
                reached.append((action, memory_id, answer))
    assert reached == []
    assert _everything(orch, bob) == bobs
    assert "updated" in _tool_call(tool, bob, action="update", id=item, content="Code 1234.")
    assert orch.get(item, user_id=bob).content == "Code 1234."


def test_store_items_belong_to_their_namespaces_user(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice, bob = shared_orch, uid("alice"), uid("bob")
    store = OctomemStore(orch)
    store.put(("memories", bob), "prefs", {"content": "Bob prefers dark mode."})
    item_id = store.item_id(("memories", bob), "prefs")
    assert orch.get(item_id, user_id=bob).content == "Bob prefers dark mode."
    with pytest.raises(NotFoundError):
        orch.get(item_id, user_id=alice)
    assert store.get(("memories", alice), "prefs") is None
    # the id is keyed: not the unkeyed hash of namespace and key
    unkeyed = make_memory_id(MemoryType.SEMANTIC, "langgraph-store", ["memories", bob], "prefs")
    assert item_id != unkeyed
    assert json.loads(json.dumps(store.get(("memories", bob), "prefs").value)) == {
        "content": "Bob prefers dark mode."
    }
