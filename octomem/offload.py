"""CPU work of a call: off the event loop when it is large, inline when it is small.

The event loop is shared by every caller of an Orchestrator, so per-record work of a
large call (thousands of records) runs in a worker thread, where the loop takes turns
with it; for a few records a thread hop costs more than the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
INLINE_MAX = 32  # items of work done inline; more go to a worker thread


async def cpu(items: int, fn: Callable[[], T]) -> T:
    """`fn()`, run in a worker thread when it works on more than INLINE_MAX items."""
    if items <= INLINE_MAX:
        return fn()
    return await asyncio.to_thread(fn)
