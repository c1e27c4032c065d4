"""What a detector found (a span of the text and its kind) and how found spans become the
masked text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

MARK = "[MASKED "  # every masked form starts so; a detector never masks inside one
# a masked form as `placeholder` writes it: only such text is left alone, not whatever
# follows "[MASKED " up to the next "]" (or the end) - text the user wrote can say that
MASKED = re.compile(r"\[MASKED [a-z]+(?: [a-z]+)*(?: …[^\]\s]{1,8})?\]")


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    kind: str
    tail: bool = True  # keep the last 4 characters (cards, IBANs, long keys)


def placeholder(kind: str, secret: str, tail: bool) -> str:
    """`[MASKED card …1111]` for cards, IBANs and keys long enough that their last 4
    characters say which one it was and nothing of its value; `[MASKED pin]` else."""
    compact = "".join(c for c in secret if c.isalnum())
    if tail and len(compact) >= 12:
        if not compact.isascii():  # full-width digits: the tail in plain ones
            compact = unicodedata.normalize("NFKC", compact)
        return f"[MASKED {kind} …{compact[-4:]}]"
    return f"[MASKED {kind}]"


def apply(text: str, found: Iterable[Found]) -> tuple[str, list[str]]:
    """`text` with the found spans replaced (overlaps merged: the earliest, then longest,
    wins and takes in what it overlaps) and the kinds replaced, in order."""
    marks = [m.span() for m in MASKED.finditer(text)] if MARK in text else []
    spans = sorted(
        (f for f in found if f.end > f.start and not _in_mark(f, marks)),
        key=lambda f: (f.start, -f.end),
    )
    merged: list[Found] = []
    for span in spans:
        if merged and span.start < merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = replace(merged[-1], end=span.end)
            continue
        merged.append(span)
    out: list[str] = []
    at = 0
    for span in merged:
        out.append(text[at : span.start])
        out.append(placeholder(span.kind, text[span.start : span.end], span.tail))
        at = span.end
    out.append(text[at:])
    return "".join(out), [span.kind for span in merged]


def _in_mark(found: Found, marks: list[tuple[int, int]]) -> bool:
    return any(a <= found.start and found.end <= b for a, b in marks)
