"""Secrets in tables: a cell under a header that names a secret ("| site | password |",
"service,user,password"), and the value of a two-column row whose first cell names one
("| PIN | 4821 |" in a table without a header, or under "| field | value |"; in another
table, a value that looks generated). Markdown and
other pipe tables, CSV, TSV and `;`-separated rows. Each cell is read as the value of the
cue "<header>: <cell>" (`cues.cued_value`), so the cue's own rules decide: a password
takes the cell, a PIN needs a digit, a key must look generated.

A header names a secret when it is a cue word after at most two other words ("password",
"DB password", "db_password", "**PIN**"); bare "key" and "pass" do not ("| Key | Action |",
an exam's "pass"). A CSV header must be short names only, and name something besides
secrets (a line of cue words alone is a list in prose)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from octomem.sensitive.cue_words import UNSET
from octomem.sensitive.cues import cue_named, cued_value
from octomem.sensitive.spans import Found

_DECORATION = re.compile(r"^(?:\*{1,3}|`|<\w+>)|(?:\*{1,3}|`|</\w+>)$")
_WORDS = re.compile(r"[\s_.-]+")
_RULE_CELL = re.compile(r":?-+:?")
_PIPE = re.compile(r"(?<!\\)\|")
_FIELD = re.compile(r"[\w .#/()-]{1,40}")
_VALUE_HEADERS = frozenset({"value", "values", "wert", "valeur", "valor", "значение"})
_Span = tuple[int, int]


def find_tables(text: str) -> Iterator[Found]:
    if "|" in text:
        yield from _pipe_tables(text)
    if "," in text or "\t" in text or ";" in text:
        yield from _delimited(text)


def _header(cell: str) -> tuple[str, str] | None:
    """(kind, cue) of a header cell that names a secret."""
    words = _WORDS.split(_DECORATION.sub("", cell.strip()).strip().rstrip(":").strip())
    for first in range(min(len(words), 3)):
        named = cue_named(" ".join(words[first:]))
        if named is not None:
            return named
    return None


def _cell(text: str, span: _Span, named: tuple[str, str]) -> Iterator[Found]:
    start, end = span
    if text[start:end].strip().lower() in UNSET:
        return
    found = cued_value(text, start, end, *named)
    if found is not None:
        yield found


def _lines(text: str) -> list[_Span]:
    """Each line's span, without its line break (a `\r\n` one too)."""
    spans, at = [], 0
    for line in text.split("\n"):
        spans.append((at, at + len(line.removesuffix("\r"))))
        at += len(line) + 1
    return spans


def _rule(text: str, span: _Span) -> bool:
    """Whether a line is a table's header rule: `|---|:---:|`, its outer pipes optional
    (read cell by cell: a regex of optional spaces around optional pipes would try every
    split of a long run of spaces)."""
    row = text[slice(*span)].strip()
    if "-" not in row or "|" not in row:
        return False
    cells = row.removeprefix("|").removesuffix("|").split("|")
    return all(_RULE_CELL.fullmatch(cell.strip()) for cell in cells)


def _pipe_cells(text: str, start: int, end: int) -> list[_Span]:
    """The cells of a pipe row, stripped of spaces (its outer pipes optional)."""
    edges = [start - 1, *(start + m.start() for m in _PIPE.finditer(text[start:end])), end]
    cells = []
    for left, right in zip(edges, edges[1:], strict=False):
        a, b = left + 1, right
        while a < b and text[a] in " \t":
            a += 1
        while b > a and text[b - 1] in " \t":
            b -= 1
        cells.append((a, b))
    row = text[start:end].strip()
    return cells[row.startswith("|") : len(cells) - row.endswith("|")]


def _pipe_tables(text: str) -> Iterator[Found]:
    lines = _lines(text)
    named: list[tuple[str, str] | None] = []  # the header of the table a row is in
    value_table = True  # rows "| <cue> | <value> |" (no header, or "| field | value |")
    for i, line in enumerate(lines):
        if "|" not in text[slice(*line)]:
            named, value_table = [], True  # a line without a pipe ends the table
            continue
        if _rule(text, line):
            continue
        cells = _pipe_cells(text, *line)
        # (a header too is read as a row of the table above it, which it may be: a row of
        # dashes after it is no proof it starts another)
        for cell, cue in zip(cells, named, strict=False):
            if cue is not None:
                yield from _cell(text, cell, cue)
        if len(cells) >= 2 and (cue := _header(text[slice(*cells[0])])):
            # "| Password | X |": its value as the cue's in a table of such rows; in another
            # (its second column may describe: "| Password | 12 characters |") only one
            # that looks generated, as a key's
            row_cue = cue if value_table and len(cells) == 2 else ("key", cue[1])
            yield from _cell(text, cells[1], row_cue)
        if i + 1 < len(lines) and _rule(text, lines[i + 1]):  # a header
            named = [_header(text[slice(*cell)]) for cell in cells]
            value_table = len(cells) == 2 and (
                text[slice(*cells[1])].strip("*` ").lower() in _VALUE_HEADERS
            )


def _fields(text: str, start: int, end: int, sep: str) -> list[_Span] | None:
    """The fields of a delimited line (a field in double quotes: what is inside)."""
    fields, at = [], start
    while at <= end:
        if at < end and text[at] == '"':
            close = text.find('"', at + 1, end)
            if close < 0 or (close + 1 < end and text[close + 1] != sep):
                return None
            fields.append((at + 1, close))
            at = close + 2
            continue
        stop = text.find(sep, at, end)
        stop = end if stop < 0 else stop
        a, b = at, stop
        while a < b and text[a] == " ":
            a += 1
        while b > a and text[b - 1] == " ":
            b -= 1
        fields.append((a, b))
        at = stop + 1
    return fields


def _delimited(text: str) -> Iterator[Found]:
    lines, i = _lines(text), 0
    while i < len(lines) - 1:
        i, found = _delimited_table(text, lines, i)
        yield from found


def _delimited_table(text: str, lines: list[_Span], i: int) -> tuple[int, list[Found]]:
    """What the table whose header is line `i` holds, and the line after its last row
    (the next line when line `i` is no such header)."""
    start, end = lines[i]
    for sep in (",", "\t", ";"):
        if sep not in text[start:end]:
            continue
        head = _fields(text, start, end, sep)
        if not head or not all(_FIELD.fullmatch(text, *field) for field in head):
            continue
        named = [_header(text[slice(*field)]) for field in head]
        if not any(named) or all(named):
            continue
        found: list[Found] = []
        for at in range(i + 1, len(lines)):
            if sep not in text[slice(*lines[at])]:
                if text[slice(*lines[at])].strip():
                    return at, found  # a line of no fields ends the table; a blank one not
                continue
            row = _fields(text, *lines[at], sep)
            if not row or len(row) != len(head):
                continue  # a row of other fields (a comma inside, one field more)
            for field, cue in zip(row, named, strict=True):
                if cue is not None:
                    found.extend(_cell(text, field, cue))
        return len(lines), found
    return i + 1, []
