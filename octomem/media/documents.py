"""Markdown and plain text documents, split by section; the chunking every kind shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$|^(.+)\n(=+|-+)\s*$", re.MULTILINE)
_BREAKS = ("\n\n", "\n", ". ", " ")


@dataclass(frozen=True)
class Section:
    title: str | None  # the heading that opens it; None before the first heading
    text: str


def sections(text: str) -> list[Section]:
    """`text` cut at its Markdown headings (ATX `#` and setext underlines); a text without
    headings is one section. Headings inside fenced code blocks do not cut."""
    text = text.replace("\r\n", "\n")
    fenced = _fenced_spans(text)
    cuts = [
        m
        for m in _HEADING.finditer(text)
        if not any(a <= m.start() < b for a, b in fenced) and (m[1] or m[3].strip())
    ]
    out: list[Section] = []
    start, title = 0, None
    for m in [*cuts, None]:
        body = text[start : m.start() if m else len(text)].strip()
        if body or title:
            out.append(Section(title, body))
        if m:
            start, title = m.end(), (m[2] if m[1] else m[3]).strip()
    return out


def chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters, cut at paragraph, line, sentence or
    word boundaries where possible."""
    text = text.strip()
    if len(text) <= size:
        return [text] if text else []
    out: list[str] = []
    while len(text) > size:
        window = text[: size + 1]
        cut = max((window.rfind(b) for b in _BREAKS), default=-1)
        cut = cut if cut > size // 3 else size
        out.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        out.append(text)
    return [c for c in out if c]


def _fenced_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], None
    for m in re.finditer(r"^(```|~~~)", text, re.MULTILINE):
        if start is None:
            start = m.start()
        else:
            spans.append((start, m.end()))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans
