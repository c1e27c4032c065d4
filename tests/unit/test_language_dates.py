"""Relative dates (`octomem.language.dates`) in everyday phrasings, resolved against the
message's timestamp: past for events (what happened), future for deadlines (what is due),
and words that only look like dates left alone; then as the episodic and working agents
use them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from octomem.agents import EpisodicAgent, WorkingAgent
from octomem.agents.base import ExtractionContext
from octomem.language import find_time
from octomem.language.dates import find_times
from octomem.models import EpisodicMemory, Scope, Turn, WorkingMemory

FRI = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)  # a Friday in spring
SUN = datetime(2024, 3, 17, 10, 30, tzinfo=UTC)  # the Sunday after
MON = datetime(2024, 3, 18, 9, 0, tzinfo=UTC)
OCT = datetime(2024, 10, 2, 9, 0, tzinfo=UTC)  # autumn
JAN = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)  # winter, across the new year


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
    ref = find_time(text, FRI, direction)  # type: ignore[arg-type]
    assert ref is not None
    assert (ref.iso(), ref.granularity) == (iso, granularity)


def test_time_labels_ends_and_spans() -> None:
    ref = find_time("I saw her on May 3rd.", FRI)
    assert ref is not None
    assert ref.text == "on May 3rd" and ref.label() == "On 2023-05-03"
    assert ref.start == datetime(2023, 5, 3, tzinfo=UTC)
    assert ref.end() == datetime(2023, 5, 4, tzinfo=UTC)
    week = find_time("last week", FRI)
    assert week is not None and week.label() == "In the week of 2024-03-04"
    month = find_time("in March", FRI)
    assert month is not None and month.label() == "In March 2024"
    assert month.end() == datetime(2024, 4, 1, tzinfo=UTC)
    refs = find_times("Yesterday I called, and two days ago I wrote.", FRI)
    assert [r.iso() for r in refs] == ["2024-03-14", "2024-03-13"]


@pytest.mark.parametrize("text", ["You may go now.", "We march on.", "Mondays are hard."])
def test_find_time_ignores_lookalikes(text: str) -> None:
    assert find_time(text, FRI) is None


@pytest.mark.parametrize(
    ("text", "ts", "direction", "iso", "granularity"),
    [
        ("a couple of days ago", FRI, "past", "2024-03-13", "day"),
        ("a few weeks ago", FRI, "past", "2024-02-19", "week"),
        ("last summer", FRI, "past", "2023-06", "season"),
        ("last summer", OCT, "past", "2024-06", "season"),
        ("last winter", FRI, "past", "2023-12", "season"),
        ("last winter", JAN, "past", "2022-12", "season"),
        ("this winter", JAN, "past", "2023-12", "season"),
        ("last spring", OCT, "past", "2024-03", "season"),
        ("last fall", FRI, "past", "2023-09", "season"),
        ("last autumn", FRI, "past", "2023-09", "season"),
        ("next summer", FRI, "future", "2024-06", "season"),
        ("next winter", JAN, "future", "2024-12", "season"),
        ("this past weekend", MON, "past", "2024-03-16", "weekend"),
        ("over the weekend", MON, "past", "2024-03-16", "weekend"),
        ("over the weekend", SUN, "past", "2024-03-16", "weekend"),
        ("over the weekend", FRI, "future", "2024-03-16", "weekend"),
        ("in two weeks", FRI, "future", "2024-03-25", "week"),
        ("in 3 days", FRI, "future", "2024-03-18", "day"),
        ("in a month", FRI, "future", "2024-04", "month"),
        ("two weeks from now", FRI, "future", "2024-03-25", "week"),
        ("10 days from today", FRI, "future", "2024-03-25", "day"),
        ("next month", FRI, "future", "2024-04", "month"),
        ("the week before last", FRI, "past", "2024-02-26", "week"),
        ("the weekend before last", MON, "past", "2024-03-09", "weekend"),
        ("earlier this month", FRI, "past", "2024-03", "month"),
        ("late last year", FRI, "past", "2023", "year"),
        ("early next year", FRI, "future", "2025", "year"),
        ("on the 5th", FRI, "past", "2024-03-05", "day"),
        ("on the 20th", FRI, "past", "2024-02-20", "day"),
        ("by the 20th", FRI, "future", "2024-03-20", "day"),
        ("by the 2nd", FRI, "future", "2024-04-02", "day"),
        ("over Christmas", FRI, "past", "2023-12-25", "day"),
        ("last Christmas", JAN, "past", "2023-12-25", "day"),
        ("on Christmas Eve", OCT, "future", "2024-12-24", "day"),
        ("on New Year's Eve", FRI, "past", "2023-12-31", "day"),
        ("on New Year's Eve", FRI, "future", "2024-12-31", "day"),
        ("next Halloween", FRI, "future", "2024-10-31", "day"),
        ("on Valentine's Day", FRI, "past", "2024-02-14", "day"),
        ("last night", FRI, "past", "2024-03-14", "day"),
        ("this morning", FRI, "past", "2024-03-15", "day"),
    ],
)
def test_relative_dates_resolve_against_the_message_time(
    text: str, ts: datetime, direction: str, iso: str, granularity: str
) -> None:
    ref = find_time(f"I said it {text}.", ts, direction)  # type: ignore[arg-type]
    assert ref is not None
    assert (ref.iso(), ref.granularity, ref.text.lower().endswith(text.lower())) == (
        iso,
        granularity,
        True,
    )


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("I'm spring cleaning the flat.", "past"),
        ("We had a long summer of rain.", "past"),
        ("I bought a Christmas tree.", "past"),
        ("We went Christmas shopping.", "past"),
        ("She lives on the 5th floor.", "past"),
        ("I finished the course in two weeks.", "past"),  # a duration, not a date
        ("I saw him the other day.", "past"),  # too vague to date: the message date stands
        ("Meet me on 3/14.", "future"),  # day/month order unknown: not resolved
        ("My summer job was fun.", "past"),
    ],
)
def test_words_that_only_look_like_dates_are_not_dates(text: str, direction: str) -> None:
    assert find_time(text, FRI, direction) is None  # type: ignore[arg-type]


def test_a_week_ago_tuesday_keeps_only_the_week() -> None:
    """Ambiguous ("the Tuesday a week ago", or "a week before Tuesday"): only the coarse
    "a week ago" is read, as a week, never as a precise day."""
    ref = find_time("It happened a week ago Tuesday.", FRI)
    assert ref is not None and (ref.text, ref.granularity) == ("a week ago", "week")


def test_season_and_holiday_labels_and_ends() -> None:
    summer = find_time("last summer", FRI)
    assert summer is not None and summer.label() == "In summer 2023"
    assert summer.end() == datetime(2023, 9, 1, tzinfo=UTC)
    winter = find_time("last winter", FRI)
    assert winter is not None and winter.end() == datetime(2024, 3, 1, tzinfo=UTC)


def _ctx(ts: datetime) -> ExtractionContext:
    return ExtractionContext(scope=Scope(user_id="u", session_id="s"), now=ts)


def _turn(text: str, ts: datetime) -> Turn:
    return Turn(id="t0", role="user", content=text, timestamp=ts, index=0)


@pytest.mark.parametrize(
    ("text", "ts", "summary"),
    [
        ("I went to Lisbon last summer.", FRI, "In summer 2023 the user went to Lisbon."),
        ("Over the weekend I hiked Mount Tam.", MON, "On the weekend of 2024-03-16 the user"),
        ("I visited my parents over Christmas.", JAN, "On 2023-12-25 the user visited"),
        ("I finished my thesis the week before last.", FRI, "In the week of 2024-02-26"),
        ("On the 5th I met Sarah for lunch.", FRI, "On 2024-03-05 the user met Sarah"),
        ("Late last year I moved to Berlin.", FRI, "In 2023 the user moved to Berlin."),
        ("last night i watched dune", FRI, "On 2024-03-14 the user watched dune."),
    ],
)
def test_events_are_dated_by_the_new_forms(text: str, ts: datetime, summary: str) -> None:
    records = EpisodicAgent().extract([_turn(text, ts)], _ctx(ts))
    events = [r for r in records if isinstance(r, EpisodicMemory)]
    assert [e.summary[: len(summary)] for e in events] == [summary]


@pytest.mark.parametrize(
    ("text", "expires"),
    [
        ("I need to renew my passport in two weeks.", datetime(2024, 4, 1, tzinfo=UTC)),
        ("I need to file the taxes in 3 days.", datetime(2024, 3, 19, tzinfo=UTC)),
        ("I have to pay the rent by the 2nd.", datetime(2024, 4, 3, tzinfo=UTC)),
        ("I need to send the cards before Christmas.", datetime(2024, 12, 26, tzinfo=UTC)),
        ("I need to paint the fence over the weekend.", datetime(2024, 3, 18, tzinfo=UTC)),
    ],
)
def test_deadlines_use_the_new_forms(text: str, expires: datetime) -> None:
    records = WorkingAgent().extract([_turn(text, FRI)], _ctx(FRI))
    todos = [r for r in records if isinstance(r, WorkingMemory) and r.key.startswith("todo:")]
    assert [t.expires_at for t in todos] == [expires]


# --- calendar edge cases (the arithmetic is dateutil.relativedelta's) --------------------


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ts", "direction", "iso", "end"),
    [
        # the 31st and a month: a month is a calendar month, never 31 days
        ("next month", _at(2024, 1, 31), "future", "2024-02", "2024-03-01"),
        ("in a month", _at(2024, 1, 31), "future", "2024-02", "2024-03-01"),
        ("a month ago", _at(2024, 3, 31), "past", "2024-02", "2024-03-01"),
        ("in 13 months", _at(2023, 1, 31), "future", "2024-02", "2024-03-01"),
        # the turn of the year
        ("last month", _at(2024, 1, 15), "past", "2023-12", "2024-01-01"),
        ("this month", _at(2024, 12, 31), "past", "2024-12", "2025-01-01"),
        ("next month", _at(2024, 12, 31), "future", "2025-01", "2025-02-01"),
        ("next year", _at(2024, 12, 31), "future", "2025", "2026-01-01"),
        ("last week", _at(2025, 1, 2), "past", "2024-12-23", "2024-12-30"),
        ("next week", _at(2024, 12, 30), "future", "2025-01-06", "2025-01-13"),
        ("last weekend", _at(2025, 1, 1), "past", "2024-12-28", "2024-12-30"),
        ("last Friday", _at(2025, 1, 1), "past", "2024-12-27", "2024-12-28"),
        ("next Monday", _at(2024, 12, 31), "future", "2025-01-06", "2025-01-07"),
        ("last December", _at(2025, 1, 5), "past", "2024-12", "2025-01-01"),
        ("next January", _at(2024, 12, 20), "future", "2025-01", "2025-02-01"),
        ("on New Year's Eve", _at(2025, 1, 1), "past", "2024-12-31", "2025-01-01"),
        # leap years
        ("a year ago", _at(2024, 2, 29), "past", "2023", "2024-01-01"),
        ("on the 29th", _at(2024, 3, 1), "past", "2024-02-29", "2024-03-01"),
        ("next spring", _at(2024, 2, 29), "future", "2024-03", "2024-06-01"),
        # seasons: winter spans the new year and ends with February, 28 or 29 days long
        ("this winter", _at(2024, 2, 10), "past", "2023-12", "2024-03-01"),
        ("last winter", _at(2024, 2, 10), "past", "2022-12", "2023-03-01"),
        ("this winter", _at(2024, 12, 5), "past", "2024-12", "2025-03-01"),
        ("last winter", _at(2024, 12, 5), "past", "2023-12", "2024-03-01"),
        ("next winter", _at(2024, 12, 31), "future", "2025-12", "2026-03-01"),
        ("last autumn", _at(2024, 11, 30), "past", "2023-09", "2023-12-01"),
    ],
)
def test_calendar_edges(text: str, ts: datetime, direction: str, iso: str, end: str) -> None:
    ref = find_time(f"I said it {text}.", ts, direction)  # type: ignore[arg-type]
    assert ref is not None
    assert (ref.iso(), ref.end().date().isoformat()) == (iso, end)


@pytest.mark.parametrize(
    ("text", "ts", "direction"),
    [
        ("on the 29th", _at(2023, 3, 1), "past"),  # February 2023 has no 29th
        ("on the 31st", _at(2024, 5, 1), "past"),  # nor April a 31st
        ("by the 31st", _at(2024, 4, 10), "future"),
        ("by the 30th", _at(2024, 1, 31), "future"),  # next month's 30th: February has none
        ("on Feb 29", _at(2025, 3, 1), "past"),
    ],
)
def test_a_day_the_month_does_not_have_is_not_moved_to_another(
    text: str, ts: datetime, direction: str
) -> None:
    """Clamping (April 31st -> April 30th) would make up a date nobody said."""
    assert find_time(f"I said it {text}.", ts, direction) is None  # type: ignore[arg-type]
