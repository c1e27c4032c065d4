"""What one request carries through the service: its id and what the audit line records
(key, project, user, counts). Set by the middleware, filled in by auth and the routes."""

from __future__ import annotations

from contextlib import AsyncExitStack
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octomem.service.auth import Principal


@dataclass
class RequestInfo:
    request_id: str
    user_id: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    principal: Principal | None = None  # who the envelope admitted (None: public, refused)
    problem_media_type: str = "application/problem+json"
    # what the request holds until its response is sent (its project's Orchestrator)
    held: AsyncExitStack = field(default_factory=AsyncExitStack)

    @property
    def key_id(self) -> str | None:
        return self.principal.key_id if self.principal else None

    @property
    def project(self) -> str | None:
        return self.principal.project if self.principal else None


_CURRENT: ContextVar[RequestInfo | None] = ContextVar("octomem_request", default=None)


def current() -> RequestInfo | None:
    return _CURRENT.get()


def request_id() -> str | None:
    info = _CURRENT.get()
    return info.request_id if info else None


def start(request_id: str) -> RequestInfo:
    info = RequestInfo(request_id)
    _CURRENT.set(info)
    return info


def adopt(info: RequestInfo | None) -> None:
    """Make `info` the current request's in this task (a task the request's context did
    not reach, such as the one the MCP SDK runs a tool call in)."""
    _CURRENT.set(info)


def count(**counts: int) -> None:
    """Add counts (memories returned, messages stored...) to the request's audit line."""
    info = _CURRENT.get()
    if info is not None:
        for name, value in counts.items():
            info.counts[name] = info.counts.get(name, 0) + value
