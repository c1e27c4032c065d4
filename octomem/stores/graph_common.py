"""What the graph backends compute alike, whatever their query language."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from octomem.errors import InvalidInputError
from octomem.models import MemoryType, Relation

# The columns a relation is read as, in this order, by every backend.
RELATION_COLUMNS = (
    "id",
    "user_id",
    "subject_id",
    "predicate",
    "object_id",
    "fact",
    "memory_id",
    "valid_at",
    "invalid_at",
    "created_at",
)


Statements = TypeVar("Statements")


def forget_plan(
    user_id: str, memory_ids: Sequence[str] | None, *, user: Statements, memories: Statements
) -> tuple[Statements, dict[str, Any]]:
    """The statements and parameters of `GraphStore.forget`: the whole user's (`user`), or
    only these memories' (`memories`), whose ids go in as `$ids`."""
    params: dict[str, Any] = {"u": user_id or ""}
    if memory_ids is None:
        return user, params
    return memories, {**params, "ids": sorted(set(memory_ids))}


def nearest_mentions(
    mentions: Iterable[tuple[str, str, str]], distance: Mapping[str, int], limit: int
) -> list[tuple[str, MemoryType, int]]:
    """(memory_id, memory_type, distance) from (memory_id, memory_type, entity_id) mention
    rows: each memory at the distance of its nearest mentioned entity, nearest first."""
    best: dict[str, tuple[MemoryType, int]] = {}
    for memory_id, memory_type, entity_id in mentions:
        d = distance[entity_id]
        if memory_id not in best or d < best[memory_id][1]:
            best[memory_id] = (MemoryType(memory_type), d)
    ranked = sorted(best.items(), key=lambda item: (item[1][1], item[0]))
    return [(mid, mtype, d) for mid, (mtype, d) in ranked[:limit]]


def relation_from_row(
    row: Sequence[Any], to_datetime: Callable[[Any], datetime | None]
) -> Relation:
    """A Relation from a row of RELATION_COLUMNS, datetimes read with the backend's converter."""
    rid, user_id, sid, predicate, oid, fact, memory_id, valid_at, invalid_at, created_at = row
    return Relation(
        id=rid,
        user_id=user_id or None,
        subject_id=sid,
        predicate=predicate or "",
        object_id=oid,
        fact=fact or "",
        memory_id=memory_id,
        valid_at=to_datetime(valid_at),
        invalid_at=to_datetime(invalid_at),
        created_at=to_datetime(created_at),
    )


def check_lease(key: str, owner: str, ttl_s: float | None = None) -> None:
    """Reject a lease request that no backend could honour, before anything is written."""
    for name, value in (("key", key), ("owner", owner)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"A lease {name} must be a non-empty string, not {value!r}.")
    if ttl_s is not None and (
        isinstance(ttl_s, bool)
        or not isinstance(ttl_s, int | float)
        or not math.isfinite(ttl_s)
        or ttl_s <= 0
    ):
        raise InvalidInputError(
            f"A lease's ttl_s must be a positive, finite number of seconds, not {ttl_s!r}."
        )


class ProcessLeases:
    """Leases of a graph that only this process can open (an embedded database holds a file
    lock): key -> (owner, expiry on the monotonic clock), a dict under a lock. A lease dies
    with the process that holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, float]] = {}

    def acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        with self._lock:
            now = time.monotonic()
            holder = self._held.get(key)
            if holder is not None and holder[0] != owner and holder[1] > now:
                return False
            self._held[key] = (owner, now + ttl_s)
            return True

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            if (holder := self._held.get(key)) is not None and holder[0] == owner:
                del self._held[key]
