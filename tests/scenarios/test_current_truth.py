"""Current facts outrank stale evidence in recall, and `as_of=` answers with what was
current at a point in time.

A fact that changed ("I love coffee." then "These days I hate coffee") leaves the raw
turn of the old value behind, and that turn often matches the question better than the
short fact that replaced it. Recall must put the current fact first, keep the old turn
(lower) and say what replaced it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from octomem import Memory, Orchestrator
from octomem.errors import InvalidInputError
from octomem.models import MemoryType, RecallHit, RecallResult
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.staleness import OUTDATED
from tests.conftest import T0

DAY = timedelta(days=1)


def say(orch: Orchestrator, user: str, text: str, at: datetime) -> None:
    orch.process([{"role": "user", "content": text}], user_id=user, timestamp=at)


def turn_hit(result: RecallResult, text: str) -> RecallHit:
    [hit] = [h for h in result.hits if h.memory.content == f"user: {text}"]
    return hit


def rank_of(result: RecallResult, hit: RecallHit) -> int:
    return [h.id for h in result.hits].index(hit.id)


CHANGES = [
    ("I love coffee.", "These days I hate coffee, I only drink tea.", "Does the user like coffee?"),
    ("I like coffee.", "I don't like coffee anymore.", "How does the user feel about coffee?"),
    (
        "I really enjoy coffee.",
        "I dislike coffee these days.",
        "What does the user think of coffee?",
    ),
    ("I live in Paris.", "I moved to Berlin.", "Where does the user live?"),
    (
        "I'm based in Paris.",
        "I just moved to Berlin last week.",
        "Which city does the user live in?",
    ),
    ("I live in Paris.", "I'm living in Berlin these days.", "Where does the user live?"),
]


@pytest.mark.parametrize(("before", "after", "query"), CHANGES)
def test_the_current_fact_outranks_the_turn_that_said_the_old_value(
    shared_orch: Orchestrator, uid: Callable[[str], str], before: str, after: str, query: str
) -> None:
    orch, u = shared_orch, uid("u")
    say(orch, u, before, T0)
    say(orch, u, after, T0 + DAY)
    result = orch.recall(query, user_id=u)

    top = result.hits[0]
    assert top.memory.memory_type in (MemoryType.SEMANTIC, MemoryType.KNOWLEDGE)
    assert top.memory.is_current
    assert ("Berlin" in top.text) if "Paris" in before else ("dislikes coffee" in top.text)
    stale = turn_hit(result, before)  # still there, lower, saying what replaced it
    assert rank_of(result, stale) > 0
    assert top.id in {r.id for r in stale.replaced_by}
    assert all(r.is_current for r in stale.replaced_by)
    assert len({r.content for r in stale.replaced_by}) == len(stale.replaced_by)  # once each
    assert turn_hit(result, after).replaced_by == []


def test_a_turn_that_said_several_things_is_stale_only_for_what_changed(
    shared_orch: Orchestrator,
    uid: Callable[[str], str],
) -> None:
    orch, u = shared_orch, uid("u")
    said = "I love coffee and I live in Paris."
    say(orch, u, said, T0)
    say(orch, u, "These days I hate coffee.", T0 + DAY)

    where = orch.recall("Where does the user live?", user_id=u)
    assert turn_hit(where, said).replaced_by == []
    assert not any(p.retriever == "current" for h in where.hits for p in h.provenance)
    assert "Paris" in where.hits[0].text

    coffee = orch.recall("Does the user like coffee?", user_id=u)
    assert [r.content for r in turn_hit(coffee, said).replaced_by] == ["The user dislikes coffee."]


def test_include_superseded_still_returns_the_old_fact(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, u = shared_orch, uid("u")
    say(orch, u, "I love coffee.", T0)
    say(orch, u, "These days I hate coffee.", T0 + DAY)
    result = orch.recall("Does the user like coffee?", user_id=u, include_superseded=True)
    old = [h for h in result.hits if h.text == "The user likes coffee."]
    assert old and old[0].memory.valid_to is not None
    current = orch.recall("Does the user like coffee?", user_id=u)
    assert "The user likes coffee." not in current.texts()


def test_the_marks_are_written_once_and_a_retry_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, u = shared_orch, uid("u")
    first = orch.process([{"role": "user", "content": "I live in Paris."}], user_id=u, timestamp=T0)
    [turn_id] = first.turn_memory_ids
    change = [{"role": "user", "content": "I moved to Berlin."}]
    orch.process(change, user_id=u, timestamp=T0 + DAY)

    marked = orch.get(turn_id)
    marks = marked.internal[OUTDATED]
    closed = {orch.get(m["memory_id"]).content for m in marks}
    assert closed == {"The user lives in Paris."}  # the fact and its knowledge edge
    assert all(orch.get(m["by"]).content == "The user lives in Berlin." for m in marks)
    assert marked.content == "user: I live in Paris."
    history = orch.history(turn_id)
    assert [e.operation.value for e in history] == ["ADD", "UPDATE"]

    orch.process(change, user_id=u, timestamp=T0 + DAY)  # the same call again
    assert orch.get(turn_id).internal[OUTDATED] == marks
    assert orch.history(turn_id) == history


MOVES = [
    ("Paris", T0),
    ("Berlin", T0 + 10 * DAY),
    ("Munich", T0 + 20 * DAY),
    ("Rome", T0 + 30 * DAY),
]


@pytest.fixture
def mover(shared_orch: Orchestrator, uid: Callable[[str], str]) -> Orchestrator:
    """The shared store, where the test's user `uid("u")` moved three times."""
    say(shared_orch, uid("u"), "I live in Paris.", T0)
    for city, at in MOVES[1:]:
        say(shared_orch, uid("u"), f"I moved to {city}.", at)
    return shared_orch


def lives_in(orch: Orchestrator, user: str, **kwargs: Any) -> list[str]:
    records = orch.get_all(user_id=user, memory_types=["semantic"], **kwargs)
    return [r.value for r in records if getattr(r, "attribute", None) == "lives_in"]


@pytest.mark.parametrize("index", range(len(MOVES)))
def test_as_of_answers_with_the_value_current_then(
    mover: Orchestrator, uid: Callable[[str], str], index: int
) -> None:
    u = uid("u")
    city, since = MOVES[index]
    for at in (since, since + 5 * DAY):
        assert lives_in(mover, u, as_of=at) == [city]
        result = mover.recall("Where does the user live?", user_id=u, as_of=at)
        assert city in result.hits[0].text
        [block] = result.core  # the human block as its facts read then
        assert f"Lives in: {city}" in block.content.splitlines()
        later = [c for c, _ in MOVES[index + 1 :]]
        assert not any(c in h.text for h in result.hits for c in later)  # not known yet
        for h in result.hits:
            assert all(city in r.content for r in h.replaced_by)


def test_as_of_before_the_first_fact_finds_nothing(
    mover: Orchestrator, uid: Callable[[str], str]
) -> None:
    u = uid("u")
    before = T0 - DAY
    assert lives_in(mover, u, as_of=before) == []
    assert mover.get_all(user_id=u, as_of=before) == []
    assert mover.recall("Where?", user_id=u, as_of=before).core == []  # no fact yet
    assert mover.recall("Where does the user live?", user_id=u, as_of=before).hits == []
    assert lives_in(mover, u) == ["Rome"]


def test_as_of_is_checked(shared_orch: Orchestrator, uid: Callable[[str], str]) -> None:
    orch, u = shared_orch, uid("u")
    with pytest.raises(InvalidInputError, match="as_of"):
        orch.recall("Where?", user_id=u, as_of="2026-03-01")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="as_of"):
        orch.get_all(user_id=u, as_of=T0, include_superseded=True)
    naive = T0.replace(tzinfo=None)
    say(orch, u, "I live in Paris.", T0)
    assert lives_in(orch, u, as_of=naive) == ["Paris"]  # naive is UTC


def test_the_mem0_facade_takes_as_of(mover: Orchestrator, uid: Callable[[str], str]) -> None:
    u = uid("u")
    memory = Memory(mover)
    berlin = MOVES[1][1] + DAY
    listed = [m["memory"] for m in memory.get_all(user_id=u, as_of=berlin)["results"]]
    facts = [text for text in listed if text.startswith("The user lives in")]
    assert facts == ["The user lives in Berlin."] * 2  # the semantic fact and its graph edge
    assert "I live in Paris." in listed  # said then, and still what was said (as given)
    assert not any(c in text for text in listed for c in ("Munich", "Rome"))  # not yet said
    found = memory.search("Where does the user live?", user_id=u, as_of=berlin)["results"]
    assert found[0]["memory"] == "The user lives in Berlin."


def test_a_question_naming_the_old_value_keeps_its_turn_as_evidence(
    shared_orch: Orchestrator,
    uid: Callable[[str], str],
) -> None:
    orch, u = shared_orch, uid("u")
    said = "I live in Paris."
    say(orch, u, said, T0)
    say(orch, u, "I moved to Berlin.", T0 + DAY)
    # the question asks about the past value: the turn that said it is not stale
    past = orch.recall("Did the user ever live in Paris?", user_id=u)
    assert turn_hit(past, said).replaced_by == []
    # a question about the value now still gets the current fact above the old turn
    now = orch.recall("Where does the user live?", user_id=u)
    assert [r.content for r in turn_hit(now, said).replaced_by] == ["The user lives in Berlin."]


def test_a_turn_is_not_stale_for_what_it_said_that_did_not_change(
    shared_orch: Orchestrator,
    uid: Callable[[str], str],
) -> None:
    orch, u = shared_orch, uid("u")
    said = "I live in Paris with my cat Miso."
    say(orch, u, said, T0)
    say(orch, u, "I moved to Berlin.", T0 + DAY)
    miso = orch.recall("Who lives with the cat Miso?", user_id=u)
    assert turn_hit(miso, said).replaced_by == []


def test_a_stale_turn_the_vector_search_found_costs_no_round_of_reads_of_its_own(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a Chroma server each round of reads is a round trip the recall waits on. The
    facts that replaced a stale turn the vector search found are read with the records of
    the other searches' hits, not in a round after the ranking, and the search without
    the speakers' names the query holds ("the user") goes with them: two rounds, where
    there were four. (Rounds are counted, not timed.)"""
    orch, user = shared_orch, uid("moved")
    say(orch, user, "I live in Paris.", T0)
    say(orch, user, "I moved to Berlin.", T0 + DAY)
    query = "Where does the user live?"
    orch.recall(query, user_id=user)  # the embeddings cached: the rounds are the reads'
    vector = services_of(orch).vector
    ended: list[int] = []  # the round of each read that has come back

    def watched(method: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            # the round trips it waited on: one more than any read back before it began
            depth = 1 + max(ended, default=0)
            await asyncio.sleep(0.1)  # a round trip, longer than the work beside it
            try:
                return await method(*args, **kwargs)
            finally:
                ended.append(depth)

        return call

    for name in ("get", "list", "query"):
        monkeypatch.setattr(vector, name, watched(getattr(vector, name)))
    result = orch.recall(query, user_id=user)
    stale = turn_hit(result, "I live in Paris.")
    assert [r.content for r in stale.replaced_by] == ["The user lives in Berlin."]
    assert max(ended) == 2, ended
