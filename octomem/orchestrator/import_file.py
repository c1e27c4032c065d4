"""Reading an export for an import: line by line, in bounded pieces, each line masked.

A file, a text stream or a binary stream is read `_CHUNK` at a time (never whole), split
at "\\n" only (U+2028, U+2029, U+0085... inside a JSON string are text, which
str.splitlines() would cut a line at), and each line is parsed and masked as it ends.
A line longer than `input.max_import_line_bytes` (/dev/zero, a FIFO nobody closes) and a
file larger than `service.max_import_bytes` are refused before memory runs out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Any

from octomem.errors import InvalidInputError
from octomem.sensitive import mask_value, replace_found, secrets_in_value
from octomem.validation import parse_json

FORMAT = "octomem-export"
VERSION = 1
_CHUNK = 1 << 16

Source = str | os.PathLike[str] | IO[str] | IO[bytes]


def read_lines(
    source: Source, *, max_bytes: int, max_line_bytes: int
) -> Generator[tuple[int, dict[str, Any], int], None, None]:
    """(line number, the line parsed and masked, its length) of an export, one at a time,
    the header checked first; InvalidInputError names the first bad line."""
    path = Path(source) if isinstance(source, str | os.PathLike) else None
    if path is not None and not path.is_file():
        raise InvalidInputError(f"no export file at {path}")
    if path is None and not callable(getattr(source, "read", None)):
        raise InvalidInputError(
            f"import source must be a file path or a readable text stream, got "
            f"{type(source).__name__}"
        )
    try:
        with path.open("rb") if path is not None else contextlib.nullcontext(source) as stream:
            yield from _parse(stream.read, max_bytes, max_line_bytes)  # type: ignore[union-attr]
    except OSError as exc:
        raise InvalidInputError(f"cannot read the export: {exc.strerror or exc}") from exc


def _parse(
    read: Callable[[int], Any], max_bytes: int, max_line_bytes: int
) -> Iterator[tuple[int, dict[str, Any], int]]:
    header = False
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
        if not header:
            _check_header(line)
            header = True
        yield number, masked(line) if line["type"] != "blob" else line, len(raw)
    if not header:
        _check_header({})


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
    return "characters" if kind is str else "bytes"


# what an import never masks: ids, hashes, scopes, times, kinds - the structure of a line,
# of the record it holds and of its history events; the same names deeper (in metadata)
# are text like any other. A history event's actor and a record's extractor (in its
# `source`) are free text a file may hold anything in: masked.
_STRUCTURE = frozenset(
    "type format version id memory_id memory_type user_id agent_id session_id content_hash "
    "subject_id object_id operation at created_at updated_at exported_at valid_from "
    "valid_to valid_at invalid_at expires_at occurred_at".split()
)
_SOURCE_IDS = frozenset({"turn_ids", "message_ids"})  # a record's source: the ids it names
# a record's `internal`: a LangGraph item's namespace and key are identifiers, stored as
# put (not masked), that the item is found by
_INTERNAL_IDS = frozenset({"langgraph_namespace", "langgraph_key"})
# a line's record and events, an event's record; a record's source and internal
_HOLDS_PARTS = ("record", "history", "source", "internal")
# a record's fields that name what another field holds (a fact's attribute, a working
# item's key, an edge's predicate, a block's label), and those that hold it: a value is a
# secret when its name names one (attribute "wifi_password"), as a metadata key's is
_NAMES = ("attribute", "key", "predicate", "label", "kind")
_VALUES = ("value", "object")


def masked(part: Any, found: dict[str, str] | None = None) -> Any:
    """A line (or the record or history event it holds) with every secret in its text
    masked, but for the values of its own structure keys (content hashes are derived
    again from the masked text: `import_checks`); a secret found in one of its texts
    (`found`: of the whole line) is masked wherever else its texts give it, as an
    update's text and metadata are (`mask_together`)."""
    if found is None:
        found = secrets_in_value(_free_text(part))

    def clean(value: Any) -> Any:
        return replace_found(mask_value(value), found)

    if not isinstance(part, dict):
        return clean(part)
    out: dict[str, Any] = clean(
        {k: v for k, v in part.items() if k not in _STRUCTURE and k not in _HOLDS_PARTS}
    )
    for key, value in part.items():
        if key in _STRUCTURE:
            out[key] = value
        elif key == "record":
            out[key] = None if value is None else masked(value, found)
        elif key == "history":
            out[key] = (
                [masked(e, found) for e in value] if isinstance(value, list) else clean(value)
            )
        elif key in ("source", "internal"):
            ids = _SOURCE_IDS if key == "source" else _INTERNAL_IDS
            out[key] = (
                {k: v if k in ids else clean(v) for k, v in value.items()}
                if isinstance(value, dict)
                else clean(value)
            )
    for name in (part[n] for n in _NAMES if isinstance(part.get(n), str)):
        for field in (f for f in _VALUES if isinstance(out.get(f), str) and out[f]):
            out[field] = next(iter(mask_value({name: out[field]}).values()))
    return out


def _free_text(part: Any) -> Any:
    """What of a line `masked` masks (its structure keys' values left out): what its
    secrets are found in. A value named by its predicate or attribute is masked where it
    stands only: the object of SHARED_PASSWORD_WITH is a person, named elsewhere too."""
    if not isinstance(part, dict):
        return part
    free: list[Any] = [
        {k: v for k, v in part.items() if k not in _STRUCTURE and k not in _HOLDS_PARTS}
    ]
    for key in _HOLDS_PARTS:
        value = part.get(key)
        if key in ("source", "internal") and isinstance(value, dict):
            free.append({k: v for k, v in value.items() if k not in _SOURCE_IDS | _INTERNAL_IDS})
        elif isinstance(value, list):
            free += [_free_text(item) for item in value]
        elif value is not None:
            free.append(_free_text(value))
    return free
