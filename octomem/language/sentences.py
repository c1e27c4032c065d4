"""Sentences: splitting a message into them, and what kind each is (a question, a
statement about the speaker, a hypothetical)."""

from __future__ import annotations

import re

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
