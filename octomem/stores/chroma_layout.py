"""How a memory record is laid out as Chroma metadata, and how octomem filters become
Chroma ``where`` clauses.

Each entry's metadata holds the full record JSON under ``_record`` and flat scalars for
filtering: record fields under their own names, the scalars of `metadata` and `internal`
under ``md.<h>`` and ``in.<h>`` (`flat_key`: ``h`` a keyed hash of the key - Chroma keeps
every key it has seen in the collection's schema, where a forget cannot reach, and a key
can be a user's words); ``_layout`` (`LAYOUT`: a store of
another layout is refused, never migrated) and ``_fenced`` (`octomem.stores.fence`). A
filter leaf is pushed down only where Chroma evaluates it exactly as
`octomem.filters.matches` does; `plan` returns the rest as a Python predicate.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from octomem import filters
from octomem.models import NEVER_TS, MemoryBase, as_utc, keyed_hash

_SCOPE_FIELDS = frozenset({"user_id", "agent_id", "session_id"})
_TIME_FIELDS = frozenset({"created_at", "updated_at", "valid_from", "occurred_at"})
_STR_FIELDS = frozenset(
    {"memory_type", "content_hash", "label", "event_type", "subject", "attribute"}
    | {"predicate", "object", "kind", "key", "uri", "title", "resource_type", "conflict_key"}
)
_OPS = {op: f"${op}" for op in ("eq", "ne", "in", "nin", "gt", "gte", "lt", "lte")}
_EQUALITY = frozenset({"eq", "ne", "in", "nin"})
RECORD_KEY = "_record"
LAYOUT_KEY = "_layout"
# the fencing token of the lease its write held (`octomem.stores.fence.stamp`), if any
STAMP_KEY = "_fenced"
LAYOUT = 3  # raise it when the layout changes: stores of the old one are then refused
_PREFIX = {"metadata": "md.", "internal": "in."}

Where = dict[str, Any]


def _ts(value: datetime) -> float:
    return as_utc(value).timestamp()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or (_is_number(value) and math.isfinite(value))


def _combine(op: str, clauses: list[Where]) -> Where | None:
    return (clauses[0] if len(clauses) == 1 else {op: clauses}) if clauses else None


@functools.lru_cache(maxsize=4096)
def flat_key(id_key: bytes | None, source: str, key: str) -> str:
    """The Chroma metadata key of the `metadata` (or `internal`, `source`) key `key`."""
    return _PREFIX[source] + keyed_hash(id_key, "chroma-key", key)[:32]


def entry_metadata(
    record: MemoryBase, payload: str, stamp: int | None = None, id_key: bytes | None = None
) -> dict[str, Any]:
    expires = record.expiry()
    meta: dict[str, Any] = {
        "memory_type": record.memory_type.value,
        "is_current": record.is_current,
        "expires_at": _ts(expires) if expires is not None else NEVER_TS,
        "confidence": float(record.confidence),
        "content_hash": record.content_hash,
        RECORD_KEY: payload,
        LAYOUT_KEY: LAYOUT,
    }
    if stamp is not None:
        meta[STAMP_KEY] = stamp
    for name in _SCOPE_FIELDS:
        meta[name] = getattr(record, name) or ""
    for name in _TIME_FIELDS:
        if isinstance(value := getattr(record, name, None), datetime):
            meta[name] = _ts(value)
    for name in _STR_FIELDS - meta.keys():
        if isinstance(value := getattr(record, name, None), str):
            meta[name] = value
    # metadata and internal in their JSON form, as the residual filter sees them after a
    # round trip
    data = json.loads(payload)
    for kind in _PREFIX:
        for key, value in data[kind].items():
            if _scalar(value):
                meta[flat_key(id_key, kind, key)] = value
    return meta


def _leaf_value(kind: str, value: Any) -> Any:
    """The Chroma form of one filter value for a field of `kind`, or None if there is none."""
    if kind == "scope":
        if value is None:
            return ""
        return value if isinstance(value, str) and value else None
    if kind == "time":
        dt = filters.parse_datetime(value)
        return _ts(dt) if dt is not None else None
    if kind == "number":
        return float(value) if _is_number(value) else None
    if kind == "str":
        return str(value) if isinstance(value, str) else None
    return value if _scalar(value) else None  # a metadata or internal key


def _leaf_clause(
    fields: Mapping[str, Any], id_key: bytes | None, field: str, op: str, value: Any
) -> Where | None:
    """The Chroma `where` clause for one filter leaf, or None if Chroma cannot do it exactly."""
    source, name = filters.resolve_field(field, fields)
    if source != "record":
        key, kind = flat_key(id_key, source, name), "keyed"
    elif name in _SCOPE_FIELDS:
        key, kind = name, "scope"
        if op == "exists":
            return {key: {"$ne" if value else "$eq": ""}}
    elif name in _TIME_FIELDS:
        key, kind = name, "time"
    elif name == "confidence":
        key, kind = name, "number"
    elif name in _STR_FIELDS:
        key, kind = name, "str"
    elif name == "valid_to" and value is None and op in ("eq", "ne"):
        return {"is_current": {"$eq": op == "eq"}}
    else:
        return None
    if op not in _OPS or (op not in _EQUALITY and kind in ("scope", "str")):
        return None
    if op in ("in", "nin"):
        items = [_leaf_value(kind, v) for v in value]
        if not items or any(v is None for v in items):
            return None
        if kind == "keyed":  # Chroma wants one type per list; numbers compare across
            if all(_is_number(v) for v in items):
                items = [float(v) for v in items]
            elif len({type(v) for v in items}) > 1:
                return None
        return {key: {_OPS[op]: items}}
    converted = _leaf_value(kind, value)
    if converted is None or (op not in _EQUALITY and isinstance(converted, str | bool)):
        return None
    return {key: {_OPS[op]: converted}}


def _to_where(
    node: filters.Filter, fields: Mapping[str, Any], id_key: bytes | None
) -> Where | None:
    kind, body = filters.unpack(node)
    if kind in ("AND", "OR"):
        children = [_to_where(child, fields, id_key) or {} for child in body]
        return _combine(f"${kind.lower()}", children)
    return _leaf_clause(fields, id_key, *body)


def plan(
    record_class: type[MemoryBase],
    where: filters.Filter | None,
    live_at: datetime | None,
    id_key: bytes | None = None,
) -> tuple[Where | None, Callable[[MemoryBase], bool] | None]:
    """(Chroma `where` for what Chroma evaluates exactly, residual predicate or None), for
    the entries of one memory type, whose records are `record_class`, written with the id
    key `id_key` (`flat_key`)."""
    fields = record_class.model_fields
    pushed, residual = filters.split(
        where, lambda f, op, v: _leaf_clause(fields, id_key, f, op, v) is not None
    )
    clauses: list[Where] = []
    if pushed is not None and (clause := _to_where(pushed, fields, id_key)) is not None:
        clauses.extend(clause.get("$and", [clause]))
    if live_at is not None:
        clauses.append({"is_current": {"$eq": True}})
        clauses.append({"expires_at": {"$gt": _ts(live_at)}})
    check = filters.predicate(residual) if residual is not None else None
    return _combine("$and", clauses), check


def pinned_ids(where: filters.Filter | None) -> list[str] | None:
    """The ids a filter confines its matches to (an ``{"id": {"in": [...]}}`` condition at its
    top or in its top AND), or None: a search can then ask Chroma for those entries only."""
    if not where:
        return None
    node = filters.validate(where)
    kind, body = filters.unpack(node)
    for child in body if kind == "AND" else [node] if kind == "LEAF" else []:
        child_kind, leaf = filters.unpack(child)
        if child_kind != "LEAF":
            continue
        field, op, values = leaf
        if field == "id" and op == "in" and all(isinstance(v, str) for v in values):
            return list(dict.fromkeys(values))
    return None
