"""update() reads a fact's value again from its new text (octomem.agents.semantic.update)."""

from __future__ import annotations

import pytest

from octomem.agents.semantic.update import as_first_person, reread
from octomem.models import SemanticMemory


def fact(attribute: str, value: str, subject: str = "user") -> SemanticMemory:
    return SemanticMemory(
        id="sem_x", content="old", subject=subject, attribute=attribute, value=value
    )


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Alice lives in Munich.", "I live in Munich."),
        ("The user works at Apple", "I work at Apple"),
        ("the user teaches in Rome", "I teach in Rome"),
        ("The user's wife is Marta.", "my wife is Marta."),
        ("Alice's sister is Maria", "my sister is Maria"),
        ("The user is a midwife.", "I am a midwife."),
        ("Bob lives in Oslo.", "Bob lives in Oslo."),  # someone else: left alone
    ],
)
def test_a_sentence_about_the_user_is_read_as_the_users_own(text: str, first: str) -> None:
    assert as_first_person(text, "Alice") == first


@pytest.mark.parametrize(
    ("old", "text", "value"),
    [
        (fact("lives_in", "Berlin"), "Alice lives in Munich.", "Munich"),
        (fact("lives_in", "Berlin"), "I moved to Munich", "Munich"),
        (fact("works_at", "Google"), "The user works at Apple.", "Apple"),
        (fact("job", "nurse"), "The user is a midwife.", "midwife"),
        (fact("name", "Alice"), "The user's name is Alicia.", "Alicia"),
        (fact("spouse", "Maria"), "The user's wife is Marta.", "Marta"),
        (fact("hometown", "Dublin"), "The user grew up in Galway.", "Galway"),
        (fact("lives_in", "Madrid", "Maria"), "Maria lives in Seville now.", "Seville"),
        (fact("lives_in", "Berlin"), "somewhere by the sea", "somewhere by the sea"),
    ],
)
def test_the_value_follows_the_new_text(old: SemanticMemory, text: str, value: str) -> None:
    new = reread(old, text, "Alice")
    assert (new.value, new.content, new.attribute, new.id) == (value, text, old.attribute, old.id)
