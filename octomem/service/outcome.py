"""What a request answered before its writes ended (past its deadline, at shutdown) may
truthfully say of them, and the log line that tells how each one ended.

A write runs to its end in the background (`ProjectPool.finish_in_background`), so when
the answer goes out it is in one of three states: none was started (nothing stored), all
ended (stored, or failed: not completed), or one is still running (unknown yet). Only
what is known is said; for the unknown, how to find out: the same request again is safe
(every write is idempotent: a retry stores nothing twice), or a read of the memories, and
the log line of the write's end carries the request id.
"""

from __future__ import annotations

import asyncio
from typing import Any

from octomem.logs import get_logger
from octomem.service import context
from octomem.service.context import RequestInfo

log = get_logger(__name__)

RETRY_SAFE = "sending the same request again is safe: a retry stores nothing twice"


def started(task: asyncio.Future[Any]) -> None:
    """`task`, a write of the current request: how it ends is logged, never left unread
    (no "Task exception was never retrieved")."""
    info = context.current()
    if info is not None:
        info.writes.append(task)
    task.add_done_callback(lambda done: _ended(done, info))


def _ended(task: asyncio.Future[Any], info: RequestInfo | None) -> None:
    request_id = info.request_id if info is not None else None
    if task.cancelled():
        log.warning("a write was cut short; the journal completes it", request_id=request_id)
        return
    exc = task.exception()  # read here, whoever else awaits it
    if info is None or not info.cut_off:
        return  # its request is answered with its outcome (its error, if any)
    if exc is None:
        log.info("the write of a request answered before it ended is stored", request_id=request_id)
    else:
        log.warning(
            "the write of a request answered before it ended failed; it was not completed",
            request_id=request_id,
            error=f"{type(exc).__name__}: {exc}",
        )


def cut_off(info: RequestInfo, why: str) -> str:
    """The detail of an answer sent before the request ended (`why`: what happened), saying
    what is true of its writes now; marks them for logging as they end."""
    info.cut_off = True
    writes = list(info.writes)
    running = [task for task in writes if not task.done()]
    failed = [
        task.exception()
        for task in writes
        if task.done() and not task.cancelled() and task.exception() is not None
    ]
    if not writes:
        return f"{why}; it had not begun to write, so nothing was stored: retry it"
    if running:
        return (
            f"{why}; the write it started is still running, so whether it is stored is not "
            f"known yet (its end is logged with request id {info.request_id}). To find out, "
            "read the memories after Retry-After seconds, or send the same request again: "
            + RETRY_SAFE
        )
    if failed:
        error = failed[0]
        return (
            f"{why}; the write it started failed ({type(error).__name__}: {error}) and was not "
            f"completed: send the request again ({RETRY_SAFE})"
        )
    return f"{why}; the write it started is stored ({RETRY_SAFE})"
