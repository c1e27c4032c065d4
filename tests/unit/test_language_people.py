"""People and pronouns (`octomem.language.people`): "he" and "she" read as the person
they name where that is clear, left alone where it is not, and never read as the user."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from octomem.agents.base import ExtractionContext
from octomem.agents.semantic import SemanticAgent
from octomem.language import read_conversation, third_person, user_facts
from octomem.language.facts import read_facts
from octomem.language.people import People
from octomem.models import Scope, Turn

TS = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


def said(text: str) -> set[tuple[str, str, str]]:
    facts, _ = read_facts(text)
    return {(f.subject, f.attribute, f.value) for f in facts}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "My brother Sam moved to Rome. He teaches there.",
            {("Sam", "lives_in", "Rome"), ("Sam", "job", "teacher")},
        ),
        (
            "My sister Maria lives in Madrid. She works at Telefonica.",
            {("Maria", "lives_in", "Madrid"), ("Maria", "works_at", "Telefonica")},
        ),
        (
            "My wife Anna is a doctor. She works at St. Mary's Hospital.",
            {("Anna", "job", "doctor"), ("Anna", "works_at", "St. Mary's Hospital")},
        ),
        ("Tom and I went hiking. He lives in Oslo.", {("Tom", "lives_in", "Oslo")}),
        ("My dad Bob said he's a pilot.", {("Bob", "job", "pilot")}),
        (
            "My sister Maria and my brother Sam visited. She lives in Madrid, he lives in Rome.",
            {("Maria", "lives_in", "Madrid"), ("Sam", "lives_in", "Rome")},
        ),
        ("My sister Maria is great. Her husband Tom is a pilot.", {("Maria", "spouse", "Tom")}),
        (
            "My sister Maria lives in Madrid. she works at Telefonica",
            {("Maria", "works_at", "Telefonica")},
        ),
        ("Me and Tom went to Paris. He works at Google.", {("Tom", "works_at", "Google")}),
    ],
)
def test_he_and_she_name_the_person(text: str, expected: set[tuple[str, str, str]]) -> None:
    facts = said(text)
    assert expected <= facts
    user = {f for f in facts if f[0] == "user"}
    assert not {f for f in user if f[1] in {"lives_in", "works_at", "job"}}  # never the user


@pytest.mark.parametrize(
    "text",
    [
        "He works at Google.",  # nobody named
        "My brother Sam met Laura. She works at Google.",  # Laura's pronoun unknown, Sam is he
        "My friend Alex met Jordan. He works at Google.",  # two people, neither known to be he
        "My sister Maria called. He works at Google.",  # no he in sight
        "My friend Alex lives in Rome. They work at Google.",  # "they": too risky
        "If she works at Google, my sister Maria is lucky.",
        "Tom and I went hiking with Sam. He works at Google.",  # Tom or Sam
        "My sister Maria met Laura. She works at Google.",  # Maria or Laura
    ],
)
def test_unclear_pronouns_are_left_alone(text: str) -> None:
    assert not {f for f in said(text) if f[1] == "works_at"}


def test_a_pronoun_reaches_back_to_an_earlier_turn_of_the_call() -> None:
    agent, context = SemanticAgent(), ExtractionContext(scope=Scope(user_id="u1"), now=TS)
    turns = [
        Turn(
            id="t0", index=0, role="user", content="My sister Maria lives in Madrid.", timestamp=TS
        ),
        Turn(id="t1", index=1, role="assistant", content="Nice! Does she like it?", timestamp=TS),
        Turn(id="t2", index=2, role="user", content="She works at Telefonica.", timestamp=TS),
    ]
    facts = {(r.subject, r.attribute, r.value) for r in agent.extract(turns, context)}
    assert ("Maria", "works_at", "Telefonica") in facts
    # a new call knows nobody: the pronoun alone names no one
    alone = agent.extract(turns[2:], context)
    assert not [r for r in alone if getattr(r, "attribute", "") == "works_at"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My boss is Linda. She lives in Leeds.", [("boss", "Linda"), ("Linda", "lives_in")]),
        ("I have a friend called Sam. He is a doctor.", [("friend", "Sam"), ("Sam", "job")]),
        ("My dad is Tom.", [("father", "Tom")]),
        ("I have a dog named Rex.", [("pet", "Rex")]),
    ],
)
def test_a_person_named_with_is_or_called_is_known_and_resolves_pronouns(
    text: str, expected: list[tuple[str, str]]
) -> None:
    facts = user_facts(text)
    said = [(f.attribute, f.value) if f.is_user else (f.subject, f.attribute) for f in facts]
    assert said == expected


def test_people_name_the_newest_person_a_pronoun_fits() -> None:
    people = People()
    people.saw("Maria", "sister")
    people.saw("Sam", "brother")
    assert (people.who("she"), people.who("he")) == ("Maria", "Sam")
    people.maybe("Laura")  # "met Laura": maybe a person, of unknown pronoun, named after both
    assert (people.who("she"), people.who("he")) == (None, None)


def test_the_only_person_of_unknown_pronoun_is_he_or_she_until_another_is_named() -> None:
    people = People()
    people.saw("Tom")
    assert (people.who("he"), people.who("she")) == ("Tom", "Tom")
    people.saw("Alex")
    assert people.who("he") is None


def test_a_conversation_is_read_turn_by_turn_with_its_people_and_the_users_name() -> None:
    turns = [
        Turn(
            id="t0",
            index=0,
            role="user",
            content="I'm Alice. My sister Maria lives in Madrid.",
            timestamp=TS,
        ),
        Turn(id="t1", index=1, role="assistant", content="Does she like it?", timestamp=TS),
        Turn(id="t2", index=2, role="user", content="She works at Telefonica.", timestamp=TS),
    ]
    readings = read_conversation(turns)
    assert [(r.turn_id, r.user_name) for r in readings] == [
        ("t0", "Alice"),
        ("t1", "Alice"),
        ("t2", "Alice"),
    ]
    assert readings[1].facts == []  # an assistant's turn states no user facts
    assert [(f.subject, f.attribute, f.value) for f in readings[2].facts] == [
        ("Maria", "works_at", "Telefonica")
    ]
    known = read_conversation(turns, "Al")  # the stored name wins over a stated one
    assert {r.user_name for r in known} == {"Al"}


def test_a_first_person_clause_rewritten_about_someone() -> None:
    assert third_person("I went with my sister and she called me", "Alice") == (
        "Alice went with their sister and she called them"
    )
    assert third_person("I'm tired and I'll go; my bike is mine", "James") == (
        "James is tired and James will go; their bike is theirs"
    )
    assert third_person("My bike broke", "James") == "James' bike broke"
