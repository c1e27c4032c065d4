"""Clauses: an object cut at its clause boundary, and a span removed from a sentence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from octomem.language.dates import find_time

_PUNCT_CUT = re.compile(r"[,;:!?()\"“”\n]|(?<!\bSt)(?<!\bDr)(?<!\bMt)\.(?:\s|$)|\s[-–—]\s")
CLAUSE_WORDS = (
    "and|but|or|because|cause|since|so|which|who|whom|whose|where|when|while|although|"
    "though|until|unless|if|that|now|anymore|nowadays|currently|again|too|yesterday|"
    "today|tonight|tomorrow|last|this|next|every|ago|btw|right now|these days|as well|any more|"
    "any longer|no longer|no more"
)
PREP_WORDS = "with|for|from|at|in|on|by|to|near|during|after|before|as|about|into|since|outside"


# what a cut leaves dangling at the end of a clause: nothing ends on these
DANGLING = frozenset(
    "a an the some to of in on at for with from by into onto about my our your their his her "
    "its".split()
)


def trim_clause(
    text: str,
    *,
    preps: bool = True,
    max_words: int = 8,
    keep: Iterable[str] = (),
    stops: Iterable[str] = (),
) -> str:
    """`text` cut at the first clause boundary (punctuation, conjunction, time expression)
    and to `max_words`, ending on no word of `DANGLING`."""
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
    words = text.split()[:max_words]
    while words and words[-1].lower() in DANGLING:  # "coffee in the [morning]"
        words.pop()
    return " ".join(words).strip(" '\"’.")


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
