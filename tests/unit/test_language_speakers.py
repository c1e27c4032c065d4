"""What others said (`octomem.language.speakers`, `agents.episodic.announced`): a user turn
named for someone else is theirs - its first-person facts are about the speaker, never the
user - and a dated plan said in the third person is an event with its place and date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from octomem.agents.episodic.announced import announced
from octomem.language import read_conversation
from octomem.language.facts import read_facts
from octomem.language.speakers import other_speakers
from octomem.models import Role, Turn

TS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def turn(content: str, name: str | None = None, role: Role = "user", index: int = 0) -> Turn:
    return Turn(id=f"t{index}", role=role, name=name, content=content, timestamp=TS, index=index)


def facts_of(*turns: Turn, user_id: str = "pria", user_name: str | None = None) -> set[tuple]:
    readings = read_conversation(list(turns), user_name, user_id)
    return {(f.subject, f.attribute, f.value) for r in readings for f in r.facts}


def test_first_person_facts_of_another_speaker_are_theirs() -> None:
    said = turn("I moved to Lisbon. I'm 41. My name is Bob. My sister Eva works at Globex.", "Bob")
    assert facts_of(said) == {
        ("Bob", "lives_in", "Lisbon"),
        ("Bob", "age", "41"),
        ("Bob", "sibling", "Eva"),
        ("Eva", "works_at", "Globex"),
    }
    [reading] = read_conversation([said], None, "pria")
    assert reading.speaker == "Bob" and reading.user_name is None  # "Bob" is not the user's


@pytest.mark.parametrize(
    ("name", "user_id", "user_name"),
    [
        (None, "pria", None),  # an unnamed user turn
        ("Pria Natarajan", "pria", None),  # the user's id, as the first word of the name
        ("pria", "u-7f3a", "Pria"),  # the user's known name
        ("user", "u-7f3a", None),
    ],
)
def test_the_users_own_turns_stay_the_users(
    name: str | None, user_id: str, user_name: str | None
) -> None:
    said = turn("I live in Berlin.", name)
    assert facts_of(said, user_id=user_id, user_name=user_name) == {("user", "lives_in", "Berlin")}


def test_in_a_chat_with_the_assistant_its_one_named_human_is_the_user() -> None:
    chat = [turn("I live in Berlin.", "Alice"), turn("Noted!", role="assistant", index=1)]
    assert other_speakers(chat, "u-7f3a", None) == {}
    group = [*chat, turn("I live in Oslo.", "Carl", index=2)]  # two people: neither is known
    assert other_speakers(group, "u-7f3a", None) == {"t0": "Alice", "t2": "Carl"}


def test_a_role_said_about_someone() -> None:
    assert read_facts("Ana is the new on-call engineer.")[0][0].value == "on-call engineer"
    assert {(f.subject, f.value) for f in read_facts("Bo is now our team lead.")[0]} == {
        ("Bo", "team lead")
    }
    for judgement in ["Maria is the best teacher.", "Berlin is the capital of Germany."]:
        assert read_facts(judgement)[0] == []


def test_a_dated_plan_said_in_the_third_person_is_an_event() -> None:
    event = announced("Bob Tanaka: The offsite will be held in Lisbon on 12 May.", TS)
    assert event is not None
    assert event.clause == "The offsite will be held in Lisbon on 12 May"
    assert (event.place, event.time.iso()) == ("Lisbon", "2026-05-12")
    moved = announced("Heads up, the launch moves to the Quillby venue next Friday.", TS)
    assert moved is not None and moved.place == "Quillby" and moved.time.iso() == "2026-03-06"
    for not_one in [
        "The offsite will be held in Lisbon.",  # no date
        "Will the offsite be held in Lisbon on 12 May?",
        "If the offsite is in Lisbon on 12 May, I will come.",
        "It is on 12 May.",
    ]:
        assert announced(not_one, TS) is None, not_one
