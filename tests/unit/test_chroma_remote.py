"""The client of a Chroma server runs its requests in threads of its own: a recall's
requests (about nine at once) all in flight together, not in waves of the event loop's
default executor (a few threads a core), each wave a round trip at network distance."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from octomem.stores.chroma_remote import THREADS, Remote

ASKED = contextvars.ContextVar("asked", default="")


async def test_requests_of_one_store_are_in_flight_together_and_see_the_callers_context() -> None:
    remote = Remote(lambda: object())
    at_once = 16  # more than the default executor's threads on a machine of up to 11 cores
    assert at_once <= THREADS
    barrier = threading.Barrier(at_once, timeout=10)  # broken unless all wait together

    def request(n: int) -> tuple[int, str]:
        barrier.wait()
        return n, ASKED.get()

    ASKED.set("recall")
    answers = await asyncio.gather(*(remote.run(request, n) for n in range(at_once)))
    assert answers == [(n, "recall") for n in range(at_once)]
    remote.close()
    assert await remote.run(lambda: "again") == "again"  # a call after close: new threads
    remote.close()
