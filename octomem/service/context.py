"""What one request's log lines say: its id and what its audit line records (key,
project, user, counts), with its causal bookmarks (a `causal.Call`, what the graph client
reads). Started by the envelope, filled in by auth and the routes; the routes get
everything else they need (the caller, its Orchestrator) from their dependencies
(`deps`)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from octomem.stores import causal

if TYPE_CHECKING:
    from octomem.service.auth import Principal

T = TypeVar("T")


@dataclass(kw_only=True)
class RequestInfo(causal.Call):
    request_id: str
    key_id: str | None = None  # the key the request was admitted with (None: public, refused)
    project: str | None = None
    user_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    # the writes it started (`ProjectPool.finish_in_background`), and whether it was
    # answered before they ended (a deadline, a shutdown): their outcome is then logged
    writes: list[asyncio.Future[Any]] = field(default_factory=list)
    cut_off: bool = False

    def admit(self, principal: Principal) -> None:
        """The audit line names `principal`'s key and project."""
        self.key_id, self.project = principal.key_id, principal.project


def current() -> RequestInfo | None:
    info = causal.current()
    return info if isinstance(info, RequestInfo) else None


def request_id() -> str | None:
    info = current()
    return info.request_id if info else None


def detached(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`work` in a task of no request's: one shared by several requests (a readiness probe,
    a project being opened) carries none's audit line or bookmarks, though one started it."""
    return asyncio.get_running_loop().create_task(work, context=contextvars.Context())


def count(**counts: int) -> None:
    """Add counts (memories returned, messages stored...) to the request's audit line."""
    info = current()
    if info is not None:
        for name, value in counts.items():
            info.counts[name] = info.counts.get(name, 0) + value
