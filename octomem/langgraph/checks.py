"""The checks of what a caller gives an `OctomemStore`, before anything is read or written:
an `InvalidInputError` saying what to pass (`InvalidNamespace`, LangGraph's
`InvalidNamespaceError` too, for a namespace). Values go through octomem's one layer for
caller JSON (`octomem.validation.check_json`), at most `input.max_message_chars` as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    SearchOp,
)

from octomem.errors import InvalidInputError
from octomem.orchestrator.arguments import check_limit
from octomem.validation import (
    MAX_DEPTH,
    MAX_INT,
    MAX_SCOPE_ID_CHARS,
    check_encodable,
    check_json,
    check_name,
    shown,
)

MAX_LABELS = MAX_DEPTH  # labels of a namespace
MAX_KEY_CHARS = 1_000
MAX_INDEX_PATHS = 100


class InvalidNamespace(InvalidInputError, InvalidNamespaceError):
    """A namespace the store cannot take: octomem's InvalidInputError and, for code
    written against LangGraph's stores, its InvalidNamespaceError."""


def namespace(
    value: Any, what: str = "namespace", *, put: bool = False, existing: bool = False
) -> tuple[str, ...]:
    """A namespace (or prefix, or suffix) as a tuple of labels; InvalidNamespace if it is
    not a tuple (or list) of non-empty strings without '.', control characters or more
    than 256 characters each. A put's namespace must have a label and not start with
    "langgraph" (LangGraph's rules). `existing`: the namespace of a read or a delete, which
    may name one put before labels refused the bidi controls (`check_name`); a label is a
    scope id too (`NamespaceScope`), and ids have the same rule."""
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise InvalidNamespace(
            f"{what} must be a tuple of strings, e.g. ('memories', 'alice'); got {shown(value)}"
        )
    if len(value) > MAX_LABELS:
        raise InvalidNamespace(f"{what} has {len(value)} labels; the limit is {MAX_LABELS}")
    for label in value:
        try:
            check_name(
                label, f"{what} label {shown(label)}", limit=MAX_SCOPE_ID_CHARS, existing=existing
            )
        except InvalidInputError as exc:
            raise InvalidNamespace(str(exc)) from None
        if not label or "." in label:
            raise InvalidNamespace(
                f"{what} label {label!r} is empty or holds a period ('.'), which LangGraph "
                "namespaces cannot"
            )
    if put and not value:
        raise InvalidNamespace("a put needs a namespace with at least one label")
    if put and value[0] == "langgraph":
        raise InvalidNamespace(f'a namespace cannot start with "langgraph"; got {value!r}')
    return tuple(value)


def key(value: Any, *, existing: bool = False) -> str:
    """An item's key: a string of at most 1,000 characters without control characters
    (`existing`: as `namespace`'s)."""
    return check_name(value, "key", limit=MAX_KEY_CHARS, existing=existing)


def _index(value: Any) -> Any:
    if value is None or value is False:
        return value
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInputError(
            f"index must be None, False or a list of field paths such as ['content'], "
            f"got {shown(value)}"
        )
    if len(value) > MAX_INDEX_PATHS:
        raise InvalidInputError(f"index has {len(value)} paths; the limit is {MAX_INDEX_PATHS}")
    return [check_name(path, "an index path", limit=MAX_KEY_CHARS) for path in value]


def _put(op: PutOp, max_value_chars: int) -> PutOp:
    # a batch may put under a root "langgraph", as in LangGraph's stores: `put` may not;
    # a delete (no value) may name an item put before the bidi controls were refused
    deletes = op.value is None
    ns, item_key = namespace(op.namespace, existing=deletes), key(op.key, existing=deletes)
    if op.value is None:
        return op._replace(namespace=ns)
    if not isinstance(op.value, Mapping):
        raise InvalidInputError(
            f"the value put at {ns!r}, key {item_key!r} must be a dict of JSON values, got "
            f"{type(op.value).__name__}"
        )
    try:
        value = check_json(op.value, name="value", max_chars=max_value_chars)
    except InvalidInputError as exc:
        raise InvalidInputError(f"the value put at {ns!r}, key {item_key!r}: {exc}") from None
    return op._replace(namespace=ns, value=value, index=_index(op.index))


def _match(condition: Any) -> MatchCondition:
    if not isinstance(condition, MatchCondition) or condition.match_type not in (
        "prefix",
        "suffix",
    ):
        raise InvalidInputError(
            f"a namespace condition must be a MatchCondition of match_type 'prefix' or "
            f"'suffix', got {shown(condition)}"
        )
    path = namespace(condition.path, f"a {condition.match_type}", existing=True)
    return condition._replace(path=path)


def _search(op: SearchOp, max_query_chars: int) -> SearchOp:
    # checked as recall checks its query, before the batch embeds it: the embedder's
    # tokenizer fails on a lone surrogate with a TypeError, and a `ranking="vector"` search
    # (which recall never sees) would embed a query of any length; a blank one is scored
    if op.query is not None and not isinstance(op.query, str):
        raise InvalidInputError(f"query must be a string or None, got {shown(op.query)}")
    if op.query is not None:
        if len(op.query) > max_query_chars:
            raise InvalidInputError(
                f"query is {len(op.query):,} characters; the limit is {max_query_chars:,} "
                "(input.max_message_chars)"
            )
        check_encodable(op.query, "query")
    if op.filter is not None and not isinstance(op.filter, Mapping):
        raise InvalidInputError(f"filter must be a dict or None, got {shown(op.filter)}")
    page(op.limit, op.offset)
    prefix = namespace(op.namespace_prefix, "namespace prefix", existing=True)
    return op._replace(namespace_prefix=prefix)


def _list(op: ListNamespacesOp) -> ListNamespacesOp:
    conditions = op.match_conditions or ()
    if not isinstance(conditions, Sequence):
        raise InvalidInputError(f"match_conditions must be a tuple, got {shown(conditions)}")
    depth = op.max_depth
    if depth is not None and (
        isinstance(depth, bool) or not isinstance(depth, int) or not 0 < depth <= MAX_INT
    ):
        raise InvalidInputError(f"max_depth must be a positive integer or None, got {shown(depth)}")
    page(op.limit, op.offset)
    return op._replace(match_conditions=tuple(_match(c) for c in conditions))


def checked_op(op: Any, max_value_chars: int) -> Op:
    """`op` with its namespace a tuple and a put's value a checked copy (a value, and a
    search's query, of at most `max_value_chars` characters); InvalidInputError
    if any of its fields is one the store cannot take. Only a put with a value stores a
    namespace and key: the others may name those put before the bidi controls were
    refused (`namespace`'s `existing`)."""
    if isinstance(op, PutOp):
        return _put(op, max_value_chars)
    if isinstance(op, GetOp):
        key(op.key, existing=True)
        return op._replace(namespace=namespace(op.namespace, existing=True))
    if isinstance(op, SearchOp):
        return _search(op, max_value_chars)
    if isinstance(op, ListNamespacesOp):
        return _list(op)
    raise InvalidInputError(f"Unknown operation type: {type(op)}")


def page(limit: Any, offset: Any) -> None:
    # LangGraph's limit is an int (10 by default): None is no page size, not "all of them"
    if limit is None:
        raise InvalidInputError("limit must be a positive integer, got None")
    check_limit(limit)
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_INT:
        raise InvalidInputError(f"offset must be a non-negative integer, got {shown(offset)}")
