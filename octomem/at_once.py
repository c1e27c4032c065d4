"""Independent awaits of one call, at once: against a server each waits a network round
trip, so reads (or writes) that do not depend on each other cost one, not one each."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar, overload

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


async def at_once(calls: Iterable[Awaitable[T]], *, limit: int | None = None) -> list[T]:
    """The results of `calls`, in their order, run concurrently (at most `limit` at a
    time). Every call is awaited to its end, so none is left running; the first error
    is then raised."""
    gate = asyncio.Semaphore(limit) if limit else None

    async def run(call: Awaitable[T]) -> T:
        if gate is None:
            return await call
        async with gate:
            return await call

    calls = list(calls)
    try:
        done = await asyncio.gather(*(run(call) for call in calls), return_exceptions=True)
    finally:
        # cancelled: the calls that never began (waiting for the gate, or not started)
        # are closed, not left to warn "never awaited"; the others have ended
        for call in calls:
            if inspect.iscoroutine(call):
                call.close()
    if failed := [outcome for outcome in done if isinstance(outcome, BaseException)]:
        raise failed[0]
    return list(done)  # type: ignore[arg-type]


@overload
async def together(first: Awaitable[A], second: Awaitable[B], /) -> tuple[A, B]: ...
@overload
async def together(
    first: Awaitable[A], second: Awaitable[B], third: Awaitable[C], /
) -> tuple[A, B, C]: ...
async def together(*awaits: Awaitable[Any]) -> tuple[Any, ...]:
    """`at_once` of a few awaits of different types."""
    return tuple(await at_once(awaits))
