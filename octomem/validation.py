"""Checks of values that come from callers, shared by message normalisation and the API.

Each raises `InvalidInputError` with a message that says what to pass instead.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from octomem.errors import InvalidInputError
from octomem.models import as_utc

MAX_SCOPE_ID_CHARS = 256
# accepted timestamps: wide, yet far enough from datetime's limits that date arithmetic
# ("today", "in two years", a working memory's expiry) never overflows
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)
MAX_METADATA_DEPTH = 16
MAX_METADATA_CHARS = 100_000  # of its JSON form
# control characters other than tab and newline (C0, DEL, C1): they carry no meaning in
# text people say, break terminals and tokenizers, and NUL ends strings in C libraries.
# Text drops them; ids, which must round-trip exactly, reject them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# invisible, and meaningless in text people say (unlike the zero-width (non-)joiners, which
# shape emoji and some scripts): dropped, so that text that looks the same is the same
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")


def validate_scope_id(name: str, value: Any) -> str | None:
    """Check a scope id (user_id, agent_id, session_id): None, or a short printable string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string or None; got {type(value).__name__}")
    if not value.strip():
        raise InvalidInputError(f"{name} is empty or whitespace; pass None to leave it unset")
    if len(value) > MAX_SCOPE_ID_CHARS:
        raise InvalidInputError(
            f"{name} is {len(value)} characters long; the limit is {MAX_SCOPE_ID_CHARS}"
        )
    if control := _ANY_CONTROL.search(value):
        raise InvalidInputError(
            f"{name} contains a control character {control.group()!r} at position {control.start()}"
        )
    check_encodable(value, name)
    return value


def check_timestamp(value: datetime, what: str) -> datetime:
    """`value` in UTC, if it lies between the years 1000 and 2999; else InvalidInputError."""
    stamp = as_utc(value)
    if not EARLIEST <= stamp <= LATEST:
        raise InvalidInputError(
            f"{what} {value.isoformat()} is out of range: timestamps must lie between "
            f"{EARLIEST.date()} and {LATEST.date()}"
        )
    return stamp


def check_encodable(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} contains a lone surrogate {value[exc.start]!r} at position {exc.start}, "
            f"which is not valid Unicode text"
        ) from exc


def clean_text(value: str, what: str) -> str:
    """`value` as valid Unicode text in composed form (NFC: "Zürich" typed as u + a
    combining diaeresis is the same text as with "ü"), without control characters (other
    than tab and newline) or invisible ones that carry no meaning (zero-width space, word
    joiner, byte order mark, soft hyphen); carriage returns become newlines.
    InvalidInputError on a lone surrogate."""
    check_encodable(value, what)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", _CONTROL.sub("", value)))


def has_control(value: str) -> bool:
    """Whether `value` holds a control character `clean_text` would remove."""
    return _CONTROL.search(value) is not None


def check_metadata(
    metadata: Any, *, name: str = "metadata", max_chars: int = MAX_METADATA_CHARS
) -> dict[str, Any] | None:
    """None, or a dict with string keys and JSON values (strings, finite numbers, booleans,
    None, lists and dicts of those), returned as a plain copy with its strings cleaned
    (`clean_text`); at most `max_chars` characters as JSON."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(
            f"{name} must be a dict of JSON values, got {type(metadata).__name__}"
        )
    checked: dict[str, Any] = _json_value(metadata, name, 0)
    size = len(json.dumps(checked, ensure_ascii=False))
    if size > max_chars:
        raise InvalidInputError(
            f"{name} is {size:,} characters as JSON; the limit is {max_chars:,}"
        )
    return checked


def _json_value(value: Any, path: str, depth: int) -> Any:
    if depth > MAX_METADATA_DEPTH:
        raise InvalidInputError(f"{path} is nested more than {MAX_METADATA_DEPTH} levels deep")
    if isinstance(value, str):
        return clean_text(value, path)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{path} is {value!r}: numbers must be finite")
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"{path} has a key {key!r} of type {type(key).__name__}: keys must be strings"
                )
            if has_control(key):
                raise InvalidInputError(
                    f"{path} has a key {key!r} with control characters; keys must be plain text"
                )
            out[clean_text(key, f"a key of {path}")] = _json_value(
                item, f"{path}[{key!r}]", depth + 1
            )
        return out
    if isinstance(value, list | tuple):
        return [_json_value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise InvalidInputError(
        f"{path} is a {type(value).__name__}; metadata values must be JSON: strings, numbers, "
        "booleans, None, lists or dicts (convert it, e.g. with str() or .isoformat())"
    )
