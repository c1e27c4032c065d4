"""A question in the first person ("what did I buy?") is about what the user said: their
turns rank above the assistant's replies that repeat the same words, and memories
extracted from them keep their place above both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from octomem.models import EpisodicMemory
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.fusion import Fused, boost_named_actors

CHAT = [
    {"role": "user", "content": "I bought a cast-iron skillet for the kitchen today."},
    {
        "role": "assistant",
        "content": "A cast-iron skillet is a great buy for any kitchen! Season the skillet "
        "with oil, and a cast-iron skillet from the kitchen will last for decades.",
    },
    {"role": "user", "content": "Also, my sister is visiting next week."},
    {"role": "assistant", "content": "How lovely, enjoy the visit with your sister!"},
    {"role": "user", "content": "The garden needs more sun than it gets."},
    {"role": "assistant", "content": "Gardens do love sun; try plants that like shade."},
]


@pytest.mark.parametrize(
    "as_transcript", [False, True], ids=["roles", "speaker names in user messages"]
)
def test_a_first_person_question_ranks_the_users_turn_above_the_assistants_echo(
    shared_orch: Orchestrator, uid: Callable[[str], str], as_transcript: bool
) -> None:
    orch, u = shared_orch, uid("u")
    messages = (
        [{"role": "user", "name": m["role"], "content": m["content"]} for m in CHAT]
        if as_transcript  # a transcript passed as user messages, each naming its speaker
        else CHAT
    )
    orch.process(messages, user_id=u, infer=False)
    hits = orch.recall("What skillet did I buy for the kitchen?", user_id=u).hits
    order = [h.memory.content for h in hits]
    said = order.index("user: " + CHAT[0]["content"])
    echoed = order.index("assistant: " + CHAT[1]["content"])
    assert said < echoed


def test_a_question_not_in_the_first_person_boosts_no_one() -> None:
    fused: Fused = [("echo", 0.9, []), ("said", 0.7, []), ("other", 0.1, [])]
    records = {
        "echo": turn("echo", "assistant", "assistant"),
        "said": turn("said", "user", "user"),
        "other": turn("other", "user", "user"),
    }
    assert boost_named_actors(fused, records, "Which skillet advice was given?", 2.0) == fused
    # a question to the assistant ("you") is about what it said, even with a "me" in it
    assert boost_named_actors(fused, records, "What did you tell me to buy?", 2.0) == fused
    boosted = boost_named_actors(fused, records, "Which skillet did I buy?", 2.0)
    assert [i for i, _, _ in boosted] == ["said", "echo", "other"]  # 0.1 + 0.6 * 2


def turn(memory_id: str, actor: str, role: str) -> EpisodicMemory:
    return EpisodicMemory(
        id=memory_id,
        content=f"{actor}: ...",
        summary="...",
        actor=actor,
        event_type="message",
        occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        user_id="u",
        internal={"role": role, "raw": True},
    )


@pytest.mark.parametrize("query", ["Where does ana live?", "where does Ana live?"])
def test_a_question_naming_the_user_by_their_id_finds_what_the_user_said(
    make_orch: Callable[..., Orchestrator], query: str
) -> None:
    """Until the user tells their name, what the agents keep about them says "the user";
    a question that names them by a user id that reads as a name is about them."""
    orch = make_orch()
    said = "I live in Lisbon and work at Acme; my sister Ingrid lives in Oslo."
    orch.process([{"role": "user", "content": said}], user_id="ana")
    top = orch.recall(query, user_id="ana").hits[0].memory
    assert "Lisbon" in top.content and "Oslo" not in top.content
