"""Where-clauses for one owner's records: a user, an agent, a session.

Every read that keeps to one owner builds its filter here, so "whose records" means the
same everywhere; an id is always compared as a literal value (`equals`). For the agent
and the session, None selects the records without one and `ANY` (the default) leaves
them open; `given` reads an argument whose None means "any".
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from octomem.stores.base import Filter


class AnyOwner(Enum):
    """`ANY`: an agent or session that is not narrowed to."""

    ANY = "any"


ANY = AnyOwner.ANY
Owner = str | None | Literal[AnyOwner.ANY]


def given(value: str | None) -> Owner:
    """`value`, or ANY when it is None (an optional agent or session argument)."""
    return ANY if value is None else value


def scope_filter(
    user_id: str | None,
    agent_id: Owner = ANY,
    session_id: Owner = ANY,
    *more: Filter | None,
) -> Filter:
    """The records of `user_id` (None: of no user), of `agent_id`, in `session_id`, that
    also match every filter of `more` (None and empty ones are skipped)."""
    clauses: list[Filter] = [equals("user_id", user_id)]
    for field, value in (("agent_id", agent_id), ("session_id", session_id)):
        if value is not ANY:
            clauses.append(equals(field, value))
    clauses += [extra for extra in more if extra]
    return {"AND": clauses}


IN_CHUNK = 1_000  # values in one `in` filter: a filter's operand is held to the limit of a
# caller's value (100,000 characters as JSON), and a call may name thousands of ids


def among(field: str, values: list[str]) -> list[Filter]:
    """Filters that together admit `field` in `values`, `IN_CHUNK` values each (none for
    no values): one lookup each."""
    return [
        {field: {"in": values[start : start + IN_CHUNK]}}
        for start in range(0, len(values), IN_CHUNK)
    ]


def equals(field: str, value: str | None) -> Filter:
    """`field` equals `value` as a literal: an id is never read as filter syntax (in the
    shorthand ``{field: value}``, the value ``"*"`` means "the field is present")."""
    return {field: {"eq": value}}
