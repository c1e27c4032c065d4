"""A scope lock's graph writes gathered into few transactions (`ScopeLocks.hold_many`).

While `gathered(fence)` is open, a store on the graph server defers the fenced writes it
may defer (their units of work return nothing: the journal's begin and finish, the history
log, the keyword index, the graph's upserts) instead of running each in a transaction of
its own; they run together, in order, in one fenced transaction (`flush`) when something
must see them - any other call of that server, the check before a vector write
(`fence.verify`: a write's journal intent commits before its vector write), or the end of
the block, with the leases' release. A crash or an error before a flush stores none of
what it would have sent: a journal intent and its graph writes commit together or not at
all (a finish not sent leaves an intent that the next holder applies again, idempotently).

The check after a vector write (`fence.confirm`) is deferred too: the next fenced
transaction (at the latest the last one) proves the lease was still held after the write
landed, since a token that still holds was never taken over; if it does not hold, it
raises `LandedLate` naming those writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from octomem.stores import fence as fences
from octomem.stores import holder
from octomem.stores.fence import Fence

Flush = Callable[["Gathering"], Awaitable[None]]


@dataclass(eq=False)
class Gathering:
    """The writes deferred under one writer's `fence` and the vector writes not yet
    confirmed; `flush` runs the deferred writes (set by the store that deferred them)."""

    fence: Fence
    works: list[tuple[str, Any]] = field(default_factory=list)  # (op, its store's work)
    owner: object | None = None  # the client whose writes these are
    flush: Flush | None = None
    unconfirmed: dict[str, list[str]] = field(default_factory=dict)
    # told once the writes deferred so far have committed (a lease released with them)
    after: list[Callable[[], None]] = field(default_factory=list)

    def flushed(self) -> None:
        """The deferred writes committed, in a transaction that proved the fence."""
        self.confirmed()
        done, self.after = self.after, []
        for told in done:
            told()

    def confirmed(self) -> None:
        """A fenced transaction that began after the vector writes committed: they landed
        while the lease was held."""
        self.unconfirmed.clear()

    def late(self) -> fences.LandedLate | None:
        """The error for a fence found lost while vector writes were unconfirmed."""
        if not self.unconfirmed:
            return None
        written, self.unconfirmed = self.unconfirmed, {}
        return fences.landed_late(self.fence, written)


def current(fence: Fence | None) -> Gathering | None:
    """The open gathering of `fence`'s writer, if any."""
    found = active()
    return found if found is not None and fence is not None and found.fence is fence else None


def active() -> Gathering | None:
    found: Gathering | None = holder.current().gathering
    return found


@contextlib.asynccontextmanager
async def gathered(
    fence: Fence, last: Callable[[], Awaitable[object]] | None = None
) -> AsyncIterator[None]:
    """Gather the graph writes made under `fence` in the block; flushed (and the deferred
    vector checks made) when it ends, after `last` (which may defer more: the release of
    the writer's leases). A block that fails drops what it had not flushed."""
    if not fence.tokens or active() is not None:
        yield  # nothing fenced, or an outer block gathers
        return
    gathering = Gathering(fence)
    with holder.setting(gathering=gathering):
        try:
            yield
            if last is not None:
                await last()
            await flush(gathering)
        except BaseException:
            gathering.works.clear()
            gathering.after.clear()
            held = True
            if gathering.unconfirmed:  # whatever failed, a late vector write is still told
                with contextlib.suppress(Exception):
                    held = await fence.holds(fence.tokens)
            if not held and (late := gathering.late()) is not None:
                raise late from None
            raise


async def verify(fence: Fence | None) -> None:
    """`fence.verify` while not gathering. While gathering: the writes gathered flushed
    (the journal's intent commits before the vector write), which checks the fence; with
    none, no check - the vector write is confirmed by the next fenced transaction anyway,
    and the check before it only spared a write that would be put back."""
    gathering = current(fence)
    if gathering is None:
        await fences.verify(fence)
    elif gathering.works:
        await flush(gathering)


async def drain(fence: Fence | None) -> None:
    """The writes gathered under `fence`'s writer flushed now, if any (none while not
    gathering): vector writes that then run at once each find nothing left to flush, and
    every one follows the journal's intent."""
    gathering = current(fence)
    if gathering is not None and gathering.works:
        await flush(gathering)


async def confirm(fence: Fence | None, kind: str, ids: list[str]) -> None:
    """`fence.confirm`, deferred to the next fenced transaction while gathering."""
    gathering = current(fence)
    if gathering is None:
        await fences.confirm(fence, kind, ids)
    elif fence is not None and fence.tokens:
        gathering.unconfirmed.setdefault(kind, []).extend(ids)


async def flush(gathering: Gathering) -> None:
    """Run the deferred writes now (in one fenced transaction), or, with none but vector
    writes unconfirmed, check the fence."""
    if gathering.works and gathering.flush is not None:
        await gathering.flush(gathering)
    elif gathering.unconfirmed:
        fence = gathering.fence
        if not await fence.holds(fence.tokens):
            late = gathering.late()
            assert late is not None
            raise late
        gathering.flushed()
