"""Relative dates: time expressions ("last summer", "in two weeks", "on the 5th")
resolved against a message's timestamp, past for events and future for deadlines.

The phrasings are this module's own patterns; the calendar arithmetic under them (months
of different lengths, leap years, the turn of the year, weekdays) is
`dateutil.relativedelta`'s. A day the calendar does not have ("the 31st" in April, "Feb
29" moved to a common year) is not clamped to a near one: it is left unresolved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeVar

from dateutil.relativedelta import MO, relativedelta
from dateutil.relativedelta import weekday as Weekday

from octomem.language.words import MONTHS, WEEKDAYS

Direction = Literal["past", "future"]
_Day = TypeVar("_Day", date, int)  # a date, or a day of the month


@dataclass(frozen=True)
class TimeRef:
    """A time expression resolved to the start of the period it names."""

    start: datetime
    granularity: Literal["day", "week", "weekend", "month", "season", "year"]
    text: str
    span: tuple[int, int]

    def end(self) -> datetime:
        """The exclusive end of the period."""
        if self.granularity in {"month", "year"}:
            return _as_dt(_period(self.start.date(), self.granularity, 1)[0])
        if self.granularity == "season":
            return _as_dt(self.start.date() + relativedelta(months=3))
        return self.start + timedelta(days={"day": 1, "week": 7, "weekend": 2}[self.granularity])

    def iso(self) -> str:
        formats = {"month": "%Y-%m", "season": "%Y-%m", "year": "%Y"}
        return self.start.strftime(formats.get(self.granularity, "%F"))

    def label(self) -> str:
        """A self-contained phrase: "On 2024-03-14", "In March 2024"."""
        if self.granularity == "month":
            return f"In {self.start.strftime('%B %Y')}"
        if self.granularity == "season":
            return f"In {_SEASON_OF_MONTH[self.start.month]} {self.start.year}"
        return _LABELS[self.granularity].format(self.iso())


_LABELS = {"day": "On {}", "week": "In the week of {}", "weekend": "On the weekend of {}"}
_LABELS["year"] = "In {}"


def _as_dt(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _month_start(day: date, months: int = 0) -> date:
    return day + relativedelta(months=months, day=1)


def _monday(day: date) -> date:  # weeks start on Monday
    return day + relativedelta(weekday=MO(-1))


def _month_num(name: str) -> int:
    return next(i for i, m in enumerate(MONTHS, 1) if m.startswith(name.lower()[:3]))


_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_NUMBERS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2}
_NUMBERS |= {"a few": 3, "few": 3, "several": 3}
_MONTH_RE = (
    r"(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
Resolver = Callable[[re.Match[str], date, Direction], tuple[date, str] | None]


def _fixed(offset: int) -> Resolver:
    return lambda m, today, d: (today + timedelta(days=offset), "day")


def _period(today: date, unit: str, step: int) -> tuple[date, str]:
    """The period `step` units away from the one containing `today`, by its start."""
    if unit == "day":
        return today + timedelta(days=step), "day"
    if unit in {"week", "weekend"}:
        return _monday(today) + relativedelta(weeks=step, days=5 if unit == "weekend" else 0), unit
    if unit == "month":
        return _month_start(today, step), "month"
    return today + relativedelta(years=step, month=1, day=1), "year"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _ago(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    return _period(today, m[2].lower(), -_count(m[1]))


def _relative_period(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    step = {"last": -1, "this": 0, "next": 1}[m[1].lower().split()[-1]]
    return _period(today, m[2].lower(), step)


def _before_last(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    return _period(today, m[1].lower(), -2)


def _weekday(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    prefix, target = (m[1] or "").lower(), WEEKDAYS.index(m[2].lower())
    if prefix == "last" or (prefix not in {"next", "this", "by", "until"} and d == "past"):
        return today + relativedelta(days=-1, weekday=Weekday(target, -1)), "day"  # before today
    if prefix == "next":
        return today + relativedelta(days=1, weekday=Weekday(target, 1)), "day"  # after today
    if prefix == "this":
        return _monday(today) + relativedelta(days=target), "day"  # in this week
    return today + relativedelta(weekday=Weekday(target, 1)), "day"  # today or after


def _shift(value: _Day, ref: _Day, direction: Direction) -> int:
    """-1 for a `value` after `ref` in the past, 1 for one before it in the future."""
    if direction == "past" and value > ref:
        return -1
    return 1 if direction == "future" and value < ref else 0


def _beyond(found: date, ref: date, prefix: str) -> date:
    """`found` a year back for "last" unless before `ref`, on for "next" unless after it."""
    if prefix == "last" and found >= ref:
        return found - relativedelta(years=1)
    if prefix == "next" and found <= ref:
        return found + relativedelta(years=1)
    return found


def _roll(day: date, today: date, direction: Direction, month: bool = False) -> date:
    """A date named without its year, moved to the year the direction implies."""
    shift = _shift(day, today.replace(day=1) if month else today, direction)
    return _safe_date(day.year + shift, day.month, day.day) or day


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _dated(year: int, month: int, day: int) -> tuple[date, str] | None:
    """The day, or None if there is no such day ("the 31st" of April)."""
    found = _safe_date(year, month, day)
    return (found, "day") if found else None


def _month_day(m: re.Match[str], today: date, d: Direction) -> tuple[date, str] | None:
    month, day, year = (m[1], m[2], m[3]) if not m[1].isdigit() else (m[2], m[1], m[3])
    found = _dated(int(year or today.year), _month_num(month), int(day))
    return found if found is None or year else (_roll(found[0], today, d), "day")


def _month(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    prefix, month = m[1].lower(), _month_num(m[2])
    first = date(int(m[3]) if m[3] else today.year, month, 1)
    if m[3]:
        return first, "month"
    prefix = "next" if prefix == "by" and d == "future" else prefix
    if prefix in ("last", "next"):
        return _beyond(first, _month_start(today), prefix), "month"
    return _roll(first, today, d, month=True), "month"


def _ahead(m: re.Match[str], today: date, d: Direction) -> tuple[date, str] | None:
    """ "in three days", "in two weeks": a future period; in the past ("I finished it in
    two weeks") the same words are a duration, so nothing is resolved."""
    return None if d == "past" else _from_now(m, today, d)


def _from_now(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    return _period(today, m[2].lower(), _count(m[1]))


def _weekend_around(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    """ "over the weekend", "this past weekend": the nearest weekend in the direction; on a
    Saturday or Sunday that is the weekend under way."""
    past = d == "past" or "past" in m[0].lower()
    step = -1 if past and today.weekday() < 5 else 0
    return _period(today, "weekend", step)


# meteorological seasons (northern hemisphere): the month each starts in
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_SEASON_OF_MONTH = {m: s for s, start in _SEASONS.items() for m in range(start, start + 3)}
_SEASON_OF_MONTH |= {1: "winter", 2: "winter", 9: "autumn", 10: "autumn", 11: "autumn"}


def _season(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    """ "last summer" is the latest summer that began before the current season did,
    "next winter" the first one after it; "this spring" is the season under way when it is
    spring, else the last (past) or next (future) one."""
    prefix, start_month = m[1].lower(), _SEASONS[m[2].lower()]
    current = _month_start(today, -((today.month - 3) % 3))
    if prefix == "this" and current.month == start_month:
        return current, "season"
    if prefix == "this":
        prefix = "last" if d == "past" else "next"
    return _beyond(current + relativedelta(month=start_month), current, prefix), "season"


def _nth(m: re.Match[str], today: date, d: Direction) -> tuple[date, str] | None:
    """ "on the 5th": this month's 5th, or last month's (past) / next month's (future)
    when this month's lies the other way."""
    day = int(m[1])
    first = _month_start(today, _shift(day, today.day, d))
    return _dated(first.year, first.month, day)


_HOLIDAYS = {"christmas eve": (12, 24), "christmas day": (12, 25), "christmas": (12, 25)}
_HOLIDAYS |= {"new year's eve": (12, 31), "new years eve": (12, 31), "halloween": (10, 31)}
_HOLIDAYS |= {"new year's day": (1, 1), "new years day": (1, 1), "valentine's day": (2, 14)}
_HOLIDAYS |= {"boxing day": (12, 26)}


def _holiday(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    """A fixed-date holiday, in the year the prefix or direction implies (movable feasts
    like Easter are not resolved)."""
    prefix, name = (m[1] or "").lower(), m[2].lower().replace("’", "'")
    month, day = _HOLIDAYS[name]
    this_year = date(today.year, month, day)
    if prefix == "this":
        return this_year, "day"
    direction: Direction = {"last": "past", "next": "future"}.get(prefix, d)  # type: ignore[assignment]
    return _beyond(_roll(this_year, today, direction), today, prefix), "day"


# a date-like word followed by a lower-case noun names a thing ("the 5th floor",
# "Christmas shopping"), not a date: these few words may follow a date
_THEN = r"(?:and|at|in|of|on|so|but|when|with|to|for|this|last|next|the|was|is|we|i|too)"
_NOT_NOUN = rf"(?!\s+(?!(?-i:I)\b)(?!{_THEN}\b)(?-i:[a-z]{{3,}}))"
_COUNT = r"(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few|several)"
_HOLIDAY_RE = r"christmas eve|christmas day|christmas|new years? eve|new year['’]s eve"
_HOLIDAY_RE += r"|new years? day|new year['’]s day|halloween|valentine['’]s day|boxing day"
_DAY0 = r"\b(?:(?:earlier |later )?today|tonight|this (?:morning|afternoon|evening))\b"
_MON = rf"(?-i:{_MONTH_RE})"
_TIME_PATTERNS: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(pattern, re.IGNORECASE), resolver)
    for pattern, resolver in [
        (r"\bthe day before yesterday\b", _fixed(-2)),
        (r"\bthe day after tomorrow\b", _fixed(2)),
        (r"\b(?:yesterday|last night)\b", _fixed(-1)),
        (_DAY0, _fixed(0)),
        (r"\btomorrow\b", _fixed(1)),
        (rf"\b{_COUNT}\s+(day|week|month|year)s?\s+ago\b", _ago),
        (r"\bthe (day|week|weekend|month|year) before last\b", _before_last),
        (rf"\bin {_COUNT}\s+(day|week|month|year)s?\b(?! (?:ago|old|time)\b)", _ahead),
        (rf"\b{_COUNT}\s+(day|week|month|year)s?\s+from (?:now|today)\b", _from_now),
        (r"\b(?:over the|this past|on the) weekend\b", _weekend_around),
        (
            r"\b(?:(?:early|late|mid)[- ])?(last|this|next|earlier this|later this) "
            r"(week|weekend|month|year)\b",
            _relative_period,
        ),
        (r"\b(last|this|next) (spring|summer|autumn|fall|winter)\b", _season),
        (
            r"\b(?:on|by|until|before|since|from) the ([12]?\d|3[01])(?:st|nd|rd|th)\b"
            rf"(?! of\b| {_MON}){_NOT_NOUN}",
            _nth,
        ),
        (
            rf"\b(?:(last|this|next)|on|at|for|over|since|before|after|until|by|around) "
            rf"({_HOLIDAY_RE})\b{_NOT_NOUN}",
            _holiday,
        ),
        (
            rf"\b(?:(last|next|this|on|by|until|before|since) )?({'|'.join(WEEKDAYS)})\b(?!s)",
            _weekday,
        ),
        (r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", lambda m, t, d: _dated(*map(int, m.groups()))),
        (rf"\b{_MON}\.? (\d{{1,2}})(?:st|nd|rd|th)?\b(?:,? (\d{{4}}))?", _month_day),
        (rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{_MON}\b(?:,? (\d{{4}}))?", _month_day),
        (
            rf"\b(in|last|this|next|since|during|early|late|mid|by|of) {_MON}\b(?:,? (\d{{4}}))?",
            _month,
        ),
        (
            r"\b(?:in|since|during|back in) ((?:19|20)\d\d)\b",
            lambda m, t, d: (date(int(m[1]), 1, 1), "year"),
        ),
    ]
]


_LEAD_PREP = re.compile(r"\b(?:on|in|during|at|by|since|until|before|from)\s+$", re.IGNORECASE)


def find_times(text: str, timestamp: datetime, direction: Direction = "past") -> list[TimeRef]:
    """Every time expression in `text`, resolved against `timestamp` (UTC dates)."""
    today = timestamp.astimezone(UTC).date()
    found = [(m, resolver) for pattern, resolver in _TIME_PATTERNS for m in pattern.finditer(text)]
    found.sort(key=lambda item: (item[0].start(), -(item[0].end() - item[0].start())))
    refs: list[TimeRef] = []
    for match, resolver in found:
        if refs and match.start() < refs[-1].span[1]:
            continue
        resolved = resolver(match, today, direction)
        if resolved:
            day, granularity = resolved
            start = match.start()
            lead = _LEAD_PREP.search(text[:start])
            start = lead.start() if lead else start
            span = (start, match.end())
            refs.append(TimeRef(_as_dt(day), granularity, text[span[0] : span[1]], span))  # type: ignore[arg-type]
    return refs


def find_time(text: str, timestamp: datetime, direction: Direction = "past") -> TimeRef | None:
    refs = find_times(text, timestamp, direction)
    return refs[0] if refs else None
