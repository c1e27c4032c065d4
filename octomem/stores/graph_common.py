"""What the graph backends share: project namespaces, lease checks, process-local leases."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, LiteralString

from octomem.errors import InvalidInputError

# between a project and a key in a shared graph: scope ids never hold control characters
SEPARATOR = "\x1f"


class Namespace:
    """How projects that share one graph server keep apart: every user key and id a project
    writes or matches goes through `user` / `key`, which put ``<project>\x1f`` in front
    (the default project, "", writes them unchanged); every value read back goes through
    `strip`. No query keyed by user or id reaches another project's nodes, and unique ids
    hold across projects (an export imported into another project keeps its ids).
    Whole-graph reads and `reset` match `NAMESPACED`."""

    def __init__(self, project: str = "") -> None:
        if SEPARATOR in project:
            raise InvalidInputError("a graph namespace cannot hold a control character")
        self.project = project
        self.prefix = f"{project}{SEPARATOR}" if project else ""

    def user(self, user_id: str | None) -> str:
        """A user id as the graph stores it: "" for no user (graphs match no null keys)."""
        return self.prefix + (user_id or "")

    def key(self, value: str) -> str:
        if SEPARATOR in value:  # it could name a node of another project
            raise InvalidInputError(f"an id cannot hold a control character: {value!r}")
        return self.prefix + value

    def keys(self, values: Iterable[str]) -> list[str]:
        return [self.key(value) for value in values]

    def strip(self, value: Any) -> Any:
        """A key or user read from the graph, as the caller knows it."""
        if self.prefix and isinstance(value, str) and value.startswith(self.prefix):
            return value[len(self.prefix) :]
        return value

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of `NAMESPACED`."""
        return {"nsp": self.prefix, "sep": SEPARATOR}


# the condition (on a node or relation `n` with a user key) of being in the namespace whose
# `params` are given: its prefix, or (the default namespace) none at all
NAMESPACED: LiteralString = (
    "coalesce(n.user_id, '') STARTS WITH $nsp "
    "AND ($nsp <> '' OR NOT coalesce(n.user_id, '') CONTAINS $sep)"
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
    """Leases and erasure counts of a graph only this process can open (an embedded database
    holds a file lock), in a dict under a lock: they die with the process, as do the calls
    they guard. Fencing tokens start from the wall clock (microseconds) so that a later
    process's are larger: entries and history events keep them, and repair compares tokens
    of different runs (`octomem.orchestrator.doctor`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, float]] = {}
        self._erasures: dict[str, int] = {}
        self._erased_at: dict[str, int] = {}
        self._tokens: dict[str, int] = {}

    def erasures(self, key: str) -> int:
        with self._lock:
            return self._erasures.get(key, 0)

    def count_erasure(self, key: str, token: int = 0) -> int:
        with self._lock:
            self._erasures[key] = self._erasures.get(key, 0) + 1
            self._erased_at[key] = max(self._erased_at.get(key, 0), token)
            return self._erasures[key]

    def erased_at(self, key: str) -> int:
        with self._lock:
            return self._erased_at.get(key, 0)

    def acquire(self, key: str, owner: str, ttl_s: float) -> int:
        """The lease's fencing token if `owner` holds it afterwards (it grows each time the
        lease changes hands), else 0."""
        with self._lock:
            now = time.monotonic()
            holder = self._held.get(key)
            if holder is not None and holder[0] != owner and holder[1] > now:
                return 0
            if holder is None or holder[0] != owner:
                self._tokens[key] = max(self._tokens.get(key, 0) + 1, time.time_ns() // 1000)
            self._held[key] = (owner, now + ttl_s)
            return self._tokens[key]

    def holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        """Whether every (key, token) is still its lease's newest token."""
        with self._lock:
            return all(self._tokens.get(key) == token for key, token in tokens)

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            if (holder := self._held.get(key)) is not None and holder[0] == owner:
                del self._held[key]
