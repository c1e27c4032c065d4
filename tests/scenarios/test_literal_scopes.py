"""A scope id is a literal value on every path: a user_id, agent_id or session/run id made
of filter syntax ("*", operators, SQL and Cypher fragments) reaches that one scope - never
every tenant - through the Orchestrator, the mem0 facade and the LangGraph store. (The CLI
and an unpinned MCP server: tests/integration.)"""

from __future__ import annotations

import io
from typing import Any

import pytest

from octomem import Memory, Orchestrator
from octomem.langgraph import OctomemStore
from octomem.orchestrator.internals import services_of

# ids that mean something to a filter language, SQL, FTS5 or Cypher
HOSTILE = ["*", "$exists", "%", "_", "' OR '1'='1", '" OR 1=1 --', "a*", "NULL", "} OR {"]
ALICE = "Hi, I'm Alice. I live in Paris and I love jazz."
BOB = "Hi, I'm Bob. I live in Berlin and I love chess."


def _fill(orch: Orchestrator) -> dict[str, int]:
    orch.process(ALICE, user_id="alice", session_id="s1")
    orch.process(BOB, user_id="bob", agent_id="helper", session_id="s2")
    return _counts(orch)


def _counts(orch: Orchestrator) -> dict[str, int]:
    return {
        user: len(orch.get_all(user_id=user, include_superseded=True))
        + len(orch.run_sync(services_of(orch).history.for_user(user)))
        + len(orch.run_sync(services_of(orch).graph.relations(user)))
        for user in ("alice", "bob")
    }


def test_reads_of_a_hostile_scope_id_find_only_that_scope(orch: Orchestrator) -> None:
    _fill(orch)
    for hostile in HOSTILE:
        assert orch.get_all(user_id=hostile, include_superseded=True) == [], hostile
        found = orch.recall("where does she live? jazz chess", user_id=hostile)
        assert found.hits == [] and found.core == [], hostile
        totals = orch.stats(user_id=hostile).totals
        assert totals.model_dump() == {"memories": 0, "current": 0, "history_events": 0}, hostile
        export = io.StringIO()
        orch.export_jsonl(export, user_id=hostile)
        assert len(export.getvalue().splitlines()) == 1, hostile  # the header only
        # narrowing a real user by a hostile agent or session finds nothing of theirs
        assert orch.get_all(user_id="bob", agent_id=hostile) == [], hostile
        assert orch.get_all(user_id="alice", session_id=hostile) == [], hostile
        assert orch.recall("chess", user_id="bob", agent_id=hostile).hits == [], hostile


def test_writes_of_a_hostile_scope_id_touch_only_that_scope(orch: Orchestrator) -> None:
    before = _fill(orch)
    for hostile in HOSTILE:
        orch.process(f"I live in Starville {len(hostile)}.", user_id=hostile)
        assert orch.get_all(user_id=hostile), hostile  # a literal id is a user like any other
        orch.delete_all(user_id=hostile)
        orch.delete_all(user_id="bob", agent_id=hostile)
        assert _counts(orch) == before, hostile
        report = orch.forget(user_id=hostile)
        assert report.history_events >= 1, hostile  # its memories were deleted above
        orch.forget(user_id="alice", agent_id=hostile)
        assert _counts(orch) == before, hostile
        assert orch.get_all(user_id=hostile, include_superseded=True) == [], hostile
    assert orch.check().consistent


def test_the_mem0_facade_keeps_to_the_literal_scope(orch: Orchestrator) -> None:
    memory = Memory(orch)
    before = _fill(orch)
    for hostile in HOSTILE:
        assert memory.get_all(user_id=hostile)["results"] == [], hostile
        assert memory.search("jazz chess Paris", user_id=hostile)["results"] == [], hostile
        assert memory.search("jazz", user_id="alice", run_id=hostile)["results"] == [], hostile
        memory.delete_all(user_id=hostile)
        memory.forget(user_id=hostile)
        assert _counts(orch) == before, hostile


def test_the_langgraph_store_keeps_to_the_literal_namespace(orch: Orchestrator) -> None:
    store = OctomemStore(orch)
    store.put(("memories", "alice"), "home", {"content": "Alice lives in Paris."})
    store.put(("memories", "bob"), "home", {"content": "Bob lives in Berlin."})
    for hostile in HOSTILE:
        assert store.search(("memories", hostile)) == [], hostile
        assert store.search(("memories", hostile), query="lives in") == [], hostile
        assert store.get(("memories", hostile), "home") is None, hostile
        store.delete(("memories", hostile), "home")
    assert store.get(("memories", "alice"), "home") is not None
    assert [item.key for item in store.search(("memories", "bob"))] == ["home"]


@pytest.mark.parametrize("field", ["user_id", "agent_id", "session_id"])
def test_a_caller_filter_on_a_scope_field_stays_inside_the_scope(
    orch: Orchestrator, field: str
) -> None:
    """A filter the caller writes may use "*" (present) - within the caller's scope only."""
    _fill(orch)
    hits: list[Any] = orch.get_all(user_id="alice", filters={field: "*"})
    assert {m.user_id for m in hits} <= {"alice"}
    found = orch.recall("jazz chess", user_id="alice", filters={field: "*"}).hits
    assert {h.memory.user_id for h in found} <= {"alice"}


# ids that look like another user's: text cleaning (invisible characters dropped, NFC)
# would turn each into the one it is paired with
LOOKALIKES = {"b\u200bob": "bob", "bob\u00ad": "bob", "\ufeffbob": "bob", "Jose\u0301": "Jos\u00e9"}


def test_a_lookalike_scope_id_is_a_user_of_its_own_on_every_path(orch: Orchestrator) -> None:
    _fill(orch)
    orch.process("Hi, I'm José. I live in Lima and I love tango.", user_id="Jos\u00e9")
    memory = Memory(orch)

    def held() -> dict[str, list[str]]:
        return {
            user: sorted(r.id for r in orch.get_all(user_id=user, include_superseded=True))
            for user in ("bob", "Jos\u00e9")
        }

    before = held()
    assert all(before.values())
    for lookalike, real in LOOKALIKES.items():
        said = ascii(lookalike)
        assert orch.get_all(user_id=lookalike, include_superseded=True) == [], said
        assert orch.recall("where do I live? chess tango", user_id=lookalike).hits == [], said
        assert orch.get_all(user_id=real, filters={"user_id": lookalike}) == [], said
        assert memory.get_all(user_id=lookalike)["results"] == [], said
        assert memory.search("chess tango", user_id=lookalike)["results"] == [], said
        orch.process("I live in Starville.", user_id=lookalike)
        own = orch.get_all(user_id=lookalike, include_superseded=True)
        assert own and {r.user_id for r in own} == {lookalike}, said
        assert orch.delete_all(user_id=lookalike) == len(own), said
        orch.process("I live in Starville.", user_id=lookalike)
        orch.forget(user_id=lookalike)
        assert orch.get_all(user_id=lookalike, include_superseded=True) == [], said
        assert held() == before, said
    assert orch.check().consistent
