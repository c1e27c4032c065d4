"""Shared helpers for the offline (rule-based) extractors.

Sentences, first-person detection, capitalised named-entity spans, relative dates
resolved against a message's timestamp, and trimming of objects at clause boundaries.
Standard library only: precision over recall.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from octomem.agents.base import ExtractionContext
from octomem.models import SourceRef, Turn, normalize_text

Direction = Literal["past", "future"]

# --- records --------------------------------------------------------------------------


def record_fields(turn: Turn, ctx: ExtractionContext, agent: str) -> dict[str, Any]:
    """Scope, timestamps and source shared by every record extracted from `turn`."""
    scope = ctx.scope
    return {
        "user_id": scope.user_id,
        "agent_id": scope.agent_id,
        "session_id": scope.session_id,
        "created_at": turn.timestamp,
        "updated_at": turn.timestamp,
        "valid_from": turn.timestamp,
        "source": SourceRef(
            turn_ids=[turn.id],
            message_ids=[turn.external_id or turn.id],
            extractor=f"offline:{agent}",
        ),
    }


def norm_key(text: str) -> str:
    """Lower case, punctuation dropped, leading article dropped: a stable key part."""
    text = re.sub(r"[^\w\s'-]", " ", text.lower()).replace("'s ", " ")
    text = normalize_text(text)
    return re.sub(r"^(?:the|a|an|my|some)\s+", "", text)


def words(text: str) -> set[str]:
    """The whitespace-separated words of `text` as a set (for word lists)."""
    return set(text.split())


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# --- sentences -----------------------------------------------------------------------

_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "inc"}
_ABBREV |= {"ltd", "co", "no", "approx", "mt", "ft", "dept", "corp"}
MAX_SENTENCE = 600
_SENT_END = re.compile(r"[.!?]+[\"')\]]*\s+")
_QUESTION_START = re.compile(
    r"^(?:do|does|did|can|could|should|would|will|is|am|are|was|were|have|has|what|where|"
    r"how|why|when|who|which|shall|may)\b",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`; every line break also ends a sentence."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        start = 0
        for match in _SENT_END.finditer(line):
            words = line[max(start, match.start() - 12) : match.start()].split()
            last = words[-1].lower().rstrip(".") if words else ""
            if line[match.start()] == "." and (last in _ABBREV or len(last) == 1):
                continue
            out.append(line[start : match.end()].strip())
            start = match.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    return [piece for sentence in out for piece in _chunks(sentence)]


def _chunks(sentence: str, size: int = MAX_SENTENCE) -> list[str]:
    """An overlong run-on "sentence" in pieces of at most `size` characters (bounds the work)."""
    if len(sentence) <= size:
        return [sentence]
    cut = sentence.rfind(" ", 0, size)
    cut = cut if cut > 0 else size
    return [sentence[:cut].strip(), *_chunks(sentence[cut:].strip(), size)]


def is_question(sentence: str) -> bool:
    stripped = sentence.strip()
    return stripped.endswith("?") and bool(_QUESTION_START.match(stripped))


_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|[Mm]y|me|mine|myself)\b")


def is_first_person(sentence: str) -> bool:
    """A statement (not a question) that speaks about the speaker."""
    return bool(_FIRST_PERSON.search(sentence)) and not is_question(sentence)


_HEDGE = re.compile(r"\b(?:if|unless|whether|wish|imagine|pretend|suppose|hypothetically)\b|\?")


def hedged(sentence: str, start: int) -> bool:
    """True when the words just before `start` make the statement hypothetical."""
    return bool(_HEDGE.search(sentence[max(0, start - 30) : start].lower()))


# --- informal text -------------------------------------------------------------------

_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]+")
_CHAT_WORDS = {"i": "I", "im": "I'm", "Im": "I'm", "ive": "I've", "Ive": "I've", "cant": "can't"}
_CHAT_WORDS |= {"u": "you", "ur": "your", "rn": "right now"}
_CHAT = re.compile(
    r"\b(?:i|[Ii]m|[Ii]ve|cant|u(?!\.)|ur|rn|(?:do|does|did|is|are|was|were|have|has|would|"
    r"could)nt|(?i:lol|lmao|rofl|ha(?:ha)+|he(?:he)+|tbh|ngl|omg|xd|btw))\b"
)


def _chat_word(m: re.Match[str]) -> str:
    word = m[0]
    if word in _CHAT_WORDS:
        return _CHAT_WORDS[word]
    return word[:-2] + "n't" if word.endswith("nt") else ""  # "dont" -> "don't"; "lol" goes


def plain_talk(sentence: str) -> str:
    """Chat spellings the rules are written for: "i", "im", "dont", "u" become "I",
    "I'm", "don't", "you", and fillers ("lol", "btw") and emojis go, so "i live in berlin
    lol 😊" reads as a statement."""
    plain = _CHAT.sub(_chat_word, sentence)
    if not plain.isascii():
        plain = _EMOJI.sub(" ", plain)
    return plain if plain == sentence else " ".join(plain.split())


_PRONOUN_I = re.compile(r"I(?:['’](?:m|ve|d|ll))?$")


def uncapitalised(sentence: str) -> bool:
    """Whether the writer does not capitalise names: no word after the first is capitalised
    except "I". Only then may a lowercase object be a name ("i live in berlin")."""
    tokens = re.findall(r"[A-Za-z][\w'’-]*", sentence)[1:]
    return not any(t[0].isupper() and not _PRONOUN_I.match(t) for t in tokens)


# common nouns that follow "live in", "work at", "from" in lowercase talk and are no names
_NOT_NAMES = words(
    """home town city here there night nights weekends weekend work school college uni
    university downtown suburbia suburbs countryside hope peace fear poverty luxury comfort
    style denial shock love debt house flat apartment dorm place area village office
    hospital shop store restaurant cafe bar church it this that which all one myself
    yourself himself herself ourselves themselves"""
)
_NAME_JOINS = words("of de la del da van von der du le")


def lowercase_name(text: str) -> str | None:
    """A lowercase name of a place or an organisation, capitalised ("new york" ->
    "New York"); None for what reads as a common noun ("a small flat", "home")."""
    parts = text.split()
    if not 0 < len(parts) <= 3 or not all(p.isalpha() and p.islower() for p in parts):
        return None
    if parts[-1].endswith("ing"):  # "quit smoking", "work at reading"
        return None
    named = parts[:-1] if len(parts) > 1 and parts[-1] == "city" else parts  # "new york city"
    if parts[0] in STOP_CAPS or any(p in _NOT_NAMES for p in named):
        return None
    return " ".join(p if i and p in _NAME_JOINS else p.capitalize() for i, p in enumerate(parts))


# --- named entities ------------------------------------------------------------------

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august"]
MONTHS += ["september", "october", "november", "december"]
STOP_CAPS = set(WEEKDAYS + MONTHS) | words(
    """i i'm i've i'd i'll the a an my our your his her their its this that these those he
    she it we they you me yesterday today tomorrow tonight last next on in at yes no hi hello
    hey thanks thank please ok okay oh well so and but or if when then first finally after
    before also just mom dad mum step here there what who how why where which sure great good
    nice cool wow lol haha sorry everyone everybody nobody someone somebody anyone all some
    many most both each every let let's can could would should will do does did is are was
    were not maybe actually honestly anyway btw by for from to with of as currently recently
    now still"""
)
_ORG = r"Hospital|Church|College|School|Restaurant|Cafe|Café|Bar|Pub|Kitchen|Bakery|Store|Clinic"
_CAP = (
    r"(?:(?:St|Dr|Mt|Mr|Mrs|Ms|Jr)\.|[A-Z][A-Za-z0-9&-]*(?:['’](?!s\b)[A-Za-z]+)*"
    rf"(?:\.[A-Za-z0-9]+)*(?:['’]s(?=\s+(?:{_ORG})\b))?)"
)
_JOIN = r"(?:of the|of|de la|de|del|da|van der|van|von|der|du|la|le|&)"
ENTITY_PATTERN = rf"\b{_CAP}(?:\s+(?:{_JOIN}\s+)?{_CAP}){{0,5}}"
_ENTITY = re.compile(ENTITY_PATTERN)


def clean_entity(span: str) -> str | None:
    """Drop leading stop words and a trailing possessive; None if nothing is left."""
    words = span.split()
    while words and words[0].lower().strip("'’") in STOP_CAPS:
        words.pop(0)
    while words and words[-1].lower() in {"of", "de", "the", "&", "la", "le", "van", "von"}:
        words.pop()
    if not words:
        return None
    text = re.sub(r"(?:'s|’s|')$", "", " ".join(words))
    return text if text and text.lower() not in STOP_CAPS else None


def entities_in(text: str) -> list[str]:
    """Capitalised spans that look like names of people, places, organisations, things."""
    found: list[str] = []
    for match in _ENTITY.finditer(text):
        name = clean_entity(match.group())
        if name and name not in found:
            found.append(name)
    return found


def leading_entity(text: str) -> str | None:
    """The named entity `text` starts with (after an optional "the"), if any."""
    text = re.sub(r"^(?:the)\s+", "", text.strip())
    match = _ENTITY.match(text)
    return clean_entity(match.group()) if match else None


# --- clauses -------------------------------------------------------------------------

_PUNCT_CUT = re.compile(r"[,;:!?()\"“”\n]|(?<!\bSt)(?<!\bDr)(?<!\bMt)\.(?:\s|$)|\s[-–—]\s")
CLAUSE_WORDS = (
    "and|but|or|because|cause|since|so|which|who|whom|whose|where|when|while|although|"
    "though|until|unless|if|that|now|anymore|nowadays|currently|again|too|yesterday|"
    "today|tonight|tomorrow|last|this|next|every|ago|btw|right now|these days|as well|any more|"
    "any longer|no longer|no more"
)
PREP_WORDS = "with|for|from|at|in|on|by|to|near|during|after|before|as|about|into|since|outside"


def trim_clause(
    text: str,
    *,
    preps: bool = True,
    max_words: int = 8,
    keep: Iterable[str] = (),
    stops: Iterable[str] = (),
) -> str:
    """`text` cut at the first clause boundary (punctuation, conjunction, time expression)."""
    text = text.strip()
    cut = _PUNCT_CUT.search(text)
    if cut:
        text = text[: cut.start()]
    boundary = _boundary(preps, tuple(keep), tuple(stops)).search(text)
    if boundary:
        text = text[: boundary.start()]
    timeref = find_time(text, datetime(2000, 1, 1, tzinfo=UTC))
    if timeref:
        text = text[: timeref.span[0]]
    return " ".join(text.split()[:max_words]).strip(" '\"’.")


@lru_cache(maxsize=64)
def _boundary(preps: bool, keep: tuple[str, ...], stops: tuple[str, ...]) -> re.Pattern[str]:
    """The clause-boundary pattern for one set of options, built once (it is long)."""
    words = CLAUSE_WORDS.split("|") + (PREP_WORDS.split("|") if preps else []) + list(stops)
    words = [w for w in words if w not in set(keep)]
    alternatives = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?:^|\s)(?:{alternatives})(?=\s|$)", re.IGNORECASE)


def remove_span(text: str, span: tuple[int, int]) -> str:
    """`text` without span, tidying the commas and spaces left behind."""
    out = text[: span[0]] + text[span[1] :]
    out = re.sub(r"\s+([,.!?;])", r"\1", re.sub(r"\s{2,}", " ", out))
    return re.sub(r"^[\s,]+|(?<=\s),\s*", "", out).strip()


_THIRD_PERSON = [
    *[(rf"\bI['’]{a}\b", f"{{n}} {b}") for a, b in [("m", "is"), ("ve", "has"), ("d", "would")]],
    (r"\bI am\b", "{n} is"),
    (r"\bI['’]ll\b", "{n} will"),
    (r"\bI\b", "{n}"),
    *[(rf"\b{a}\b", b) for a, b in [("myself", "themselves"), ("me", "them"), ("mine", "theirs")]],
    (r"^My\b", "{p}"),
    (r"\b[Mm]y\b", "their"),
]


def third_person(text: str, name: str) -> str:
    """A first-person clause rewritten about `name` ("I went" -> "Alice went")."""
    for pattern, repl in _THIRD_PERSON:
        text = re.sub(pattern, repl.format(n=name, p=possessive(name)), text)
    return text


# --- time ----------------------------------------------------------------------------


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
            return _as_dt(_add_months(self.start.date(), 3))
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


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


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
        return _monday(today) + timedelta(days=7 * step + (5 if unit == "weekend" else 0)), unit
    if unit == "month":
        return _add_months(today.replace(day=1), step), "month"
    return date(today.year + step, 1, 1), "year"


def _ago(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    count = int(m[1]) if m[1].isdigit() else _NUMBERS[m[1].lower()]
    return _period(today, m[2].lower(), -count)


def _relative_period(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    step = {"last": -1, "this": 0, "next": 1}[m[1].lower().split()[-1]]
    return _period(today, m[2].lower(), step)


def _before_last(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    return _period(today, m[1].lower(), -2)


def _weekday(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    prefix, target = (m[1] or "").lower(), WEEKDAYS.index(m[2].lower())
    ahead = (target - today.weekday()) % 7
    if prefix == "last" or (prefix not in {"next", "this", "by", "until"} and d == "past"):
        return today - timedelta(days=(today.weekday() - target) % 7 or 7), "day"
    if prefix == "next":
        return today + timedelta(days=ahead or 7), "day"
    if prefix == "this":
        return _monday(today) + timedelta(days=target), "day"
    return today + timedelta(days=ahead), "day"


def _roll(day: date, today: date, direction: Direction, month: bool = False) -> date:
    """A date named without its year, moved to the year the direction implies."""
    ref = today.replace(day=1) if month else today
    shift = -1 if direction == "past" and day > ref else 0
    shift = 1 if direction == "future" and day < ref else shift
    return _safe_date(day.year + shift, day.month, day.day) or day


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _dated(year: str, month: str, day: str) -> tuple[date, str] | None:
    found = _safe_date(int(year), int(month), int(day))
    return (found, "day") if found else None


def _month_day(m: re.Match[str], today: date, d: Direction) -> tuple[date, str] | None:
    month, day, year = (m[1], m[2], m[3]) if not m[1].isdigit() else (m[2], m[1], m[3])
    found = _safe_date(int(year or today.year), _month_num(month), int(day))
    if not found:
        return None
    return (found if year else _roll(found, today, d)), "day"


def _month(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    prefix, month = m[1].lower(), _month_num(m[2])
    first = date(int(m[3]) if m[3] else today.year, month, 1)
    if m[3]:
        return first, "month"
    if prefix == "last":
        year = today.year if month < today.month else today.year - 1
        return date(year, month, 1), "month"
    if prefix == "next" or (prefix == "by" and d == "future"):
        year = today.year if month > today.month else today.year + 1
        return date(year, month, 1), "month"
    return _roll(first, today, d, month=True), "month"


def _ahead(m: re.Match[str], today: date, d: Direction) -> tuple[date, str] | None:
    """ "in three days", "in two weeks": a future period; in the past ("I finished it in
    two weeks") the same words are a duration, so nothing is resolved."""
    if d == "past":
        return None
    return _from_now(m, today, d)


def _from_now(m: re.Match[str], today: date, d: Direction) -> tuple[date, str]:
    count = int(m[1]) if m[1].isdigit() else _NUMBERS[m[1].lower()]
    return _period(today, m[2].lower(), count)


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
    current = _add_months(today.replace(day=1), -((today.month - 3) % 3))
    if prefix == "this" and current.month == start_month:
        return current, "season"
    if prefix == "this":
        prefix = "last" if d == "past" else "next"
    start = date(current.year, start_month, 1)
    if prefix == "last" and start >= current:
        start = date(start.year - 1, start_month, 1)
    if prefix == "next" and start <= current:
        start = date(start.year + 1, start_month, 1)
    return start, "season"


def _nth(m: re.Match[str], today: date, d: Direction) -> tuple[date, str] | None:
    """ "on the 5th": this month's 5th, or last month's (past) / next month's (future)
    when this month's lies the other way."""
    day = int(m[1])
    step = 0
    if d == "past" and day > today.day:
        step = -1
    elif d == "future" and day < today.day:
        step = 1
    first = _add_months(today.replace(day=1), step)
    found = _safe_date(first.year, first.month, day)
    return (found, "day") if found else None


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
    found = _roll(this_year, today, direction)
    if prefix == "last" and found >= today:
        found = date(found.year - 1, month, day)
    if prefix == "next" and found <= today:
        found = date(found.year + 1, month, day)
    return found, "day"


# a date-like word followed by a lower-case noun names a thing ("the 5th floor",
# "Christmas shopping"), not a date: these few words may follow a date
_THEN = r"(?:and|at|in|of|on|so|but|when|with|to|for|this|last|next|the|was|is|we|i|too)"
_NOT_NOUN = rf"(?!\s+(?!(?-i:I)\b)(?!{_THEN}\b)(?-i:[a-z]{{3,}}))"
_COUNT = r"(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few|several)"
_HOLIDAY_RE = r"christmas eve|christmas day|christmas|new years? eve|new year['’]s eve"
_HOLIDAY_RE += r"|new years? day|new year['’]s day|halloween|valentine['’]s day|boxing day"
_DAY0 = r"\b(?:(?:earlier |later )?today|tonight|this (?:morning|afternoon|evening))\b"
_AGO = r"\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few|several)"
_MON = rf"(?-i:{_MONTH_RE})"
_TIME_PATTERNS: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(pattern, re.IGNORECASE), resolver)
    for pattern, resolver in [
        (r"\bthe day before yesterday\b", _fixed(-2)),
        (r"\bthe day after tomorrow\b", _fixed(2)),
        (r"\b(?:yesterday|last night)\b", _fixed(-1)),
        (_DAY0, _fixed(0)),
        (r"\btomorrow\b", _fixed(1)),
        (_AGO + r"\s+(day|week|month|year)s?\s+ago\b", _ago),
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
        (r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", lambda m, t, d: _dated(m[1], m[2], m[3])),
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
    found: list[tuple[re.Match[str], Resolver]] = []
    for pattern, resolver in _TIME_PATTERNS:
        found.extend((m, resolver) for m in pattern.finditer(text))
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


_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/?#@]*@", re.IGNORECASE)


def normalize_uri(url: str) -> str:
    """Scheme and host lower case without "www.", https for bare "www." links, no fragment
    or trailing slash: the same link always gives the same resource id."""
    if url.lower().startswith("www."):
        url = "https://" + url
    url = _USERINFO.sub(r"\1", url)  # a link's identity never holds a login (masked or not)
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), parts.query, ""))
