"""The calls running on one Orchestrator: refused once it is closed, and awaited - or,
past a timeout, cancelled - when it closes; `api` makes a public method one such call on
open stores."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from octomem.errors import InvalidInputError

T = TypeVar("T")
P = ParamSpec("P")


class RunningCalls:
    """Tracks every public call in flight, on whichever event loop it runs."""

    def __init__(self) -> None:
        self.closed = False
        self._running: dict[asyncio.Task[Any], int] = {}  # task -> nesting depth
        self._lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """Run one public call: refused once closed, awaited (or cancelled) by `close`."""
        if self.closed:
            raise InvalidInputError("this Orchestrator is closed; create a new one")
        task = asyncio.current_task()
        if task is None:
            raise InvalidInputError("octomem's async methods run inside an asyncio task")
        with self._lock:
            self._running[task] = self._running.get(task, 0) + 1
        try:
            yield
        except asyncio.CancelledError:
            if self.closed:
                raise InvalidInputError(
                    "this Orchestrator was closed while the call ran, and the call was "
                    "cancelled; what it had begun to write is completed from the journal - "
                    "retry it on a new Orchestrator"
                ) from None
            raise
        finally:
            with self._lock:
                depth = self._running.pop(task) - 1
                if depth:
                    self._running[task] = depth

    async def close(self, timeout: float | None) -> bool:
        """Refuse new calls; wait up to `timeout` s (None: as long as it takes) for the
        running ones, then cancel the rest and wait for them to unwind. Returns whether any
        had to be cancelled."""
        self.closed = True
        current = asyncio.current_task()
        with self._lock:
            tasks = [task for task in self._running if task is not current]
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not all(task.done() for task in tasks):  # polled: tasks of any loop
            if deadline is not None and loop.time() >= deadline:
                break
            await asyncio.sleep(0.01)
        late = [task for task in tasks if not task.done()]
        for task in late:
            task.get_loop().call_soon_threadsafe(task.cancel)
        unwind = loop.time() + 10
        while not all(task.done() for task in late) and loop.time() < unwind:
            await asyncio.sleep(0.01)
        return bool(late)


class Opens(Protocol):
    """What `api` needs of the object whose method it wraps (an Orchestrator)."""

    @property
    def _calls(self) -> RunningCalls: ...

    @property
    def _opening(self) -> Callable[[], Awaitable[None]]: ...


Owner = TypeVar("Owner", bound=Opens)


def api(
    amethod: Callable[Concatenate[Owner, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Owner, P], Coroutine[Any, Any, T]]:
    """A public async method: its body runs as one of the owner's calls (`RunningCalls`:
    refused once closed, awaited or cancelled by `close`; calls nest), after the owner's
    stores are open - the first call opens them if `open` was not called (`_opening`:
    once, idempotent)."""

    @functools.wraps(amethod)
    async def method(self: Owner, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._calls.call():
            await self._opening()
            return await amethod(self, *args, **kwargs)

    return method
