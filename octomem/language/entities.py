"""Named entities: capitalised spans that name people, places, organisations and things,
and lowercase names of places ("i live in berlin")."""

from __future__ import annotations

import re

from octomem.language.words import LETTER, MONTHS, UPPER, WEEKDAYS, words

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
    rf"(?:(?:St|Dr|Mt|Mr|Mrs|Ms|Jr)\.|[{UPPER}][{LETTER}0-9&-]*(?:['’](?!s\b)[{LETTER}]+)*"
    rf"(?:\.[{LETTER}0-9]+)*(?:['’]s(?=\s+(?:{_ORG})\b))?)"
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
    names = (clean_entity(match.group()) for match in _ENTITY.finditer(text))
    return list(dict.fromkeys(name for name in names if name))


def leading_entity(text: str) -> str | None:
    """The named entity `text` starts with (after an optional "the"), if any."""
    text = re.sub(r"^(?:the)\s+", "", text.strip())
    match = _ENTITY.match(text)
    return clean_entity(match.group()) if match else None
