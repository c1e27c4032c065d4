"""A question that names a speaker ("What books has Tim read?") also searches the turns
without the name (`recall.weights.unnamed`): the name, which sits beside all of Tim's
turns, no longer outweighs what the question asks about. Offline, no LLM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from octomem.models import EpisodicMemory, RecallHit
from octomem.orchestrator.recall.unnamed import speakers_named, without_names

TALK = [
    ("Tim", "Hey John, Tim here! How was the game last night?"),
    ("John", "We won by ten points, Tim. The crowd was wild."),
    ("Tim", "Tim is so happy for you! Tim watched the highlights twice."),
    ("John", "Thanks! What did you get up to this weekend?"),
    ("Tim", "I just finished The Alchemist, one of my favourite novels."),
    ("John", "Nice. I spent the weekend at the gym with my team."),
    ("Tim", "Tim says hi to the team, Tim will come to the next game."),
    ("John", "Great, Tim! See you there."),
]
ANSWER = "Tim: I just finished The Alchemist, one of my favourite novels."


def _ask(make_orch: Callable[..., Any], uid: str, **overrides: Any) -> list[RecallHit]:
    orch = make_orch(**overrides)
    messages = [{"role": "user", "name": who, "content": text} for who, text in TALK]
    orch.process(messages, user_id=uid, infer=False, timestamp=datetime(2025, 5, 1, tzinfo=UTC))
    return orch.recall("What books has Tim read?", user_id=uid, limit=10).hits


def test_a_question_naming_a_speaker_reaches_their_turn_without_the_name(
    make_orch: Callable[..., Any], uid: Callable[[str], str]
) -> None:
    hits = _ask(make_orch, uid("u"))
    [answer] = [h for h in hits if h.memory.content == ANSWER]
    assert "unnamed" in {p.retriever for p in answer.provenance}
    off = _ask(make_orch, uid("u"), recall={"weights": {"unnamed": 0.0}})
    assert all(p.retriever != "unnamed" for h in off for p in h.provenance)
    rank_on = [h.memory.content for h in hits].index(ANSWER)
    rank_off = [h.memory.content for h in off].index(ANSWER)
    assert rank_on < rank_off


def test_the_names_left_out_are_the_speakers_of_turns() -> None:
    assert without_names("What books has Tim read?", ["Tim"]) == "What books has read?"
    assert without_names("What are Nate's favorite desserts?", ["Nate"]) == (
        "What are favorite desserts?"
    )
    assert without_names("Did Timothy meet Tim?", ["Tim"]) == "Did Timothy meet ?"
    turn = _record("Tim", raw=True)
    event = _record("Maya", raw=False)  # read from the user's "I moved to Berlin"
    assert speakers_named("Where did Tim and Maya go?", [turn, event]) == ["Tim"]


def _record(actor: str, *, raw: bool) -> EpisodicMemory:
    return EpisodicMemory(
        id=f"{actor}-{raw}",
        content=f"{actor}: ...",
        summary="...",
        actor=actor,
        event_type="message" if raw else "event",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        user_id="u",
        internal={"raw": True} if raw else {},
    )
