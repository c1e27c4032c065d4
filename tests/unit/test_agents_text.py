"""The shared text helpers of the offline extractors: sentences, entities, dates, clauses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from octomem.agents.text import (
    entities_in,
    find_time,
    find_times,
    is_first_person,
    is_question,
    leading_entity,
    norm_key,
    remove_span,
    split_sentences,
    third_person,
    trim_clause,
)

TS = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("text", "direction", "iso", "granularity"),
    [
        ("Yesterday I went out", "past", "2024-03-14", "day"),
        ("last night", "past", "2024-03-14", "day"),
        ("this morning", "past", "2024-03-15", "day"),
        ("the day before yesterday", "past", "2024-03-13", "day"),
        ("two days ago", "past", "2024-03-13", "day"),
        ("a couple of weeks ago", "past", "2024-02-26", "week"),
        ("last week", "past", "2024-03-04", "week"),
        ("this week", "future", "2024-03-11", "week"),
        ("last weekend", "past", "2024-03-09", "weekend"),
        ("last Friday", "past", "2024-03-08", "day"),
        ("on Monday", "past", "2024-03-11", "day"),
        ("on Monday", "future", "2024-03-18", "day"),
        ("by Friday", "future", "2024-03-15", "day"),
        ("next Tuesday", "future", "2024-03-19", "day"),
        ("tomorrow", "future", "2024-03-16", "day"),
        ("in March", "past", "2024-03", "month"),
        ("in May", "past", "2023-05", "month"),
        ("in May", "future", "2024-05", "month"),
        ("last month", "past", "2024-02", "month"),
        ("three months ago", "past", "2023-12", "month"),
        ("May 3rd", "past", "2023-05-03", "day"),
        ("March 3", "past", "2024-03-03", "day"),
        ("the 3rd of May 2022", "past", "2022-05-03", "day"),
        ("2023-05-03", "past", "2023-05-03", "day"),
        ("back in 2019", "past", "2019", "year"),
        ("last year", "past", "2023", "year"),
    ],
)
def test_find_time_resolves_against_the_timestamp(
    text: str, direction: str, iso: str, granularity: str
) -> None:
    ref = find_time(text, TS, direction)  # type: ignore[arg-type]
    assert ref is not None
    assert (ref.iso(), ref.granularity) == (iso, granularity)


def test_time_labels_ends_and_spans() -> None:
    ref = find_time("I saw her on May 3rd.", TS)
    assert ref is not None
    assert ref.text == "on May 3rd" and ref.label() == "On 2023-05-03"
    assert ref.start == datetime(2023, 5, 3, tzinfo=UTC)
    assert ref.end() == datetime(2023, 5, 4, tzinfo=UTC)
    week = find_time("last week", TS)
    assert week is not None and week.label() == "In the week of 2024-03-04"
    month = find_time("in March", TS)
    assert month is not None and month.label() == "In March 2024"
    assert month.end() == datetime(2024, 4, 1, tzinfo=UTC)
    refs = find_times("Yesterday I called, and two days ago I wrote.", TS)
    assert [r.iso() for r in refs] == ["2024-03-14", "2024-03-13"]


@pytest.mark.parametrize("text", ["You may go now.", "We march on.", "Mondays are hard."])
def test_find_time_ignores_lookalikes(text: str) -> None:
    assert find_time(text, TS) is None


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
    assert third_person("I went with my sister and she called me", "Alice") == (
        "Alice went with their sister and she called them"
    )
    assert norm_key("The  Q3-Report!") == "q3-report"
