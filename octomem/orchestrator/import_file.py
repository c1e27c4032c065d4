"""Reading an export for an import: line by line, in bounded pieces.

A file, a text stream or a binary stream is read `_CHUNK` at a time (never whole), split
at "\\n" only (U+2028, U+2029, U+0085... inside a JSON string are text, which
str.splitlines() would cut a line at), and each line is parsed as it ends. A line longer
than `input.max_import_line_bytes` (a stream without a line end: /dev/zero, a FIFO nobody
closes) and a file larger than `service.max_import_bytes` - the bound the HTTP route
streams the body of `POST /v1/import` under too - are refused with an InvalidInputError
naming the line, before memory runs out. A text stream's bounds count characters.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from octomem.errors import InvalidInputError
from octomem.validation import parse_json

FORMAT = "octomem-export"
VERSION = 1
_CHUNK = 1 << 16


def read_lines(
    source: str | os.PathLike[str] | IO[str] | IO[bytes],
    *,
    max_bytes: int,
    max_line_bytes: int,
) -> list[dict[str, Any]]:
    """Parse and check an export file; InvalidInputError names the first bad line."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(f"no export file at {path}")
        try:
            with path.open("rb") as stream:
                return _parse(stream.read, max_bytes, max_line_bytes)
        except OSError as exc:
            raise InvalidInputError(f"cannot read the export: {exc.strerror or exc}") from exc
    if not callable(getattr(source, "read", None)):
        raise InvalidInputError(
            f"import source must be a file path or a readable text stream, got "
            f"{type(source).__name__}"
        )
    try:
        return _parse(source.read, max_bytes, max_line_bytes)
    except OSError as exc:
        raise InvalidInputError(f"cannot read the export: {exc.strerror or exc}") from exc


def _parse(read: Callable[[int], Any], max_bytes: int, max_line_bytes: int) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for number, raw in _raw_lines(read, max_bytes, max_line_bytes):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInputError(
                    f"the export is not UTF-8 text (line {number}: {exc})"
                ) from exc
        if not raw.strip():
            continue
        line = parse_json(raw, f"line {number} of the export")  # depth bounded, ints too
        if not isinstance(line, dict) or "type" not in line:
            raise InvalidInputError(f"line {number} of the export has no 'type'")
        if not lines:
            _check_header(line)
        lines.append(line)
    if not lines:
        _check_header({})
    return lines


def _check_header(line: dict[str, Any]) -> None:
    if line.get("format") != FORMAT:
        raise InvalidInputError(
            "not an octomem export: the first line must be the header written by `octomem export`"
        )
    if line.get("version") != VERSION:
        raise InvalidInputError(
            f"export version {line.get('version')!r} is not supported (expected {VERSION})"
        )


def _raw_lines(
    read: Callable[[int], Any], max_bytes: int, max_line_bytes: int
) -> Iterator[tuple[int, str | bytes]]:
    """(line number, the line without its "\\n"), each line held once it ends and no
    longer than `max_line_bytes`, the whole stream no longer than `max_bytes`."""
    pending: list[Any] = []
    held = total = 0
    number = 1
    kind: type | None = None

    def too_long() -> InvalidInputError:
        return InvalidInputError(
            f"line {number} of the export is longer than {max_line_bytes:,} {_unit(kind)} "
            f"(input.max_import_line_bytes): not an octomem export, or one written with a "
            f"larger limit (raise the setting to import it)"
        )

    while True:
        try:
            chunk: Any = read(_CHUNK)
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"the export is not UTF-8 text ({exc})") from exc
        if not chunk:
            break
        if not isinstance(chunk, str | bytes) or (kind is not None and type(chunk) is not kind):
            raise InvalidInputError(f"the import source gave {type(chunk).__name__}, not text")
        kind = type(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise InvalidInputError(
                f"the export is larger than {max_bytes:,} {_unit(kind)} (reading line "
                f"{number}; service.max_import_bytes): raise the setting to import it"
            )
        end_of_line: Any = b"\n" if kind is bytes else "\n"
        start = 0
        while (end := chunk.find(end_of_line, start)) >= 0:
            if held + end - start > max_line_bytes:
                raise too_long()
            yield number, chunk[:0].join([*pending, chunk[start:end]])  # type: ignore[list-item]
            pending, held, number, start = [], 0, number + 1, end + 1
        if start < len(chunk):
            pending.append(chunk[start:])
            held += len(chunk) - start
            if held > max_line_bytes:
                raise too_long()
    if pending:
        yield number, pending[0][:0].join(pending)


def _unit(kind: type | None) -> str:
    """What the bounds count: characters of a text stream, bytes of a file."""
    return "characters" if kind is str else "bytes"
