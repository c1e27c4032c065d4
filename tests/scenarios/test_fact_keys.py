"""Fact-augmented keys (`agents.fact_keys`): what the agents read from a turn is a search
key of that turn, in the vector and keyword indexes, written with the memories it came
from: masked like them, gone with them, and following their supersession."""

from __future__ import annotations

from typing import Any

import pytest

from octomem import Orchestrator
from octomem.models import (
    FACT_KEYS,
    EpisodicMemory,
    MemoryBase,
    MemoryType,
    SourceRef,
    embedding_text,
    keyword_context,
)
from octomem.orchestrator.fusion import boost_named_actors
from octomem.orchestrator.internals import services_of
from tests.conftest import T0

USER = "alice"


@pytest.fixture
def keyed(make_orch: Any) -> Orchestrator:
    orch: Orchestrator = make_orch(agents={"fact_keys": True})
    return orch


def say(orch: Orchestrator, *texts: str, user: str = USER) -> None:
    messages = [{"role": "user", "content": text} for text in texts]
    orch.process(messages, user_id=user, timestamp=T0, infer=True)


def turns(orch: Orchestrator, user: str = USER) -> dict[str, MemoryBase]:
    """The user's raw turns by their text as said."""
    records = orch.run_sync(
        services_of(orch).vector.list(MemoryType.EPISODIC, where={"user_id": user})
    )
    return {r.content: r for r in records if r.internal.get("raw")}


def keyword_ids(orch: Orchestrator, words: str, user: str = USER) -> list[str]:
    found = orch.run_sync(services_of(orch).keyword.search(words, user_id=user, limit=50))
    return [memory_id for memory_id, _, _ in found]


def test_a_turn_is_found_by_a_word_only_its_fact_holds(keyed: Orchestrator, make_orch: Any) -> None:
    """ "I love hiking." is read as the fact "Alice likes hiking."; the turn says neither
    "likes" nor "Alice", and is found by them."""
    for orch in (keyed, make_orch()):  # keys on, then the default (off)
        say(orch, "I'm Alice.", "I love hiking.")
        turn = turns(orch)["user: I love hiking."]
        found = turn.id in keyword_ids(orch, "likes")
        keys = turn.internal.get(FACT_KEYS)
        if orch is keyed:
            assert found and list(keys.values()) == ["Alice likes hiking."]
            assert embedding_text(turn).endswith("user: I love hiking.\nAlice likes hiking.")
            assert "Alice likes hiking." in keyword_context(turn)
            hits = orch.recall("Who likes hiking?", user_id=USER).hits
            assert turn.id in [hit.id for hit in hits]  # the turn is the value recalled
        else:
            assert not found and keys is None and embedding_text(turn).endswith("hiking.")


def test_a_secret_in_a_fact_never_reaches_a_key(keyed: Orchestrator) -> None:
    secret = "sk-abcdefghijklmnopqrstuvwx1234"
    say(keyed, f"My api key is {secret} and I love hiking.")
    [turn] = turns(keyed).values()
    keys = turn.internal[FACT_KEYS]
    assert keys and all(secret not in text for text in keys.values())
    assert secret not in embedding_text(turn) and secret not in keyword_context(turn)
    assert keyword_ids(keyed, secret) == []
    assert turn.id in keyword_ids(keyed, "likes")


def test_forget_erases_a_users_keys(keyed: Orchestrator) -> None:
    say(keyed, "I'm Alice.", "I love hiking.")
    say(keyed, "I'm Bob.", "I love sailing.", user="bob")
    assert keyword_ids(keyed, "likes")
    keyed.forget(user_id=USER)
    assert turns(keyed) == {} and keyword_ids(keyed, "likes hiking") == []
    assert keyword_ids(keyed, "likes", user="bob")  # another user's keys stay


def test_a_superseded_fact_leaves_its_turns_keys_and_current_truth_holds(
    keyed: Orchestrator,
) -> None:
    say(keyed, "I live in Paris.")
    say(keyed, "I moved to Berlin.")
    stored = turns(keyed)
    paris, berlin = stored["user: I live in Paris."], stored["user: I moved to Berlin."]
    assert "Paris" not in fact_texts(paris)  # the closed fact is no key of its turn
    assert "lives in Berlin" in fact_texts(berlin)
    assert paris.internal.get("outdated")  # the stale mark is written as without keys
    hits = keyed.recall("Where does the user live?", user_id=USER).hits
    facts = [h for h in hits if h.memory_type is MemoryType.SEMANTIC]
    assert facts and "Berlin" in facts[0].memory.content
    [old] = [h for h in hits if h.id == paris.id]
    assert [r.content for r in old.replaced_by] == [facts[0].memory.content]
    assert [h.id for h in hits].index(facts[0].id) < [h.id for h in hits].index(paris.id)


def test_an_updated_or_deleted_fact_changes_its_turns_key(keyed: Orchestrator) -> None:
    say(keyed, "I'm Alice.", "I love hiking.", "My sister is Jane.")
    stored = turns(keyed)
    hiking, sister = stored["user: I love hiking."], stored["user: My sister is Jane."]
    [like] = list(hiking.internal[FACT_KEYS])
    [jane] = list(sister.internal[FACT_KEYS])
    keyed.update(like, "Alice likes hiking in the Alps.", user_id=USER)
    keyed.delete(jane, user_id=USER)
    stored = turns(keyed)
    assert fact_texts(stored["user: I love hiking."]) == "Alice likes hiking in the Alps."
    assert stored["user: My sister is Jane."].internal.get(FACT_KEYS) is None
    assert stored["user: I love hiking."].id in keyword_ids(keyed, "Alps")


def test_a_call_made_again_changes_no_key(keyed: Orchestrator) -> None:
    say(keyed, "I'm Alice.", "I love hiking.")
    before = turns(keyed)
    say(keyed, "I'm Alice.", "I love hiking.")
    assert turns(keyed) == before


def fact_texts(turn: MemoryBase) -> str:
    keys = turn.internal.get(FACT_KEYS) or {}
    return "\n".join(keys.values())


def test_with_keys_a_memory_is_raised_for_its_actor_only_beside_their_own_turn() -> None:
    """A key holds the name of whom its memory is about: "Maya moved to Berlin", read from
    "user: I moved to Berlin", makes a question naming Maya find that turn. So with keys,
    a memory read from turns is raised for its actor only if a turn of it said by that
    actor is a hit."""

    def turn(memory_id: str, actor: str, turn_id: str) -> EpisodicMemory:
        return EpisodicMemory(
            id=memory_id,
            user_id=USER,
            content=f"{actor}: ...",
            occurred_at=T0,
            actor=actor,
            event_type="message",
            summary="",
            internal={"raw": True},
            source=SourceRef(turn_ids=[turn_id]),
        )

    def event(memory_id: str, actor: str, turn_id: str) -> EpisodicMemory:
        return EpisodicMemory(
            id=memory_id,
            user_id=USER,
            content=f"{actor} picked it up.",
            occurred_at=T0,
            actor=actor,
            event_type="event",
            summary="",
            source=SourceRef(turn_ids=[turn_id]),
        )

    records: dict[str, MemoryBase] = {
        r.id: r
        for r in (
            turn("ben-turn", "Ben", "t1"),
            event("ben-event", "Ben", "t1"),
            turn("user-turn", "user", "t2"),
            event("maya-event", "Maya", "t2"),
            turn("floor", "Ann", "t3"),
        )
    }
    fused = [(i, 2.0, []) for i in ("ben-event", "maya-event", "ben-turn", "user-turn")]
    fused.append(("floor", 1.0, []))
    for query in ("What did Ben pick up?", "What did Maya pick up?"):
        plain = {i: s for i, s, _ in boost_named_actors(fused, records, query, 2.0)}
        keyed = {i: s for i, s, _ in boost_named_actors(fused, records, query, 2.0, keyed=True)}
        if "Ben" in query:
            assert plain["ben-event"] == keyed["ben-event"] == 3.0  # Ben's own turn is a hit
            assert plain["ben-turn"] == keyed["ben-turn"] == 3.0
        else:
            assert plain["maya-event"] == 3.0 and keyed["maya-event"] == 2.0
