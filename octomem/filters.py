"""The backend-neutral filter language used by every store and by the mem0-compatible API
(its syntax: docs/api.md, "Filters").

A field is a record field when the record's class has it, else a key of its
``metadata`` (``metadata.key`` always names one); octomem's own bookkeeping is reached
only as ``internal.key``, so a caller's plain names never match it. A missing field reads
as None: ``{"valid_to": None}`` selects current records, and ``ne``/``nin``/``NOT`` are
the exact complements of ``eq``/``in``/the filter they negate. Datetimes compare as UTC;
booleans never equal or compare with numbers.

`validate` returns a normalised filter (one key per dict, negations pushed down to the
leaves); `split` divides one into the part a backend can evaluate and a residual that
`matches` evaluates in Python, so every backend returns the same records.
`document_predicate` reads LangGraph's store syntax into the same leaves.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from octomem.errors import InvalidInputError
from octomem.models import MemoryBase, as_utc
from octomem.validation import (
    MAX_INT,
    MAX_VALUE_CHARS,
    check_json,
    clean_text,
    has_control,
    id_control,
    shown,
)

Filter = dict[str, Any]

OPERATORS = ("eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains", "icontains", "exists")
LOGICAL = ("AND", "OR", "NOT")
_RANGE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
_NEGATION = {"eq": "ne", "ne": "eq", "in": "nin", "nin": "in"}
_METADATA_PREFIX = "metadata."
_INTERNAL_PREFIX = "internal."
MATCH_ALL: Filter = {"AND": []}
MAX_DEPTH = 16  # nesting of AND/OR/NOT: deep enough for any real query, far from recursion
MAX_NODES = 1_000  # fields and logical nodes in one filter
# Ids are stored as given (`validation.validate_scope_id`), so a filter compares them as
# given: cleaned like text ("b\u200bob" -> "bob", NFD -> NFC) they would name another
# owner, and a read for one user would return another's records.
_LITERAL_FIELDS = frozenset({"id", "user_id", "agent_id", "session_id"})
# a record's own times: a value that is not a time would compare as text, matching nothing
_DATE_FIELDS = frozenset({"created_at", "updated_at", "valid_from", "valid_to", "occurred_at"})

__all__ = [
    "LOGICAL",
    "MATCH_ALL",
    "OPERATORS",
    "Filter",
    "document_predicate",
    "field_value",
    "matches",
    "parse_datetime",
    "predicate",
    "resolve_field",
    "split",
    "unpack",
    "validate",
]


# --- validation / normalisation ------------------------------------------------------


def _logical(key: str) -> str | None:
    """'AND' for AND / $and / $AND; None for anything else (a field name)."""
    if key.startswith("$") or key.isupper():
        name = key.lstrip("$").upper()
        if name in LOGICAL:
            return name
        if key.startswith("$"):
            raise InvalidInputError(
                f"unknown logical operator {key!r} in filter; use one of AND, OR, NOT "
                "(or $and, $or, $not)"
            )
    return None


def _op_name(key: Any, field: str) -> str:
    name = key.lstrip("$").lower() if isinstance(key, str) else ""
    if name not in OPERATORS:
        raise InvalidInputError(
            f"unknown operator {shown(key)} for field {field!r}; use one of {', '.join(OPERATORS)} "
            "(to compare with a dict value write {'eq': {...}})"
        )
    return name


def _operand(field: str, value: Any) -> Any:
    """A comparison value: JSON (strings without control characters; see
    `validation.check_json`), a datetime, or a list of those."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, list | tuple) and any(isinstance(item, datetime) for item in value):
        return [_operand(field, item) for item in value]  # one level: items are not lists
    if field in _LITERAL_FIELDS and _plain_ids(value):
        return list(value)  # what the checks below return for it, without their copies
    try:
        checked = check_json(value, name=f"the value for field {field!r}")
    except InvalidInputError as exc:
        raise InvalidInputError(f"filter: {exc}") from None
    if field in _LITERAL_FIELDS:
        return _literal(field, value, checked)
    return checked


def _plain_ids(value: Any) -> bool:
    """A list of printable ASCII strings within `check_json`'s size: it passes that check and
    `_literal`'s unchanged (a recall among a store's items names hundreds of ids, and its
    filter is validated several times)."""
    return (
        isinstance(value, list | tuple)
        and all(isinstance(item, str) and item.isascii() and item.isprintable() for item in value)
        and len(json.dumps(list(value))) <= MAX_VALUE_CHARS
    )


def _literal(field: str, value: Any, checked: Any) -> Any:
    """An id field's operand as given: its strings are not cleaned (`_LITERAL_FIELDS`).
    A filter only selects, so it may name any id that can be stored (`id_control`)."""
    given = list(value) if isinstance(value, list | tuple) else [value]
    if not all(isinstance(item, str) or item is None for item in given):
        return checked
    if any(isinstance(item, str) and id_control(item, existing=True) for item in given):
        raise InvalidInputError(
            f"filter: the value for field {field!r} contains a control character"
        )
    return given if isinstance(value, list | tuple) else value


def _check_value(field: str, op: str, value: Any) -> Any:
    if op in ("in", "nin"):
        if not isinstance(value, list | tuple | set | frozenset):
            raise InvalidInputError(
                f"operator {op!r} on field {field!r} needs a list of values, got {shown(value)}"
            )
        values = _operand(field, list(value))
        for item in values:
            _check_time(field, item)
        return values
    value = _operand(field, value)
    if op in _RANGE and (
        isinstance(value, bool) or not isinstance(value, int | float | str | datetime)
    ):
        raise InvalidInputError(
            f"operator {op!r} on field {field!r} needs a number, string or datetime, "
            f"got {shown(value)}"
        )
    if op != "exists":
        _check_time(field, value)
    if op == "contains" and value is None:
        raise InvalidInputError(f"operator 'contains' on field {field!r} needs a value")
    if op == "icontains" and not isinstance(value, str):
        raise InvalidInputError(f"operator 'icontains' on field {field!r} needs a string")
    if op == "exists" and not isinstance(value, bool):
        raise InvalidInputError(f"operator 'exists' on field {field!r} needs true or false")
    return value


def _join(kind: str, nodes: list[Filter]) -> Filter:
    flat: list[Filter] = []
    for node in nodes:
        flat.extend(node.get(kind, [node]))
    return flat[0] if len(flat) == 1 else {kind: flat}


def _negate(node: Filter) -> Filter:
    kind, body = unpack(node)
    if kind == "AND":
        return _join("OR", [_negate(child) for child in body]) if body else {"OR": []}
    if kind == "OR":
        return _join("AND", [_negate(child) for child in body])
    if kind == "NOT":
        return body
    field, op, value = body
    if op in _NEGATION:
        return {field: {_NEGATION[op]: value}}
    if op == "exists":
        return {field: {"exists": not value}}
    return {"NOT": node}


def _normalize(
    raw: Any, path: str, budget: list[int], depth: int = 0, *, aliases: Mapping[str, str]
) -> Filter:
    if isinstance(raw, _Normal) and not aliases:
        budget[0] -= raw.nodes
        if budget[0] < 0:
            raise InvalidInputError(f"the filter has more than {MAX_NODES} conditions")
        return raw
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"a filter must be a dict, got {shown(raw)} at {path}")
    if depth > MAX_DEPTH:
        raise InvalidInputError(f"the filter is nested more than {MAX_DEPTH} levels deep")
    budget[0] -= len(raw)
    if budget[0] < 0:
        raise InvalidInputError(f"the filter has more than {MAX_NODES} conditions")
    parts: list[Filter] = []
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 256:
            raise InvalidInputError(
                f"filter keys must be non-empty strings of at most 256 characters, got {shown(key)}"
            )
        if has_control(key):
            raise InvalidInputError(f"filter key {key!r} contains control characters")
        key = clean_text(key, "a filter key")
        logical = _logical(key)
        if logical == "NOT" and isinstance(value, list | tuple):  # mem0's: none of them
            children = [
                _normalize(item, f"{path}.{key}[{i}]", budget, depth + 1, aliases=aliases)
                for i, item in enumerate(value)
            ]
            parts.append(_negate(_join("OR", children)))
        elif logical == "NOT":
            child = _normalize(value, f"{path}.{key}", budget, depth + 1, aliases=aliases)
            parts.append(_negate(child))
        elif logical is not None:
            if not isinstance(value, list | tuple):
                raise InvalidInputError(f"{key!r} needs a list of filters, got {shown(value)}")
            children = [
                _normalize(v, f"{path}.{key}[{i}]", budget, depth + 1, aliases=aliases)
                for i, v in enumerate(value)
            ]
            if logical == "AND":
                parts.append(_join("AND", children) if children else dict(MATCH_ALL))
            else:
                parts.append(_join("OR", children) if children else {"OR": []})
        elif key in ("metadata", "internal") and isinstance(value, Mapping) and value:
            nested = {f"{key}.{k}": v for k, v in value.items()}
            parts.append(_normalize(nested, path, budget, depth + 1, aliases={}))
        else:
            parts.extend(_leaves(aliases.get(key, key), value))
    if not parts:
        return dict(MATCH_ALL)
    return _join("AND", parts)


def _check_time(field: str, value: Any) -> None:
    """InvalidInputError unless a value compared with a field of times is one (or None)."""
    if field in _DATE_FIELDS and value is not None and parse_datetime(value) is None:
        raise InvalidInputError(
            f"filter: field {field!r} holds times; compare it with an ISO 8601 date or "
            f"time (2026-01-31, 2026-01-31T09:00:00Z), got {shown(value)}"
        )


def _leaves(field: str, value: Any) -> list[Filter]:
    if isinstance(value, Mapping):
        if not value:
            raise InvalidInputError(f"empty operator dict for field {field!r}")
        return [
            {field: {(op := _op_name(k, field)): _check_value(field, op, v)}}
            for k, v in value.items()
        ]
    if isinstance(value, str) and value == "*":
        return [{field: {"exists": True}}]
    return [{field: {"eq": _check_value(field, "eq", value)}}]


def validate(
    filter: Mapping[str, Any] | None, *, aliases: Mapping[str, str] | None = None
) -> Filter:
    """Check a filter and return its normalised form; raise InvalidInputError if it is bad.

    The normalised form is itself a valid filter: each dict has one key, which is AND, OR,
    NOT (only around a leaf that has no exact negation) or a field with one operator.
    `aliases`: field names that are read as others (mem0's ``run_id`` is ``session_id``),
    renamed before their values are checked, so that they are checked as those fields'.
    """
    if filter is None:
        return dict(MATCH_ALL)
    return _Normal(_normalize(filter, "filter", [MAX_NODES], aliases=aliases or {}))


class _Normal(dict[str, Any]):
    """A normalised filter (`validate`'s), with its count of conditions: validated again,
    alone or inside another, it is taken as it is. A recall validates its filter in each
    step, and one among a store's items names hundreds of ids."""

    def __init__(self, node: Filter) -> None:
        super().__init__(node)
        self.nodes = _count(node)


def _count(node: Filter) -> int:
    """The conditions of a normalised node as `_normalize` counts them (a key each)."""
    kind, body = unpack(node)
    if kind in ("AND", "OR"):
        return 1 + sum(_count(child) for child in body)
    return 1 + _count(body) if kind == "NOT" else 1


def unpack(node: Filter) -> tuple[str, Any]:
    """Take apart a normalised node: ("AND" | "OR", children), ("NOT", child) or
    ("LEAF", (field, op, value))."""
    ((key, value),) = node.items()
    if key in LOGICAL:
        return key, value
    ((op, operand),) = value.items()
    return "LEAF", (key, op, operand)


# --- evaluation ----------------------------------------------------------------------


# Record fields that hold structures, not values: their names stay free for metadata keys
# (mem0 users filter on metadata such as {"source": "chat"}).
_STRUCTURED_FIELDS = frozenset({"metadata", "internal", "source"})
FieldKind = Literal["record", "metadata", "internal"]


def resolve_field(field: str, record_fields: Iterable[str]) -> tuple[FieldKind, str]:
    """(kind, name): a key of `internal` when the field says so (``internal.key``), else a
    record field of that class, else a key of `metadata`."""
    if field.startswith(_INTERNAL_PREFIX):
        return "internal", field[len(_INTERNAL_PREFIX) :]
    if field.startswith(_METADATA_PREFIX):
        return "metadata", field[len(_METADATA_PREFIX) :]
    if field not in _STRUCTURED_FIELDS and field in record_fields:
        return "record", field
    return "metadata", field


def field_value(record: MemoryBase, field: str) -> Any:
    return _record_reader(field)(record)


def parse_datetime(value: Any) -> datetime | None:
    """A UTC datetime from a datetime or an ISO-8601 string; None if it is neither."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, datetime) or isinstance(b, datetime):
        return parse_datetime(a), parse_datetime(b)
    return a, b


def _eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    a, b = _coerce(a, b)
    if a is None or b is None:
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _compare(a: Any, b: Any, op: str) -> bool:
    if a is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    a, b = _coerce(a, b)
    if a is None or b is None:
        return False
    try:
        return bool(_RANGE[op](a, b))
    except TypeError:
        return False


def _contains(haystack: Any, needle: Any, fold: bool) -> bool:
    if isinstance(haystack, str):
        if not isinstance(needle, str):
            return False
        return needle.casefold() in haystack.casefold() if fold else needle in haystack
    if isinstance(haystack, list | tuple | set | frozenset):
        if fold:
            return any(isinstance(x, str) and x.casefold() == needle.casefold() for x in haystack)
        return any(_eq(x, needle) for x in haystack)
    return False


def _leaf(actual: Any, op: str, value: Any) -> bool:
    if op == "eq":
        return _eq(actual, value)
    if op == "ne":
        return not _eq(actual, value)
    if op in ("in", "nin"):
        found = _member(actual, value)
        return found if op == "in" else not found
    if op in _RANGE:
        return _compare(actual, value, op)
    if op == "exists":
        return (actual is not None) == value
    return _contains(actual, value, fold=op == "icontains")


class _Members(list[Any]):
    """The operand of an ``in`` / ``nin`` leaf with its strings in a set: a string is among
    them exactly when it equals one of those strings or (`_eq`) one of the other values."""

    def __init__(self, values: Iterable[Any]) -> None:
        super().__init__(values)
        self.strings = frozenset(v for v in self if isinstance(v, str))
        self.others = [v for v in self if not isinstance(v, str)]


def _member(actual: Any, values: Sequence[Any]) -> bool:
    if isinstance(values, _Members) and isinstance(actual, str):
        return actual in values.strings or any(_eq(actual, v) for v in values.others)
    return any(_eq(actual, v) for v in values)


def _with_members(node: Filter) -> Filter:
    """`node` with the operand of every ``in`` / ``nin`` leaf a `_Members` (a record is then
    tested in time independent of the number of strings it lists, e.g. of ids)."""
    kind, body = unpack(node)
    if kind in ("AND", "OR"):
        return {kind: [_with_members(child) for child in body]}
    if kind == "NOT":
        return {kind: _with_members(body)}
    field, op, value = body
    if op in ("in", "nin") and isinstance(value, list | tuple):
        return {field: {op: _Members(value)}}
    return node


Test = Callable[[Any], bool]


def _compiled(node: Filter, reader: Callable[[str], Callable[[Any], Any]]) -> Test:
    """A normalised node as a test of one value (a record, a document), built once for
    many: `reader(field)` gives what reads that field's value from it (_UNREACHABLE: the
    leaf is false whatever its operator)."""
    kind, body = unpack(node)
    if kind in ("AND", "OR"):
        tests = [_compiled(child, reader) for child in body]
        if kind == "AND":
            return lambda item: all(test(item) for test in tests)
        return lambda item: any(test(item) for test in tests)
    if kind == "NOT":
        inner = _compiled(body, reader)
        return lambda item: not inner(item)
    field, op, value = body
    read = reader(field)
    if op == "eq" and isinstance(value, str):  # the common leaf: `_eq` of two strings

        def equal(item: Any) -> bool:
            actual = read(item)
            return actual == value if type(actual) is str else _leaf(actual, op, value)

        return equal
    return lambda item: (actual := read(item)) is not _UNREACHABLE and _leaf(actual, op, value)


def _record_reader(field: str) -> Callable[[MemoryBase], Any]:
    """What reads `field` of a record, resolved once per record class (`field_value`)."""
    resolved: dict[type[MemoryBase], tuple[FieldKind, str]] = {}

    def read(record: MemoryBase) -> Any:
        cls = type(record)
        if (found := resolved.get(cls)) is None:
            found = resolved[cls] = resolve_field(field, cls.model_fields)
        kind, name = found
        if kind == "record":
            return getattr(record, name, None)
        return (record.internal if kind == "internal" else record.metadata).get(name)

    return read


def predicate(filter: Mapping[str, Any] | None) -> Callable[[MemoryBase], bool]:
    """Validate once, then test many records."""
    return _compiled(_with_members(validate(filter)), _record_reader)


def matches(filter: Mapping[str, Any] | None, record: MemoryBase) -> bool:
    """True when `record` satisfies `filter` (None or {} match everything)."""
    return predicate(filter)(record)


# --- JSON documents (LangGraph store values) -------------------------------------------

_UNREACHABLE = object()  # a path through something that is not a dict (or list, by index)
_DOCUMENT_OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


def _at_path(document: Any, path: list[str | int]) -> Any:
    """The value at `path` (dict keys and list indexes); a missing key of a dict is None."""
    for step in path:
        if isinstance(step, str) and isinstance(document, Mapping):
            document = document.get(step)
        elif isinstance(step, int) and isinstance(document, list | tuple):
            document = document[step] if step < len(document) else _UNREACHABLE
        else:
            return _UNREACHABLE
    return document


def _readable(path: list[str | int]) -> Filter:
    """True when a value (None too) can be read at `path`."""
    field = json.dumps(path)
    return {"OR": [{field: {"exists": True}}, {field: {"exists": False}}]}


def _document_nodes(path: list[str | int], expected: Any, depth: int) -> list[Filter]:
    if depth > MAX_DEPTH:
        raise InvalidInputError(f"the filter is nested more than {MAX_DEPTH} levels deep")
    field = json.dumps(path)
    if isinstance(expected, Mapping):
        for key in expected:
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"the filter has a key {shown(key)} at {path!r}: keys must be strings"
                )
    if isinstance(expected, Mapping) and any(k.startswith("$") for k in expected):
        for op in expected:
            if op not in _DOCUMENT_OPERATORS:
                raise InvalidInputError(
                    f"unknown operator {shown(op)} for key {path[-1]!r}; use one of "
                    f"{', '.join(_DOCUMENT_OPERATORS)}"
                )
        # a bound no store could hold (inf, -inf, nan, an integer past 2**53) compares
        # in Python as LangGraph's InMemoryStore compares it: documents are read here
        wide = {op: v for op, v in expected.items() if _beyond_json(v)}
        rest = {op: v for op, v in expected.items() if op not in wide}
        nodes = [{field: {_op_name(op, field): v}} for op, v in wide.items()]
        return (_leaves(field, rest) if rest else []) + nodes
    if isinstance(expected, Mapping):  # a dict, holding at least these keys
        nodes = [
            node
            for key, value in expected.items()
            for node in _document_nodes([*path, key], value, depth + 1)
        ]
        return nodes or [_readable([*path, ""])]  # any key can be read from a dict
    if isinstance(expected, list | tuple):  # a list of this length, item by item
        nodes = [
            node
            for index, value in enumerate(expected)
            for node in _document_nodes([*path, index], value, depth + 1)
        ]
        if not nodes:
            return [{field: {"eq": []}}]
        return [*nodes, {"NOT": _readable([*path, len(expected)])}]  # none past the last
    return [{field: {"eq": _operand(str(path[-1]), expected)}}]


def _beyond_json(value: Any) -> bool:
    """A number the record filters refuse (`check_json`: not finite, or an integer past
    `MAX_INT`) but a document filter compares."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return not -MAX_INT <= value <= MAX_INT
    return False


def document_predicate(filter: Mapping[str, Any] | None) -> Callable[[Any], bool]:
    """A test of JSON documents (dicts) against a filter in LangGraph's store syntax.

    ``{"key": value}`` - the document's key equals value; a dict of operators
    (``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``) compares it; any other dict
    matches a dict holding at least those keys (nested to any depth); a list matches a
    list of the same length item by item. Several keys are ANDed. Values compare as in
    every octomem filter.
    """
    if filter is None:
        return lambda document: True
    if not isinstance(filter, Mapping):
        raise InvalidInputError(f"a filter must be a dict, got {shown(filter)}")
    for key in filter:
        if not isinstance(key, str):
            raise InvalidInputError(f"the filter has a key {shown(key)}: keys must be strings")
    nodes = [n for key, v in filter.items() for n in _document_nodes([key], v, 1)]
    if len(nodes) > MAX_NODES:
        raise InvalidInputError(f"the filter has more than {MAX_NODES} conditions")
    node = _join("AND", nodes) if nodes else dict(MATCH_ALL)

    def reader(field: str) -> Callable[[Any], Any]:
        path = json.loads(field)
        return lambda document: _at_path(document, path)

    return _compiled(node, reader)


# --- push-down -----------------------------------------------------------------------


def split(
    filter: Mapping[str, Any] | None, can_push: Callable[[str, str, Any], bool]
) -> tuple[Filter | None, Filter | None]:
    """Divide a filter into (pushed, residual) so that filter == pushed AND residual.

    `can_push(field, op, value)` says whether a backend evaluates one leaf exactly as
    `matches` would. An AND is divided child by child; an OR goes down whole only if
    every leaf under it can; a remaining NOT stays in the residual. None means "nothing".
    """
    node = validate(filter)

    def pushable(n: Filter) -> bool:
        kind, body = unpack(n)
        if kind in ("AND", "OR"):  # an empty AND/OR (true/false) has no backend form
            return bool(body) and all(pushable(child) for child in body)
        return kind == "LEAF" and can_push(*body)

    kind, body = unpack(node)
    children = body if kind == "AND" else [node]
    pushed = [child for child in children if pushable(child)]
    rest = [child for child in children if not pushable(child)]
    return (
        _Normal(_join("AND", pushed)) if pushed else None,
        _Normal(_join("AND", rest)) if rest else None,
    )
