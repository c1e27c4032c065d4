"""Stale marks and the demotion of stale evidence (`octomem.orchestrator.staleness`), on
records built by hand and a dict standing in for the vector store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from octomem.agents import default_agents
from octomem.agents.registry import Roles
from octomem.memory_types import BUILTIN_REGISTRY
from octomem.models import (
    EpisodicMemory,
    MemoryBase,
    MemoryType,
    Operation,
    SemanticMemory,
    SourceRef,
)
from octomem.orchestrator.staleness import (
    MAX_MARKS,
    OUTDATED,
    about,
    closed_by,
    content_stems,
    demote_stale,
    marks_of,
    merged_marks,
    outdated_turn_changes,
    raw_turn_id,
)
from octomem.plans import Decision, RecallPlan

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class Store:
    """The part of the vector store staleness reads: records by id."""

    def __init__(self, records: Sequence[MemoryBase]) -> None:
        self.records = {r.id: r for r in records}

    async def get(self, memory_type: MemoryType, ids: Sequence[str]) -> list[MemoryBase]:
        return [self.records[i] for i in ids if i in self.records]


def services(*records: MemoryBase) -> Any:
    roles = Roles(default_agents())
    return SimpleNamespace(
        vector=Store(records),
        id_key=None,
        agents=default_agents(),
        roles=roles,
        turn_log=roles.turns,
        types=BUILTIN_REGISTRY,
    )


def fact(value: str, at: datetime, turn: str, **update: Any) -> SemanticMemory:
    return SemanticMemory(
        id=f"sem_{value.lower()}",
        user_id="u",
        content=f"The user lives in {value}.",
        subject="user",
        attribute="lives_in",
        value=value,
        valid_from=at,
        created_at=at,
        source=SourceRef(turn_ids=[turn]),
        **update,
    )


def turn(text: str, turn_id: str, at: datetime, **internal: Any) -> EpisodicMemory:
    stub = SemanticMemory(id="x", user_id="u", content="", subject="", attribute="", value="")
    return EpisodicMemory(
        id=raw_turn_id(services(), stub, turn_id),
        user_id="u",
        content=f"user: {text}",
        occurred_at=at,
        actor="user",
        event_type="message",
        summary=text,
        valid_from=at,
        created_at=at,
        internal={"raw": True, **internal},
        source=SourceRef(turn_ids=[turn_id]),
    )


def test_content_stems_match_word_forms_and_skip_function_words() -> None:
    assert content_stems("Where does the user live?") == {"liv"}
    assert content_stems("The user lives in Paris.") == {"liv", "pari"}
    assert content_stems("She lived there") == content_stems("living") == {"liv"}
    assert content_stems("Does the user like coffee?") == content_stems("The user likes coffee.")


def test_about_needs_a_shared_word_other_than_whom_the_fact_is_about() -> None:
    coffee = SemanticMemory(
        id="sem_c",
        content="Caroline likes coffee.",
        subject="user",
        attribute="preference:coffee",
        value="likes",
        entities=["Caroline"],  # a named user's facts carry the name
    )
    roles = Roles(default_agents())
    assert about(roles, content_stems("Does Caroline like coffee?"), coffee)
    assert not about(roles, content_stems("Where does Caroline live?"), coffee)
    assert not about(roles, content_stems("What does Caroline like?"), None)


def test_merged_marks_keep_one_per_fact_oldest_first_and_at_most_the_cap() -> None:
    marks = [
        {"memory_id": f"sem_{i:03}", "by": None, "at": (T0 + i * DAY).isoformat()}
        for i in range(MAX_MARKS + 5)
    ]
    merged = merged_marks(marks[:3], marks[3:])
    assert merged == marks[-MAX_MARKS:]
    again = merged_marks(merged, [{**marks[-1], "by": "sem_new"}])
    assert len(again) == MAX_MARKS and again[-1]["by"] == "sem_new"
    assert merged_marks("damaged", marks[:1]) == marks[:1]


def test_marks_of_sees_only_closures_up_to_the_time_asked() -> None:
    record = turn("I live in Paris.", "t1", T0, **{OUTDATED: [
        {"memory_id": "sem_paris", "by": "sem_berlin", "at": (T0 + DAY).isoformat()},
        {"memory_id": "sem_bad", "at": "not a date"},
    ]})  # fmt: skip
    assert [m["memory_id"] for m in marks_of(record, None)] == ["sem_paris", "sem_bad"]
    assert [m["memory_id"] for m in marks_of(record, T0 + DAY)] == ["sem_paris"]
    assert marks_of(record, T0) == []


def test_closed_by_lists_superseded_and_retracted_records() -> None:
    paris, berlin = fact("Paris", T0, "t1"), fact("Berlin", T0 + DAY, "t2")
    supersede = Decision(operation=Operation.SUPERSEDE, record=berlin, previous=[paris])
    retract = Decision(operation=Operation.DELETE, record=berlin, previous=[berlin])
    add = Decision(operation=Operation.ADD, record=paris)
    assert closed_by([supersede, retract, add]) == [(paris, berlin), (berlin, None)]


def test_outdated_turn_changes_mark_the_source_turn_not_the_successors() -> None:
    said = turn("I live in Paris.", "t1", T0)
    both = turn("I lived in Paris, now Berlin.", "t2", T0 + DAY)
    berlin = fact("Berlin", T0 + DAY, "t2")
    paris = fact("Paris", T0, "t1", valid_to=T0 + DAY, superseded_by=berlin.id)
    also = paris.model_copy(update={"id": "sem_paris2", "source": SourceRef(turn_ids=["t1", "t2"])})
    changes = asyncio.run(
        outdated_turn_changes(services(said, both), [(paris, berlin), (also, berlin)])
    )
    [(marked, event)] = changes
    assert marked.id == said.id and marked.content == said.content
    assert marked.internal[OUTDATED] == [
        {"memory_id": "sem_paris", "by": "sem_berlin", "at": (T0 + DAY).isoformat()},
        {"memory_id": "sem_paris2", "by": "sem_berlin", "at": (T0 + DAY).isoformat()},
    ]
    assert event.operation is Operation.UPDATE and event.memory_id == said.id
    again = asyncio.run(outdated_turn_changes(services(said, both), [(paris, berlin)]))
    assert again[0][1].id != event.id  # other marks, other event
    assert asyncio.run(outdated_turn_changes(services(marked), [(paris, berlin)])) == []


def _recall(
    records: Sequence[MemoryBase], fused: list[tuple[str, float]], query: str, **plan: Any
) -> tuple[list[tuple[str, float]], dict[str, list[str]]]:
    defaults = {
        "agents": [MemoryType.EPISODIC, MemoryType.SEMANTIC],
        "user_id": "u",
        "turns": MemoryType.EPISODIC,
    }
    scope = RecallPlan(**{**defaults, "now": T0 + 100 * DAY, **plan})
    known = {r.id: r for r in records}
    hits = {i: known[i] for i, _ in fused}
    ranked, replaced = asyncio.run(
        demote_stale(services(*records), scope, [(i, s, []) for i, s in fused], hits, query, 0.5)
    )
    return [(i, round(s, 3)) for i, s, _ in ranked], {
        k: [r.id for r in v] for k, v in replaced.items()
    }


@pytest.fixture
def moved() -> list[MemoryBase]:
    berlin = fact("Berlin", T0 + DAY, "t2")
    paris = fact("Paris", T0, "t1", valid_to=T0 + DAY, superseded_by=berlin.id)
    mark = {"memory_id": paris.id, "by": berlin.id, "at": (T0 + DAY).isoformat()}
    stale = turn("I live in Paris and I love jazz.", "t1", T0, **{OUTDATED: [mark]})
    return [berlin, paris, stale, turn("unrelated", "t9", T0)]


def test_demote_stale_puts_the_current_fact_above_the_stale_turn(moved: list[MemoryBase]) -> None:
    berlin, _, stale, other = moved
    ranked, replaced = _recall(
        moved, [(stale.id, 1.0), (berlin.id, 0.6), (other.id, 0.2)], "Where does the user live?"
    )
    assert ranked == [(berlin.id, 1.0), (stale.id, 0.6), (other.id, 0.2)]
    assert replaced == {stale.id: [berlin.id]}


def test_demote_stale_brings_in_a_current_fact_no_retriever_found(
    moved: list[MemoryBase],
) -> None:
    berlin, _, stale, other = moved
    ranked, _ = _recall(moved, [(stale.id, 1.0), (other.id, 0.2)], "Where does the user live?")
    assert [i for i, _ in ranked] == [berlin.id, stale.id, other.id]


def test_demote_stale_leaves_turns_alone_for_other_questions_and_times(
    moved: list[MemoryBase],
) -> None:
    _, _, stale, other = moved
    fused = [(stale.id, 1.0), (other.id, 0.2)]
    assert _recall(moved, fused, "Does the user like jazz?") == (fused, {})
    assert _recall(moved, fused, "Where does the user live?", as_of=T0) == (fused, {})
    assert _recall(moved, fused, "Where does the user live?", include_superseded=True) == (
        fused,
        {},
    )


def test_a_successor_outside_the_recall_scope_is_not_shown(moved: list[MemoryBase]) -> None:
    berlin, _, stale, other = moved
    ranked, replaced = _recall(
        moved,
        [(stale.id, 1.0), (other.id, 0.2)],
        "Where does the user live?",
        agents=[MemoryType.EPISODIC],
    )
    assert ranked == [(stale.id, 0.6), (other.id, 0.2)]  # still demoted: it is stale
    assert replaced == {stale.id: []}


def test_a_fact_rewritten_in_place_replaces_its_turn_with_its_new_text() -> None:
    said = turn("I live in Paris.", "t1", T0)
    old = fact("Paris", T0, "t1")
    new = old.model_copy(update={"content": "The user lives in Berlin.", "value": "Berlin"})
    [(marked, event)] = asyncio.run(
        outdated_turn_changes(services(said), [(old, new)], at=T0 + DAY)
    )
    assert marked.internal[OUTDATED] == [
        {"memory_id": old.id, "by": old.id, "at": (T0 + DAY).isoformat()}
    ]
    assert event.at == T0 + DAY  # logged when the fact changed, not when the turn was said
    ranked, replaced = _recall([new, marked], [(marked.id, 1.0)], "Where does the user live?")
    assert [i for i, _ in ranked] == [new.id, marked.id]
    assert replaced == {marked.id: [new.id]}


def _demoted(
    records: Sequence[MemoryBase], fused: Any, hits: Sequence[MemoryBase], query: str
) -> tuple[dict[str, list[MemoryBase]], list[list[str]]]:
    """`demote_stale`'s replacements over a store of `records`, and the ids of each read."""
    store = services(*records)
    reads: list[list[str]] = []
    real_get = store.vector.get

    async def get(memory_type: MemoryType, ids: Sequence[str]) -> list[MemoryBase]:
        reads.append(list(ids))
        return await real_get(memory_type, ids)

    store.vector.get = get
    plan = RecallPlan(
        agents=[MemoryType.EPISODIC, MemoryType.SEMANTIC],
        user_id="u",
        turns=MemoryType.EPISODIC,
        now=T0 + 100 * DAY,
    )
    found = {hit.id: hit for hit in hits}
    _, replaced = asyncio.run(demote_stale(store, plan, fused, found, query, 0.5))
    return replaced, reads


def test_chains_of_changes_are_followed_side_by_side() -> None:
    """Five facts, each changed three times, a stale turn for the first value of each:
    every stale turn is replaced by its fact's current value, and the chains are read a
    step at a time for all of them (reads do not grow with the number of stale turns)."""
    turns, records = [], []
    for k, attribute in enumerate(["lives_in", "works_at", "drives", "plays", "reads"]):
        chain: list[SemanticMemory] = []
        for step in reversed(range(4)):
            at = T0 + step * DAY
            later = (
                {"valid_to": chain[-1].valid_from, "superseded_by": chain[-1].id} if chain else {}
            )
            chain.append(
                SemanticMemory(
                    id=f"sem_{attribute}_{step}",
                    user_id="u",
                    content=f"The user {attribute} value {step}.",
                    subject="user",
                    attribute=attribute,
                    value=str(step),
                    valid_from=at,
                    created_at=at,
                    source=SourceRef(turn_ids=[f"t{k}{step}"]),
                    **later,
                )
            )
        chain.reverse()  # value 0 (oldest) ... value 3 (current)
        first, second = chain[0], chain[1]
        mark = {"memory_id": first.id, "by": second.id, "at": second.valid_from.isoformat()}
        turns.append(turn(f"The user {attribute} value 0.", f"said{k}", T0, **{OUTDATED: [mark]}))
        records += chain
    fused = [(t.id, 1.0 - n / 10, []) for n, t in enumerate(turns)]
    replaced, reads = _demoted([*records, *turns], fused, turns, "What is the user value?")
    current = [r.id for r in records if r.valid_to is None]
    assert sorted(r.id for found in replaced.values() for r in found) == sorted(current)
    assert len(replaced) == 5
    # the marked facts with what replaced them then (`by`), then a read per further step
    # of all five chains
    assert len(reads) <= 3, reads


def test_a_fact_changed_once_is_replaced_in_one_read(moved: list[MemoryBase]) -> None:
    """The stale turn's mark names the fact and what replaced it: both come in one read."""
    berlin, _, stale, other = moved
    fused = [(stale.id, 1.0, []), (other.id, 0.2, [])]
    replaced, reads = _demoted(moved, fused, [stale, other], "Where does the user live?")
    assert {k: [r.id for r in v] for k, v in replaced.items()} == {stale.id: [berlin.id]}
    assert len(reads) == 1, reads
