"""Checks of the public API's arguments: every bad value is an `InvalidInputError` that says
what to pass instead, raised before anything is read or written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from octomem.errors import InvalidInputError, ScopeRequiredError
from octomem.models import BUILTIN_TYPES, HistoryEvent, MemoryType
from octomem.stores.parsed import Memo
from octomem.validation import MAX_INT, check_timestamp, clean_text, shown, validate_scope_id

MAX_TIMEOUT_S = 10**9  # seconds: about 32 years, beyond any wait meant


def check_scope(
    user_id: Any, agent_id: Any, session_id: Any, *, operation: str, existing: bool = False
) -> None:
    """`existing`: the operation only reads or erases what is stored (`id_control`)."""
    for name, value in (("user_id", user_id), ("agent_id", agent_id), ("session_id", session_id)):
        validate_scope_id(name, value, existing=existing)
    if user_id is None and agent_id is None:
        raise ScopeRequiredError(
            f"{operation} needs a user_id (or an agent_id): memories are always scoped to "
            "someone, e.g. user_id='alice'"
        )


def check_limit(limit: Any, *, name: str = "limit") -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_INT:
        raise InvalidInputError(f"{name} must be a positive integer or None, got {shown(limit)}")
    return limit


def check_flag(value: Any, *, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, got {shown(value)}")
    return value


def check_memo(value: Any) -> Memo:
    if not isinstance(value, Memo):
        raise InvalidInputError(f"memo must be an octomem.stores.parsed.Memo, got {shown(value)}")
    return value


def check_datetime(value: Any, *, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a datetime or None, got {type(value).__name__}")
    return check_timestamp(value, name)


def check_as_of(value: Any, include_superseded: bool) -> datetime | None:
    """A recall's or get_all's `as_of` (naive = UTC): answer with what was true then -
    valid_from <= as_of < valid_to, stored from a turn at or before as_of (created_at),
    working memory not yet expired. It already selects closed records (those valid at
    `as_of`), so `include_superseded` with it is a contradiction, refused."""
    as_of = check_datetime(value, name="as_of")
    if as_of is not None and include_superseded:
        raise InvalidInputError(
            "as_of and include_superseded=True contradict each other: as_of returns what was "
            "current at that time (closed records included); include_superseded returns "
            "every version - pass one of them"
        )
    return as_of


def check_text(text: Any, *, name: str, limit: int) -> str:
    """Non-empty text of at most `limit` characters, valid Unicode; returned stripped, without
    control characters (see `validation.clean_text`)."""
    if not isinstance(text, str):
        raise InvalidInputError(f"{name} must be a non-empty string, got {shown(text)}")
    if len(text) > limit:
        raise InvalidInputError(
            f"{name} is {len(text):,} characters; the limit is {limit:,} (input.max_message_chars)"
        )
    cleaned = clean_text(text, name).strip()
    if not cleaned:
        raise InvalidInputError(f"{name} must be a non-empty string, got {shown(cleaned)}")
    return cleaned


def parse_memory_types(
    values: Any, known: Iterable[MemoryType] = BUILTIN_TYPES
) -> list[MemoryType] | None:
    """Validate a caller's memory type names ("semantic", MemoryType.CORE, ...): each one
    of the `known` types (an Orchestrator's)."""
    if values is None:
        return None
    if isinstance(values, str | MemoryType):
        values = [values]
    if not isinstance(values, list | tuple | set | frozenset):
        raise InvalidInputError(
            f"memory_types must be a type name or a list of them, got {type(values).__name__}"
        )
    known = list(known)
    names = ", ".join(m.value for m in known)
    parsed = []
    for value in values:
        if not isinstance(value, str) or value not in known:
            raise InvalidInputError(f"memory type {shown(value)} is not one of: {names}")
        parsed.append(MemoryType(value))
    return list(dict.fromkeys(parsed))


@dataclass(frozen=True)
class Owner:
    """Whose memories a call may reach by id: the user (exactly, None meaning memories of
    no user) and, when given, the agent."""

    user_id: str | None
    agent_id: str | None

    def owns(self, user_id: str | None, agent_id: str | None) -> bool:
        return user_id == self.user_id and (self.agent_id is None or agent_id == self.agent_id)

    def owns_event(self, event: HistoryEvent) -> bool:
        """Whether a history event logs a memory of this owner: its user, and the agent of
        the record it logged (an event without its record shows no agent: it is owned only
        when the owner names none). Works after a delete, when no record is left."""
        if event.record is None:
            return self.agent_id is None and event.user_id == self.user_id
        return self.owns(event.user_id, event.record.get("agent_id"))


def check_owner(user_id: Any, agent_id: Any, *, existing: bool = False) -> Owner | None:
    """The owner a by-id call is limited to; None when the caller names none (trusted code
    that may reach every memory of the store). `existing`: as `check_scope`'s."""
    if user_id is None and agent_id is None:
        return None
    check_scope(user_id, agent_id, None, operation="a call by id", existing=existing)
    return Owner(user_id, agent_id)
