"""Fencing tokens: a writer whose lease lapsed cannot overwrite the newer truth.

Every scope lease carries a token that grows each time the lease changes hands
(`GraphStore.acquire_lease` returns it). While a writer holds leases, `holding` puts their
(key, token) pairs in a context variable, which every task and worker thread the write
starts inherits. The stores then refuse its writes once any of those leases has a newer
token, i.e. once another writer has taken over:

- a store on the graph server checks the tokens inside the same transaction as the write
  (and writes the lease node, so a concurrent take-over and the write serialise): a
  stale writer's transaction fails whole with `LeaseLostError`;
- a store that cannot check inside its own writes (the Chroma server has no conditional
  writes) calls `verify` right before each write, which asks the graph server. That
  leaves the time of one request between the check and the write: a writer stopped in
  exactly that gap writes once more (docs/deployment.md, Fencing).

With no lease held (reads, set-up, the embedded stores of one process) nothing is checked.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from octomem.errors import ConflictError


class LeaseLostError(ConflictError):
    """This writer's lease on a user's memories passed to another writer (it stalled past
    the lease, e.g. a paused process): its write was refused so the newer truth stands.
    Nothing of the refused write was stored; send the call again."""


@dataclass(frozen=True)
class Fence:
    """The leases a writer holds: (stored lease key, token) pairs, and how to ask the
    graph whether they are still the newest (`GraphStore.fence_holds`)."""

    tokens: tuple[tuple[str, int], ...]
    holds: Callable[[tuple[tuple[str, int], ...]], Awaitable[bool]]

    def with_token(self, key: str, token: int) -> Fence:
        return Fence((*self.tokens, (key, token)), self.holds)


_CURRENT: contextvars.ContextVar[Fence | None] = contextvars.ContextVar(
    "octomem_fence", default=None
)


def current() -> Fence | None:
    """The fence of the write running in this context (None: no lease held)."""
    return _CURRENT.get()


@contextlib.contextmanager
def holding(fence: Fence) -> Iterator[None]:
    """Run the enclosed writes under `fence`."""
    reset = _CURRENT.set(fence)
    try:
        yield
    finally:
        _CURRENT.reset(reset)


def lost(keys: object) -> LeaseLostError:
    return LeaseLostError(
        "this writer's lease on the memories it was writing passed to another writer "
        f"(it stalled past concurrency.lease_ttl_s; leases {keys}); its write was refused "
        "so the newer one stands. Nothing more of this call was stored: send it again"
    )


async def verify() -> None:
    """LeaseLostError if the current fence no longer holds (a store that cannot check
    inside its own writes calls this right before each one)."""
    fence = current()
    if fence is not None and fence.tokens and not await fence.holds(fence.tokens):
        raise lost([key for key, _ in fence.tokens])
