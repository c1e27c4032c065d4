"""Late writes, found and undone by the service itself.

A writer that dies (or whose call is cut off) with a vector write on its way leaves its
intent in the journal; another caller completes it (`recovery`). But the request may still
be held by the Chroma server and land later - over a newer write of that user, or after a
forget of them: Chroma has no conditional writes, and its sender is not there to undo it
(`fence.LandedLate` is how a live sender does). The stores on the graph server are fenced
inside their own writes, so only vector entries can be late, and the history log says what
they should be.

So the ids such an intent wrote are watched, per user, for `WATCH_S` after it was
completed by this process: the next write of that user (`settle`, under its lock), its
next read (`Orchestrator.arecall`, `aget_all`, `aget`) and every recovery sweep (`recover`;
`octomem serve` runs one every lease period) compare those entries with the history log,
and put back what differs through the write primitive (`write.recovery.heal_late`,
`restore_vectors`). With nothing watched, a check is a test of an empty dict: reads pay
nothing.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from octomem.models import IntentPart

# how long after a dead writer's intent was completed its vector entries are watched: a
# request the Chroma server held (a stall, a slow disk) lands within it
WATCH_S = 600.0
Written = dict[str, list[str]]  # memory type -> ids


@dataclass
class _Watched:
    ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # type -> ids
    until: float = 0.0


@dataclass
class LateWrites:
    """The vector entries, per user, that a write completed for another writer may still
    change late (see the module docstring). Shared by the Orchestrator's threads and event
    loops: guarded by a lock of its own."""

    _users: dict[str | None, _Watched] = field(default_factory=dict)
    _mutex: threading.Lock = field(default_factory=threading.Lock)

    def __bool__(self) -> bool:
        return bool(self._users)

    def note(self, part: IntentPart) -> None:
        """Watch the vector entries `part` (of an intent its writer left) writes."""
        until = time.monotonic() + WATCH_S
        entries = [(r.user_id, r.memory_type.value, r.id) for r in part.records()]
        entries += [
            (d.user_id, d.memory_type, d.memory_id)
            for d in part.drops
            if "vector" in d.stores and d.memory_type is not None
        ]
        with self._mutex:
            for user_id, kind, memory_id in entries:
                watched = self._users.setdefault(user_id, _Watched())
                watched.ids[kind].add(memory_id)
                watched.until = until

    def of(self, users: Iterable[str | None] | None = None) -> dict[str | None, Written]:
        """The watched entries of `users` (None: of every user), by type; the watches whose
        time is up are dropped."""
        now = time.monotonic()
        with self._mutex:
            for user_id in [u for u, w in self._users.items() if w.until < now]:
                del self._users[user_id]
            chosen = dict(self._users) if users is None else {u: self._users.get(u) for u in users}
            return {
                user_id: {kind: sorted(ids) for kind, ids in watched.ids.items()}
                for user_id, watched in chosen.items()
                if watched is not None
            }
