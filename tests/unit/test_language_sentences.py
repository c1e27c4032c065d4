"""Sentences, informal text, named entities and clauses (`octomem.language.sentences`,
`informal`, `entities`, `clauses`, `words`)."""

from __future__ import annotations

from octomem.language import (
    entities_in,
    hedged,
    is_first_person,
    is_question,
    leading_entity,
    norm_key,
    remove_span,
    split_sentences,
    trim_clause,
)
from octomem.language.entities import lowercase_name
from octomem.language.informal import plain_talk, uncapitalised
from octomem.language.sentences import MAX_SENTENCE


def test_split_sentences_keeps_abbreviations_links_and_lines() -> None:
    text = "Hi, I'm Dr. Smith. I live in Berlin! See www.example.com. Why?\n- step one"
    assert split_sentences(text) == [
        "Hi, I'm Dr. Smith.",
        "I live in Berlin!",
        "See www.example.com.",
        "Why?",
        "- step one",
    ]


def test_questions_and_first_person() -> None:
    assert is_question("Do you live in Berlin?")
    assert not is_question("I'm Alice, can you help?")
    assert is_first_person("My sister lives in Madrid.")
    assert not is_first_person("Maria lives in Madrid.")
    assert not is_first_person("Do I live in Berlin?")


def test_entities() -> None:
    text = "Yesterday I went to the Louvre with Tom and Bank of America's CEO in New York City."
    assert entities_in(text) == ["Louvre", "Tom", "Bank of America", "CEO", "New York City"]
    assert entities_in("I work at St. Mary's Hospital.") == ["St. Mary's Hospital"]
    assert leading_entity("the Netherlands since 2019") == "Netherlands"
    assert leading_entity("a small town") is None


def test_trim_clause_and_helpers() -> None:
    assert trim_clause("Berlin with my wife since 2019") == "Berlin"
    assert trim_clause("a small town near Munich and I love it", keep=["near"]) == (
        "a small town near Munich"
    )
    assert trim_clause("sushi last week") == "sushi"
    assert trim_clause("hiking in the mountains, mostly", preps=False) == "hiking in the mountains"
    assert remove_span("Yesterday, I went out.", (0, 9)) == "I went out."
    assert norm_key("The  Q3-Report!") == "q3-report"


def test_an_overlong_run_on_sentence_is_cut_at_spaces() -> None:
    pieces = split_sentences("word " * 300)
    assert len(pieces) == 3 and all(len(p) <= MAX_SENTENCE for p in pieces)
    assert " ".join(pieces).split() == ["word"] * 300


def test_hedged_statements() -> None:
    assert hedged("If I lived in Paris", 5)
    assert hedged("I wish I worked at Google", 10)
    assert not hedged("I live in Paris", 2)


def test_chat_spellings_are_read_as_plain_talk() -> None:
    assert plain_talk("i live in berlin lol 😊") == "I live in berlin"
    assert plain_talk("im from spain btw") == "I'm from spain"
    assert plain_talk("i dont like u rn") == "I don't like you right now"
    assert uncapitalised("i live in berlin") and not uncapitalised("i live in Berlin")
    assert uncapitalised("I'm in berlin")  # "I" is no name


def test_lowercase_names_of_places_but_not_common_nouns() -> None:
    assert lowercase_name("new york city") == "New York City"
    assert lowercase_name("rio de janeiro") == "Rio de Janeiro"
    assert lowercase_name("a small flat") is None
    assert lowercase_name("home") is None
    assert lowercase_name("reading") is None
