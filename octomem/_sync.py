"""Run the async core from synchronous code.

Each Orchestrator owns one event loop in a daemon thread; every sync call is submitted
to it. The loop is the same for the object's whole life, so clients bound to a loop
(the Neo4j async driver, litellm's HTTP sessions) keep working across calls, and sync
calls work inside Jupyter or any thread that already runs a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from octomem.errors import InvalidInputError

T = TypeVar("T")
P = ParamSpec("P")


class LoopThread:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="octomem-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._ensure()
        if threading.current_thread() is self._thread:
            coro.close()
            raise InvalidInputError(
                "a sync octomem method was called from inside its own event loop, where it "
                "would wait for itself; await its async form (the `a...` method) there"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            # let background tasks of libraries (litellm's logging worker...) end cleanly
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_cancel_pending(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


class RunsSync(Protocol):
    def run_sync(self, coro: Coroutine[Any, Any, T], /) -> T: ...


S = TypeVar("S", bound=RunsSync)


def sync_twin(
    amethod: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], T]:
    """The blocking form `x` of an async method `ax`: same parameters and docstring, run
    through the owner's `run_sync`. Type checkers and `inspect.signature` see the async
    method's signature."""

    signature = inspect.signature(amethod)

    @functools.wraps(amethod)
    def method(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        check_call(signature, method.__qualname__, self, *args, **kwargs)
        return self.run_sync(amethod(self, *args, **kwargs))

    method.__name__ = amethod.__name__.removeprefix("a")
    method.__qualname__ = amethod.__qualname__.replace(amethod.__name__, method.__name__)
    doc = inspect.getdoc(amethod) or ""
    method.__doc__ = f"Blocking form of `{amethod.__name__}`.\n\n{doc}".rstrip()
    return method


def check_call(signature: inspect.Signature, called: str, *args: Any, **kwargs: Any) -> None:
    """A TypeError naming `called` (a blocking method) if its arguments do not fit
    `signature` (its async twin's): Python's own message would name the async method."""
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{called}(): {exc}") from None


async def _cancel_pending() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()
