"""Close an Orchestrator while one of its calls is held inside a store write, and record
in which order the call and close() got where: the proof that close() waits for a running
call, driven by events rather than by how long anything takes."""

from __future__ import annotations

import time
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Event
from typing import Any, TypeVar

import pytest

from octomem import InvalidInputError, Orchestrator
from octomem.orchestrator.internals import services_of

T = TypeVar("T")

RELEASED, RETURNED, STORE_CLOSED = "call released", "call returned", "vector store closed"
IN_ORDER = [RELEASED, RETURNED, STORE_CLOSED]


class HeldClose:
    """`order` collects RELEASED (the held write is let go), RETURNED (the call given to
    `run` returned, noted on the Orchestrator's loop before its task ends) and
    STORE_CLOSED (close() closes the vector store); a close() that waits for the call
    makes them IN_ORDER."""

    def __init__(self, orch: Orchestrator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.orch, self.order = orch, list[str]()
        vector = services_of(orch).vector
        real_close = vector.close

        async def close() -> None:
            self.order.append(STORE_CLOSED)
            await real_close()

        monkeypatch.setattr(vector, "close", close)

    def run(self, call: Coroutine[Any, Any, T]) -> T:
        """Run `call` on the Orchestrator's loop as its sync methods do; note its return."""

        async def noted() -> T:
            result = await call
            self.order.append(RETURNED)
            return result

        return self.orch.run_sync(noted())

    def close_then_release(self, pool: ThreadPoolExecutor, release: Event) -> Future[None]:
        """Submit `close(60)` while a call waits on `release`; set it only once close() has
        begun - the Orchestrator refuses new calls - and check that close() has neither
        returned nor closed the stores by then. Returns close's future."""
        closing = pool.submit(self.orch.close, 60)
        self._wait_until_new_calls_are_refused(closing)
        assert not closing.done(), "close() returned while a call was still running"
        assert STORE_CLOSED not in self.order, "close() closed the stores under a running call"
        self.order.append(RELEASED)
        release.set()
        return closing

    def _wait_until_new_calls_are_refused(self, closing: Future[None]) -> None:
        async def new_call() -> None:
            async with self.orch.running_call():
                pass

        deadline = time.monotonic() + 60  # a bound on the wait, not a measurement
        while time.monotonic() < deadline:
            assert not closing.done(), "close() returned while a call was still running"
            try:
                self.orch.run_sync(new_call())
            except InvalidInputError as exc:
                assert "closed" in str(exc), exc
                return
            time.sleep(0.01)  # paces the polling only
        raise AssertionError("close() never refused a new call while a call was running")
