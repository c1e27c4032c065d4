"""Checks of values that come from callers: the one layer every entry point uses.

Each raises `InvalidInputError` with a message that says what to pass instead. What they
bound, for every surface alike:

- nesting: a caller's JSON value at most `MAX_DEPTH` levels deep; JSON text octomem
  parses at most `MAX_PARSE_DEPTH` brackets deep, checked before the parser recurses;
- size: a stored value at most `input.max_message_chars` characters as JSON;
- integers: between -`MAX_INT` and `MAX_INT` (2**53 - 1), the integers every JSON reader
  and Chroma, which compares numbers as doubles, hold exactly; Python's limit on
  converting longer integers to text (4,300 digits) is never reached;
- text: valid Unicode, control characters (bidi embeddings, overrides and isolates too)
  removed (`clean_text`), or refused in ids.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from octomem.errors import InvalidInputError
from octomem.models import as_utc
from octomem.sensitive import mask_text

if TYPE_CHECKING:
    from pydantic import ValidationError

MAX_SCOPE_ID_CHARS = 256
# accepted timestamps: wide, yet far enough from datetime's limits that date arithmetic
# ("today", "in two years", a working memory's expiry) never overflows
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)
MAX_DEPTH = 16  # levels of a caller's JSON value below its root
MAX_PARSE_DEPTH = 64  # brackets of JSON text: records wrap values; far below recursion
MAX_VALUE_CHARS = 100_000  # of a stored value's JSON: input.max_message_chars's default
MAX_INT = 2**53 - 1
_MAX_DIGITS = 100  # integers in JSON text longer than this are refused while parsing
# control characters other than tab and newline (C0, DEL, C1): they carry no meaning in
# text people say, break terminals and tokenizers, and NUL ends strings in C libraries.
# With them the explicit bidi controls - embeddings, overrides and isolates (LRE RLE PDF
# LRO RLO, LRI RLI FSI PDI): they make text display as other text ("Trojan Source": a
# memory reads otherwise in the inspector, the CLI and the prompts built from it). The
# marks LRM, RLM and ALM stay: each acts as one strong letter, reorders nothing around
# it, and right-to-left text needs them to place its digits and punctuation.
# Text drops them all; ids, which must round-trip exactly, reject them.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_C0_C1 = "\x00-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_ANY_CONTROL = re.compile(f"[{_C0_C1}{_BIDI}]")
# what no stored id holds: ids refused C0 and C1 from the start, the bidi controls only
# later, so a read or an erasure may name an id stored with one (`id_control`)
_STORED_ID_CONTROL = re.compile(f"[{_C0_C1}]")
# invisible, and meaningless in text people say (unlike the zero-width (non-)joiners, which
# shape emoji and some scripts): dropped, so that text that looks the same is the same
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")


# --- error messages ------------------------------------------------------------------


class _Short(reprlib.Repr):
    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 3, 60, 60, 40

    def repr_str(self, x: str, level: int) -> str:
        # a value cut short loses its middle, and with it what masking the message that
        # quotes it would find (a long key's shape, the cue before a password): its tail
        # would be shown in the clear, so it is cut from its masked form
        if len(repr(x[: self.maxstring])) > self.maxstring:
            x = mask_text(x)
        return super().repr_str(x, level)

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:  # repr() of an int over 4,300 digits raises ValueError
            return f"<an integer of about {int(x.bit_length() * math.log10(2)) + 1:,} digits>"
        return super().repr_int(x, level)


_SHORT = _Short()


def shown(value: Any) -> str:
    """A short rendering of a caller's value for an error message. Never raises: not on
    a huge integer, a deeply nested or self-containing list, or a broken __repr__."""
    try:
        return _SHORT.repr(value)
    except Exception:  # noqa: BLE001 - whatever the value does, the message must be made
        return f"<a {type(value).__name__}>"


def _escaped(value: str) -> str:
    """`shown(value)` with every character outside ASCII escaped: keys that differ only
    in a combining mark or an invisible character look different."""
    return shown(value).encode("ascii", "backslashreplace").decode("ascii")


def printable(value: str) -> str:
    """`value` with every control character shown as its escape (``\\x1b``): a name a
    file's author gave, shown on a terminal or kept as an id, which refuses them."""
    return _ANY_CONTROL.sub(lambda found: repr(found.group())[1:-1], value)


def check_int(value: int, what: str) -> int:
    """`value` if it lies between -MAX_INT and MAX_INT, else InvalidInputError."""
    if not -MAX_INT <= value <= MAX_INT:
        raise InvalidInputError(
            f"{what} is {shown(value)}, out of range: integers must lie between "
            f"-{MAX_INT:,} and {MAX_INT:,} (2**53 - 1), which every store and JSON reader "
            "holds exactly; pass a larger number as a string"
        )
    return value


# --- scope ids, timestamps, text -------------------------------------------------------


def id_control(value: str, *, existing: bool = False) -> re.Match[str] | None:
    """The first control character `value` holds that an id may not, if any. With
    `existing` the id names what may already be stored - a read, a delete, a forget -
    and only C0 and C1 are refused: an id stored with a bidi control before ids refused
    them stays readable and erasable, while nothing new is stored under it."""
    return (_STORED_ID_CONTROL if existing else _ANY_CONTROL).search(value)


def validate_scope_id(name: str, value: Any, *, existing: bool = False) -> str | None:
    """Check a scope id (user_id, agent_id, session_id): None, or a short printable string
    (`existing`: one a read or an erasure names, see `id_control`)."""
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
    if control := id_control(value, existing=existing):
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
    """`value` as valid Unicode text in composed form (NFC), without control characters
    (other than tab and newline; bidi embeddings, overrides and isolates too: `_CONTROL`)
    or invisible ones (`_INVISIBLE`); carriage returns become newlines. InvalidInputError
    on a lone surrogate."""
    check_encodable(value, what)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", _CONTROL.sub("", value)))


def has_control(value: str) -> bool:
    """Whether `value` holds a control character `clean_text` would remove."""
    return _CONTROL.search(value) is not None


def check_name(value: Any, what: str, *, limit: int, existing: bool = False) -> str:
    """An identifier a caller chose (a LangGraph namespace label or key): a string of at
    most `limit` characters, valid Unicode without control characters - it is stored and
    compared exactly, so nothing is removed from it. `existing`: the name of what may be
    stored already - a read, a delete - which, like an id, may hold a bidi control
    (`id_control`)."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInputError(f"{what} is {len(value):,} characters; the limit is {limit:,}")
    if control := id_control(value, existing=existing):
        raise InvalidInputError(
            f"{what} contains a control character {control.group()!r} at position {control.start()}"
        )
    check_encodable(value, what)
    return value


# --- JSON values -----------------------------------------------------------------------


def check_metadata(
    metadata: Any, *, name: str = "metadata", max_chars: int = MAX_VALUE_CHARS
) -> dict[str, Any] | None:
    """None, or a dict of JSON values checked by `check_json`, returned as a cleaned copy."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(
            f"{name} must be a dict of JSON values, got {type(metadata).__name__}"
        )
    checked: dict[str, Any] = check_json(metadata, name=name, max_chars=max_chars)
    return checked


def check_json(
    value: Any,
    *,
    name: str,
    max_chars: int = MAX_VALUE_CHARS,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """A JSON value at most `max_depth` levels deep and `max_chars` characters as JSON,
    returned as a plain copy with its strings cleaned (`clean_text`). The walk stops as
    soon as the value is known to be too large."""
    checked = _Walk(name, max_chars, max_depth).value(value, name, 0)
    size = len(json.dumps(checked, ensure_ascii=False))
    if size > max_chars:
        raise InvalidInputError(
            f"{name} is {size:,} characters as JSON; the limit is {max_chars:,}"
        )
    return checked


class _Walk:
    """One check of a JSON value: its limits, and the characters left to spend (a lower
    bound of each part's JSON size, so a value over the limit is refused before it has
    all been walked)."""

    def __init__(self, name: str, max_chars: int, max_depth: int) -> None:
        self.name, self.max_chars, self.max_depth = name, max_chars, max_depth
        self.left = max_chars

    def spend(self, chars: int) -> None:
        self.left -= chars
        if self.left < 0:
            raise InvalidInputError(
                f"{self.name} is more than {self.max_chars:,} characters as JSON; the limit "
                f"is {self.max_chars:,}"
            )

    def value(self, value: Any, path: str, depth: int) -> Any:
        if depth > self.max_depth:
            raise InvalidInputError(f"{path} is nested more than {self.max_depth} levels deep")
        if isinstance(value, str):
            self.spend(len(value) + 2)
            return clean_text(value, path)
        self.spend(1)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return check_int(value, path)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInputError(f"{path} is {value!r}: numbers must be finite")
            return value
        if isinstance(value, Mapping):
            checked: dict[str, Any] = {}
            given: dict[str, Any] = {}  # each cleaned key: the key it was given as
            for key, item in value.items():
                clean = self.key(key, path)
                if clean in given:  # "café" twice (composed, decomposed), "a" and "a\u200b"
                    raise InvalidInputError(
                        f"{path} has the keys {_escaped(given[clean])} and {_escaped(key)}, "
                        f"which are one key, {_escaped(clean)}, once normalized (NFC, "
                        "invisible characters removed): one value would replace the other"
                    )
                given[clean] = key
                checked[clean] = self.value(item, f"{path}[{key!r}]", depth + 1)
            return checked
        if isinstance(value, list | tuple):
            return [self.value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        raise InvalidInputError(
            f"{path} is a {type(value).__name__}; values must be JSON: strings, numbers, "
            "booleans, None, lists or dicts (convert it, e.g. with str() or .isoformat())"
        )

    def key(self, key: Any, path: str) -> str:
        if not isinstance(key, str):
            raise InvalidInputError(
                f"{path} has a key {shown(key)} of type {type(key).__name__}: keys must be strings"
            )
        self.spend(len(key) + 3)
        if has_control(key):
            raise InvalidInputError(
                f"{path} has a key {key!r} with control characters; keys must be plain text"
            )
        return clean_text(key, f"a key of {path}")


# --- JSON text -------------------------------------------------------------------------

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str, *, at_most: int | None = None) -> int:
    """How deeply the brackets of JSON text nest (outside its strings), found without
    recursion. With `at_most`: any depth up to it may be returned as soon as the depth is
    known not to exceed it (counting brackets in strings too is then enough)."""
    if at_most is not None:
        upper = _depth(_NOT_BRACKET.sub("", text))  # brackets in strings too: a bound
        if upper <= at_most:
            return upper
    return _depth(_NOT_BRACKET.sub("", _STRING.sub("", text)))


def _depth(brackets: str) -> int:
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_DIGITS:
        raise InvalidInputError(
            f"it holds an integer of {len(digits.lstrip('-')):,} digits; integers must lie "
            f"between -{MAX_INT:,} and {MAX_INT:,} (pass a larger number as a string)"
        )
    return int(digits)


_DECODER = json.JSONDecoder(parse_int=_parse_int)


def parse_json(text: str, what: str, *, max_depth: int = MAX_PARSE_DEPTH) -> Any:
    """`text` parsed as JSON, or InvalidInputError naming `what`: not JSON, nested more
    than `max_depth` brackets deep (checked before the parser recurses), or holding an
    integer too long to be one octomem stores. Its values are checked by their users."""
    depth = json_depth(text, at_most=max_depth)
    if depth > max_depth:
        raise InvalidInputError(f"{what} is nested {depth:,} levels deep; the limit is {max_depth}")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{what} is not JSON: {exc}") from exc
    except InvalidInputError as exc:
        raise InvalidInputError(f"{what}: {exc}") from None


def invalid_arguments(exc: ValidationError) -> str:
    """What is wrong with a tool call's arguments: each error's place and message, without
    the input, masked (a validator's message may quote a value)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    found = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
        for error in errors
    )
    return mask_text(f"invalid arguments: {found}")
