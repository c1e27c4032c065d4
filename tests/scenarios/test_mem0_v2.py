"""Code written for mem0ai 2.2's OSS `Memory` runs on octomem's: mem0's own signatures
(read from the installed mem0 package), ids in `filters`, `top_k`, mem0's config dict,
and results shaped as mem0 2.2 returns them (docs/mem0.md)."""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octomem import AsyncMemory, Memory, NotFoundError, Orchestrator
from octomem.errors import InvalidInputError
from octomem.mem0_config import settings_overrides
from octomem.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("add", "search", "get", "get_all", "update", "delete", "delete_all", "history")


@pytest.fixture
def memory(shared_orch: Orchestrator) -> Memory:
    return Memory(shared_orch)


def _parameters(function: Any) -> set[str]:
    return {
        name
        for name, p in inspect.signature(function).parameters.items()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and name != "self"
    }


@pytest.fixture(scope="module")
def mem0(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """mem0's package, imported with its telemetry off and ~/.mem0 in a tmp dir (as
    tests/service/test_mem0_client.py imports it: nothing reaches the network)."""
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ.setdefault("MEM0_DIR", str(tmp_path_factory.mktemp("mem0-home")))
    package = pytest.importorskip("mem0")
    from mem0.memory import telemetry

    assert telemetry.MEM0_TELEMETRY is False, "mem0 was imported with telemetry on"
    return package


@pytest.mark.parametrize("name", METHODS)
def test_every_argument_of_mem0s_memory_is_accepted(mem0: Any, name: str) -> None:
    for theirs, ours in ((mem0.Memory, Memory), (mem0.AsyncMemory, AsyncMemory)):
        missing = _parameters(getattr(theirs, name)) - _parameters(getattr(ours, name))
        assert not missing, f"{ours.__name__}.{name} lacks mem0's {sorted(missing)}"


def test_the_migration_page_runs_and_differs_from_mem0s_by_the_import(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "mem0.md").read_text()
    theirs, ours = re.findall(r"```python\n(.*?)```", page, flags=re.S)[:2]
    assert theirs.replace("from mem0 import", "from octomem import") == ours
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", ours], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "db").is_dir()


def test_ids_in_filters_with_top_k(memory: Memory, uid: Callable[[str], str]) -> None:
    ann, bob = uid("ann"), uid("bob")
    memory.add("I love jazz and I live in Rome.", user_id=ann)
    memory.add("I love opera.", user_id=bob, run_id="r1")
    found = memory.search("music", filters={"user_id": ann}, top_k=2)["results"]
    assert found and len(found) <= 2 and {i["user_id"] for i in found} == {ann}
    both = memory.search("music", filters={"OR": [{"user_id": ann}, {"user_id": bob}]})
    assert {i["user_id"] for i in both["results"]} == {ann, bob}
    scores = [i["score"] for i in both["results"]]
    assert scores == sorted(scores, reverse=True)  # one ranking across the users
    anded = memory.get_all(filters={"AND": [{"user_id": bob}, {"run_id": "r1"}]}, top_k=50)
    assert anded["results"] and {i["user_id"] for i in anded["results"]} == {bob}
    assert len(memory.get_all(filters={"user_id": {"in": [ann, bob]}}, top_k=3)["results"]) == 3
    # the 1.x forms still work, and give the same memories
    old = memory.get_all(user_id=ann, limit=100)["results"]
    assert [i["id"] for i in old] == [
        i["id"] for i in memory.get_all(filters={"user_id": ann})["results"]
    ]
    with pytest.raises(InvalidInputError, match="limit.*top_k"):
        memory.search("music", filters={"user_id": ann}, top_k=2, limit=3)
    # a bad count names the argument given (a mem0 1.x caller's is limit) and its value
    with pytest.raises(InvalidInputError, match=r"^search: limit must be .* got '5'$"):
        memory.search("music", user_id=ann, limit="5")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"^get_all: top_k must be .* got 0$"):
        memory.get_all(filters={"user_id": ann}, top_k=0)
    with pytest.raises(InvalidInputError, match="user_id"):
        memory.search("music", filters={"category": "x"})


def test_not_with_mem0s_list_excludes_every_condition_of_it(
    memory: Memory, uid: Callable[[str], str]
) -> None:
    ann = uid("ann")
    for topic in ("films", "food", "travel"):
        memory.add(f"Note about {topic}", user_id=ann, infer=False, metadata={"topic": topic})
    every = [{"topic": "films"}, {"topic": {"in": ["food"]}}]
    left = memory.get_all(filters={"AND": [{"user_id": ann}, {"NOT": every}]})["results"]
    assert [i["metadata"]["topic"] for i in left] == ["travel"]
    found = memory.search("note", filters={"user_id": ann, "NOT": [{"topic": "films"}]})
    assert {i["metadata"]["topic"] for i in found["results"]} == {"food", "travel"}


def test_get_all_lists_the_messages_of_one_add_in_the_order_said(
    memory: Memory, uid: Callable[[str], str]
) -> None:
    ann = uid("ann")
    said = ["first message", "second", "third one", "fourth", "fifth", "sixth"]
    roles = ["user", "assistant"] * 3
    messages = [{"role": r, "content": c} for r, c in zip(roles, said, strict=True)]
    memory.add(messages, user_id=ann, infer=False)
    assert [i["memory"] for i in memory.get_all(filters={"user_id": ann})["results"]] == said
    stored = memory.orchestrator.get_all(user_id=ann)  # the Orchestrator's own listing too
    assert [r.content for r in stored] == [f"{r}: {c}" for r, c in zip(roles, said, strict=True)]


def test_a_knowledge_edge_closed_with_its_fact_says_superseded_in_history(
    memory: Memory, uid: Callable[[str], str]
) -> None:
    ann = uid("ann")
    memory.add("I live in Paris.", user_id=ann)
    before = memory.get_all(filters={"user_id": ann})["results"]
    [edge] = [i for i in before if i["memory_type"] == "knowledge" and "Paris" in i["memory"]]
    memory.add("I moved to Berlin.", user_id=ann)
    events = [(h["event"], h["new_memory"]) for h in memory.history(edge["id"])]
    assert events == [("ADD", edge["memory"]), ("SUPERSEDE", edge["memory"])]


def test_errors_name_the_class_called(memory: Memory) -> None:
    with pytest.raises(TypeError, match=r"^Memory\.search\(\).*'rank_by'"):
        memory.search("x", filters={"user_id": "u"}, rank_by="date")
    with pytest.raises(TypeError, match=r"AsyncMemory\.search\(\).*'rank_by'"):
        asyncio.run(AsyncMemory(memory.orchestrator).search("x", rank_by="date"))  # type: ignore[call-arg]


def test_add_with_timestamp_refuses_what_it_cannot_honour(
    memory: Memory, uid: Callable[[str], str]
) -> None:
    ann = uid("ann")
    added = memory.add("Note: call the plumber", user_id=ann, infer=False, timestamp=1767225600)
    [item] = added["results"]
    assert memory.get(item["id"])["created_at"].startswith("2026-01-01")
    with pytest.raises(InvalidInputError, match="expiration_date.*expire"):
        memory.add("x", user_id=ann, expiration_date="2027-01-01")
    with pytest.raises(InvalidInputError, match="prompt.*llm.prompts"):
        memory.add("x", user_id=ann, prompt="Only extract dates")
    with pytest.raises(InvalidInputError, match="timestamp"):
        memory.add("x", user_id=ann, timestamp="yesterday")
    assert len(memory.get_all(filters={"user_id": ann})["results"]) == 1  # nothing half-added


def test_update_in_mem0_2_forms(memory: Memory, uid: Callable[[str], str]) -> None:
    ann = uid("ann")
    [item] = memory.add("Buy oat milk", user_id=ann, infer=False)["results"]
    memory.update(item["id"], text="Buy oat milk and bread")
    assert memory.get(item["id"])["memory"] == "Buy oat milk and bread"
    memory.update(item["id"], data="Buy bread")  # mem0's older name
    memory.update(item["id"], metadata={"shop": "corner"})
    got = memory.get(item["id"])
    assert (got["memory"], got["metadata"]) == ("Buy bread", {"shop": "corner"})
    assert memory.update(item["id"], expiration_date=None)["message"]
    assert memory.get(item["id"]) == got  # nothing changed
    with pytest.raises(InvalidInputError, match="expiration_date"):
        memory.update(item["id"], expiration_date="2027-01-01")
    with pytest.raises(InvalidInputError):
        memory.update(item["id"])
    with pytest.raises(NotFoundError):
        memory.update("sem_" + "0" * 24, expiration_date=None)
    history = memory.history(item["id"])
    assert {"updated_at", "role", "actor_id"} <= set(history[-1])
    assert [h["new_memory"] for h in history][-2:] == ["Buy bread", "Buy bread"]


def test_add_answers_what_get_all_lists(memory: Memory, uid: Callable[[str], str]) -> None:
    bob = uid("bob")
    first = memory.add("I work at Initech. I have a girlfriend, Sarah.", user_id=bob)["results"]
    moved = memory.add("I work at Globex now.", user_id=bob)["results"]
    left = memory.add("I broke up with my girlfriend, Sarah.", user_id=bob)["results"]
    for answer in (first, moved, left):
        assert "knowledge" not in {i["memory_type"] for i in answer}  # views are not reported
        assert "core" not in {i["memory_type"] for i in answer}
        assert answer[-1]["memory_type"] == "episodic" and answer[-1]["event"] == "ADD"
    assert [i["memory"] for i in moved if i["memory_type"] == "episodic"] == [
        "I work at Globex now."
    ]
    listed = memory.get_all(filters={"user_id": bob})["results"]
    current = {i["id"] for i in listed}
    reported = {i["id"] for a in (first, moved, left) for i in a if i["event"] != "DELETE"}
    assert {i for i in reported if memory.get(i).get("valid_to") is None} <= current
    # views come last and say what they are derived from
    kinds = [("derived_from" in i) for i in listed]
    assert kinds == sorted(kinds) and any(kinds)
    assert not any("derived_from" in i for i in listed[: kinds.index(True)])
    # a retracted fact: reported as DELETE, closed, readable as history
    [gone] = [i for i in left if i["event"] == "DELETE"]
    assert gone["kept_as_history"] is True and gone["id"] not in current
    assert memory.get(gone["id"])["valid_to"] is not None


def test_explain_and_rerank(memory: Memory, uid: Callable[[str], str]) -> None:
    ann = uid("ann")
    memory.add("I love jazz.", user_id=ann)
    plain = memory.search("jazz", filters={"user_id": ann})["results"]
    explained = memory.search("jazz", filters={"user_id": ann}, explain=True, rerank=True)
    assert [i["id"] for i in explained["results"]] == [i["id"] for i in plain]
    details = explained["results"][0]["score_details"]
    assert details and {"agent", "retriever", "rank"} <= set(details[0])


def test_mem0s_config_dict(tmp_path: Path) -> None:
    config = {
        "version": "v1.1",
        "vector_store": {
            "provider": "chroma",
            "config": {"path": str(tmp_path / "db"), "collection_name": "notes"},
        },
        "llm": {"provider": "openai", "config": {"model": "gpt-4o-mini", "temperature": 0.1}},
        "embedder": {
            "provider": "openai",
            "config": {"model": "text-embedding-3-small", "embedding_dims": 1536},
        },
        "graph_store": {
            "provider": "neo4j",
            "config": {"url": "bolt://db:7687", "username": "neo4j", "password": "pw"},
        },
    }
    settings = load_settings(**settings_overrides(config))
    assert settings.data_dir == tmp_path / "db"
    assert settings.vector.collection_prefix == "notes"
    assert (settings.llm.model, settings.llm.extra) == ("openai/gpt-4o-mini", {"temperature": 0.1})
    assert settings.embedder.model == "openai/text-embedding-3-small"
    assert settings.embedder.dimension == 1536
    assert (settings.graph.uri, settings.graph.user) == ("bolt://db:7687", "neo4j")
    hf = {"embedder": {"provider": "huggingface", "config": {"model": "all-MiniLM-L6-v2"}}}
    assert load_settings(**settings_overrides(hf)).embedder.provider == "local"


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"vector_store": {"provider": "qdrant", "config": {}}}, "qdrant"),
        ({"vector_store": {"provider": "chroma", "config": {"on_disk": True}}}, "on_disk"),
        ({"graph_store": {"provider": "memgraph", "config": {}}}, "memgraph"),
        ({"history_db_path": "/tmp/h.db"}, "history_db_path"),
        ({"custom_fact_extraction_prompt": "..."}, "custom_fact_extraction_prompt"),
        ({"llm": {"provider": "openai", "config": {"temprature": 1}}}, "temprature"),
        ({"embedder": {"provider": "huggingface", "config": {"model": "e5-large"}}}, "e5-large"),
        ({"vectorstore": {}}, "vectorstore"),
        ({"llm": "openai"}, "llm"),
        ({"version": "v1.0"}, "v1.0"),
    ],
)
def test_a_config_key_without_an_octomem_meaning_is_refused(
    config: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(named)):
        Memory.from_config(config)


def test_a_limit_counts_the_views_last(memory: Memory, uid: Callable[[str], str]) -> None:
    bob = uid("bob")
    memory.add("I work at Initech. I live in Oslo. I love chess.", user_id=bob)
    everything = memory.get_all(filters={"user_id": bob})["results"]
    facts = [i for i in everything if "derived_from" not in i]
    assert len(facts) < len(everything)  # views exist, and come after every fact
    first = memory.get_all(filters={"user_id": bob}, top_k=len(facts))["results"]
    assert [i["id"] for i in first] == [i["id"] for i in facts]
    with pytest.raises(InvalidInputError, match="top_k"):
        memory.get_all(filters={"user_id": {"in": []}}, top_k=0)
    with pytest.raises(InvalidInputError, match="top_k"):
        memory.search("chess", filters={"user_id": bob}, top_k="5")  # type: ignore[arg-type]


def test_octomem_settings_beside_a_mem0_config_add_to_it(tmp_path: Path) -> None:
    config = {"llm": {"provider": "openai", "config": {"model": "gpt-4o-mini", "api_key": "k"}}}
    with Memory.from_config(config, data_dir=tmp_path, llm={"max_retries": 1}) as m:
        llm = m.orchestrator.settings.llm
        assert (llm.model, llm.max_retries) == ("openai/gpt-4o-mini", 1)
    two = {
        "llm": {"provider": "openai", "config": {"model": "m", "base_url": "a", "api_base": "b"}}
    }
    with pytest.raises(InvalidInputError, match="base_url and api_base"):
        settings_overrides(two)
    listed = {"embedder": {"provider": "huggingface", "config": {"model": ["all-MiniLM-L6-v2"]}}}
    with pytest.raises(InvalidInputError, match="local embedder"):
        settings_overrides(listed)
