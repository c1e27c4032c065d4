"""What a scope-lease holder's store calls share, in the one context variable they need:
the watch of its calls (`octomem.stores.stuck`) and the gathering of its graph writes
(`octomem.stores.gather`). The calls are the stores' own, made anywhere below the hold
(reads too, which carry no fence), so no signature can carry these.

Each part is set for a block (`stuck.watching`, `gather.gathered`) by replacing the frozen
value with one that changes that part alone. A task started within a block copies the
value as it then was: the lease's renewal, started before the writes are gathered, never
sees them (it must not flush them beside the holder).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Held:
    # typed where they are made (this module sits below both): a `stuck.Watch`, a
    # `gather.Gathering`
    watch: Any = None
    gathering: Any = None


_NONE = Held()  # frozen: safe to share as the default
_HELD: ContextVar[Held] = ContextVar("octomem_lease_holder", default=_NONE)


def current() -> Held:
    return _HELD.get()


@contextlib.contextmanager
def setting(*, watch: Any = None, gathering: Any = None) -> Iterator[None]:
    """In the block (and the tasks and threads it starts), the given parts are these."""
    held = _HELD.get()
    watch = held.watch if watch is None else watch
    gathering = held.gathering if gathering is None else gathering
    reset = _HELD.set(replace(held, watch=watch, gathering=gathering))
    try:
        yield
    finally:
        _HELD.reset(reset)
