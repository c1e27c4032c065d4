"""Fencing tokens: a writer whose lease lapsed cannot overwrite the newer truth.

Every scope lease carries a token that grows each time the lease changes hands. A writer
gets its leases' (key, token) pairs as a `Fence` from `ScopeLocks.hold` and the write
primitive (`octomem.orchestrator.write`) passes it to every store write (`fence=`). The
stores refuse a write once another writer has taken one of those leases over:

- a store on the graph server checks the tokens inside the write's own transaction (and
  writes the lease node, so a take-over and the write serialise): `LeaseLostError`;
- the Chroma server has no conditional writes: `verify` asks the graph server right
  before each write and `confirm` right after. A writer stopped between the check and
  the write writes once more; `confirm` then raises `LandedLate` naming the entries it
  wrote, and `ScopeLocks` takes the lease anew and restores them from the history log
  (`write.apply.restore_vectors`) before the error reaches the caller. Under a scope
  lock the graph writes are gathered (`octomem.stores.gather`): the check before is the
  transaction of the writes gathered so far, the check after is made by the next fenced
  transaction (at the latest the last one, with the lease's release).

With no fence given (reads, set-up, the embedded stores of one process) nothing is checked.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from octomem.errors import ConflictError
from octomem.models import HistoryEvent


class LeaseLostError(ConflictError):
    """This writer's lease on a user's memories passed to another writer (it stalled past
    the lease, e.g. a paused process): its write was refused so the newer truth stands.
    Nothing of the refused write was stored; send the call again."""


@dataclass(frozen=True)
class Fence:
    """The leases a writer holds: (stored lease key, token) pairs, and how to ask the
    graph whether they are still the newest (`GraphStore.fence_holds`); `users`: the
    token of each user whose lease it is (`stamp`)."""

    tokens: tuple[tuple[str, int], ...]
    holds: Callable[[tuple[tuple[str, int], ...]], Awaitable[bool]]
    users: tuple[tuple[str | None, int], ...] = ()

    def with_token(self, key: str, token: int, *, user_id: str | None) -> Fence:
        return Fence((*self.tokens, (key, token)), self.holds, (*self.users, (user_id, token)))

    def stamp(self, user_id: str | None) -> int | None:
        """The token of `user_id`'s lease, if this writer holds it (the innermost hold's):
        a write of that user's memories carries it, so that one which lands after a forget
        of theirs is known by its token being older than the forget's
        (`GraphStore.erased_at`)."""
        return next((token for user, token in reversed(self.users) if user == user_id), None)


def body(event: HistoryEvent, fence: Fence | None) -> str:
    """The JSON a history store keeps for `event`: with `fence`'s token of its user's lease
    (`fenced`; None: no fence, or not that user's lease), whatever the event carried, and
    how its writer applied a DELETE (`removed`, never shown either)."""
    token = fence.stamp(event.user_id) if fence is not None else None
    return json.dumps({**event.model_dump(mode="json"), "fenced": token, "removed": event.removed})


class LandedLate(LeaseLostError):
    """A vector write that passed its fence check reached the store after the lease was
    lost: the entries it wrote (`written`, by collection) may now hide a newer truth
    until they are restored from the history log."""

    def __init__(self, message: str, written: Mapping[str, Sequence[str]]) -> None:
        super().__init__(message)
        self.written = {kind: list(ids) for kind, ids in written.items()}
        self.users: set[str | None] = set()  # whose leases were held (`ScopeLocks`)


def lost(keys: object) -> LeaseLostError:
    return LeaseLostError(
        "this writer's lease on the memories it was writing passed to another writer "
        f"(it stalled past concurrency.lease_ttl_s; leases {keys}); its write was refused "
        "so the newer one stands. Nothing more of this call was stored: send it again"
    )


async def verify(fence: Fence | None) -> None:
    """LeaseLostError if `fence` no longer holds (a store that cannot check inside its own
    writes calls this right before each one)."""
    if fence is not None and fence.tokens and not await fence.holds(fence.tokens):
        raise lost([key for key, _ in fence.tokens])


async def confirm(fence: Fence | None, kind: str, ids: Sequence[str]) -> None:
    """After a write `verify` let through: `LandedLate` (naming the entries of collection
    `kind` written) if `fence` no longer holds, i.e. the lease may have passed to another
    writer before the write landed."""
    if fence is not None and fence.tokens and not await fence.holds(fence.tokens):
        raise landed_late(fence, {kind: ids})


def landed_late(fence: Fence, written: Mapping[str, Sequence[str]]) -> LandedLate:
    keys = [key for key, _ in fence.tokens]
    return LandedLate(
        "this writer's lease on the memories it was writing passed to another writer "
        f"while its last write was on the way (leases {keys}); what that write changed "
        "was put back to the newer truth. Nothing more of this call was stored: send "
        "it again",
        written,
    )
