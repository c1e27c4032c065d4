"""Events a message announces in the third person, with a date: "The offsite will be held
in Lisbon on 12 May", "The launch moves to the Quillby venue next Friday" - what mails,
Slack channels and shared notes say is planned, wherever it is said."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from octomem.language import ENTITY_PATTERN, UPPER, TimeRef, clean_entity, find_time, hedged

_PRONOUNS = r"(?:it|this|that|these|those|he|she|they|we|i|you|there|here|today|tomorrow)"
# what is planned: "the offsite", "our team dinner", "PyCon Lisbon"; a pronoun is no event
_WHAT = r"(?P<what>(?:[Tt]he|[Oo]ur|[Tt]his year's|[Nn]ext week's) [\w-]+(?: [\w-]+){0,3}?"
_WHAT += rf"|(?!(?i:{_PRONOUNS})\b)[{UPPER}][\w-]*(?: [{UPPER}][\w-]*){{0,2}})"
_HAPPENS = (
    r"will be held|will take place|takes place|is taking place|is being held|is held|"
    r"is scheduled|is planned|is happening|will happen|will be|is|"
    r"(?:has been|was|is being|will be) (?:moved|rescheduled|postponed)|moves|is moving"
)
_ANNOUNCED = re.compile(
    rf"(?:^|(?<=: )|(?<=, )){_WHAT} (?:{_HAPPENS})(?: to| for| until)? "
    r"(?=(?:in|at|on|to|for|next|this|tomorrow|tonight)\b)"
)
_PLACE = re.compile(rf"\b(?:in|at|to) (?:the )?(?P<place>{ENTITY_PATTERN})")


@dataclass(frozen=True)
class Announced:
    """An announced event: the clause that says it, when (`time`) and where (`place`)."""

    clause: str
    time: TimeRef
    place: str | None


def announced(sentence: str, timestamp: datetime) -> Announced | None:
    """The event `sentence` announces, dated against `timestamp` (its date ahead of it, as
    plans are); None without a date, for a question or a hypothetical."""
    match = _ANNOUNCED.search(sentence)
    if match is None or sentence.rstrip().endswith("?") or hedged(sentence, match.start()):
        return None
    clause = sentence[match.start() :].strip().rstrip(".!")
    time = find_time(clause, timestamp, "future")
    if time is None:
        return None
    rest = clause[match.end() - match.start() :]
    places = (clean_entity(m["place"]) for m in _PLACE.finditer(rest))
    place = next((p for p in places if p and p not in time.text), None)
    return Announced(clause[0].upper() + clause[1:], time, place)
