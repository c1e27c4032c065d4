"""What a detector found (a span of the text and its kind) and how found spans become the
masked text."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MARK = "[MASKED "  # every masked form starts so; a detector never masks inside one


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


def _inside_marks(text: str) -> list[tuple[int, int]]:
    marks, at = [], text.find(MARK)
    while at >= 0:
        end = text.find("]", at)
        end = len(text) if end < 0 else end + 1
        marks.append((at, end))
        at = text.find(MARK, end)
    return marks


def apply(text: str, found: Iterable[Found]) -> tuple[str, list[str]]:
    """`text` with the found spans replaced (overlaps merged: the earliest, then longest,
    wins and takes in what it overlaps) and the kinds replaced, in order."""
    marks = _inside_marks(text) if MARK in text else []
    spans = sorted(
        (f for f in found if f.end > f.start and not _in_mark(f, marks)),
        key=lambda f: (f.start, -f.end),
    )
    out: list[str] = []
    kinds: list[str] = []
    at = 0
    current: Found | None = None
    for span in spans:
        if current is not None and span.start < current.end:
            if span.end > current.end:
                current = Found(current.start, span.end, current.kind, current.tail)
            continue
        if current is not None:
            at = _emit(text, at, current, out, kinds)
        current = span
    if current is not None:
        at = _emit(text, at, current, out, kinds)
    out.append(text[at:])
    return "".join(out), kinds


def _in_mark(found: Found, marks: list[tuple[int, int]]) -> bool:
    return any(a <= found.start and found.end <= b for a, b in marks)


def _emit(text: str, at: int, span: Found, out: list[str], kinds: list[str]) -> int:
    out.append(text[at : span.start])
    out.append(placeholder(span.kind, text[span.start : span.end], span.tail))
    kinds.append(span.kind)
    return span.end
