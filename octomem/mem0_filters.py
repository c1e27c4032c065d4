"""mem0's ``filters`` on octomem: the scopes a filter reaches and the filter octomem
evaluates within each (the language and field names: docs/service.md). Used by the
`Memory` facade and the service's mem0 routes alike.

octomem reads memories one user at a time, so the users a filter can match must be known
from the filter (``{"user_id": "a"}``, ``"in"`` a list, or an OR of those). Each user is
one scope, read with the whole filter, and the results are merged. A key pinned to a user
reaches that user only - naming any other, anywhere in the filter, is refused - and a
filter that names no user is that user's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from octomem import filters as lang
from octomem.errors import InvalidInputError

MAX_SCOPES = 10  # users (or agents) one filter may reach: each is one read
_RENAMED = {"run_id": "session_id"}
_REFUSED = {
    "app_id": "octomem has no app scope; use agent_id, or a metadata key",
    "keywords": "octomem keeps no keyword lists; search with a query",
    "timestamp": "filter on created_at instead",
}


@dataclass(frozen=True)
class Scope:
    """One read: a user's memories (or, for user None, an agent's memories of no user)."""

    user_id: str | None
    agent_id: str | None = None


Reach = Callable[[str | None], str | None]


def _anyone(user_id: str | None) -> str | None:
    return user_id


def translate(
    filters: Mapping[str, Any] | None, *extra: lang.Filter | None, reach: Reach = _anyone
) -> tuple[list[Scope], lang.Filter]:
    """The scopes `filters` (ANDed with `extra`) reaches, and the octomem filter to read
    each with. `reach(user_id)` is the user a caller may act for, raising for one it may
    not; `reach(None)` is the user it is pinned to, if any. InvalidInputError for what
    octomem cannot honour."""
    parts = [f for f in (filters, *extra) if f]
    node = _refused(lang.validate({"AND": parts}, aliases=_RENAMED))
    return _scopes(node, reach), node


def _leaves(node: lang.Filter, negated: bool = False) -> Iterator[tuple[str, lang.Filter, bool]]:
    """Every condition in `node`: its field, itself, and whether it sits under a NOT."""
    kind, body = lang.unpack(node)
    if kind in ("AND", "OR"):
        for child in body:
            yield from _leaves(child, negated)
    elif kind == "NOT":
        yield from _leaves(body, True)
    else:
        yield body[0], node, negated


def _refused(node: lang.Filter) -> lang.Filter:
    """`node`, unless it filters on a field octomem cannot honour (`_REFUSED`)."""
    for field, _, _ in _leaves(node):
        if field in _REFUSED:
            raise InvalidInputError(f"filters on {field!r} are not supported: {_REFUSED[field]}")
    return node


def _values(node: lang.Filter, field: str) -> set[str | None] | None:
    """The values `field` can have in a record that `node` matches, when the filter pins
    them down; None when any value could match."""
    kind, body = lang.unpack(node)
    if kind == "AND":
        known = [v for child in body if (v := _values(child, field)) is not None]
        return set.intersection(*known) if known else None
    if kind == "OR":
        branches = [_values(child, field) for child in body]
        if any(b is None for b in branches):
            return None
        return set().union(*branches)  # type: ignore[arg-type]
    if kind == "NOT":
        return None
    name, op, value = body
    if name != field:
        return None
    if op == "eq" and (value is None or isinstance(value, str)):
        return {value}
    if op == "in" and all(v is None or isinstance(v, str) for v in value):
        return set(value)
    return None


def _scopes(node: lang.Filter, reach: Reach) -> list[Scope]:
    users = _values(node, "user_id")
    pinned = reach(None)
    if pinned is not None:
        for _, leaf, negated in _leaves(node):  # any branch, not only those that decide
            for user in set() if negated else _values(leaf, "user_id") or set():
                if user is not None:
                    reach(user)  # refused for anyone but the pinned user
        return [Scope(pinned)]
    if users is None and any(field == "user_id" for field, _, _ in _leaves(node)):
        raise InvalidInputError(
            "octomem reads one user's memories at a time: name the users in the filter "
            "(user_id equal to one, 'in' a list, or an OR of those); '*', ne and NOT "
            "cannot say which users to read"
        )
    named = sorted(u for u in users or () if u is not None)
    scopes = [Scope(reach(user)) for user in named]
    if users is None or None in users:  # memories of no user: read agent by agent
        agents = _values(node, "agent_id")
        if agents is None or None in agents:
            raise InvalidInputError(
                "filters must name a user_id (or, for memories stored without a user, "
                'an agent_id): memories are always scoped, e.g. {"user_id": "alice"}'
            )
        scopes += [Scope(None, agent) for agent in sorted(a for a in agents if a is not None)]
    if len(scopes) > MAX_SCOPES:
        raise InvalidInputError(
            f"the filter reaches {len(scopes)} users or agents; the limit is {MAX_SCOPES} "
            "per call (each is one read)"
        )
    return scopes
