"""The routes' dependencies: who calls (`caller`), with which scope (`need`), on which
project's Orchestrator and for which user (`Caller.scope`).

A key belongs to one project; every route works on that project's Orchestrator only, so
no id, user id or filter a caller sends can reach another project. A key pinned to a user
reaches that user only: a request naming another user is refused (403), one naming none
is that user's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Depends, Request

from octomem.errors import InvalidInputError
from octomem.orchestrator.engine import Orchestrator
from octomem.service import context
from octomem.service.auth import Forbidden, Principal, Unauthorized
from octomem.service.problems import RETRY_AFTER_S, Problem
from octomem.service.state import State

T = TypeVar("T")


def state_of(request: Request) -> State:
    state: State = request.app.state.octomem
    return state


@dataclass
class Caller:
    principal: Principal
    state: State

    async def orchestrator(self) -> Orchestrator:
        if self.state.pool.closing:
            raise Problem(
                503,
                "shutting-down",
                "Shutting down",
                "the service is stopping; retry",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        info = context.current()
        assert info is not None  # set by the envelope for every request
        return await info.held.enter_async_context(self.state.pool.using(self.principal.project))

    def user(self, user_id: str | None) -> str | None:
        """The user a request may act for: the key's pinned user, or the one it names."""
        pinned = self.principal.user_id
        if pinned is not None and user_id is not None and user_id != pinned:
            raise Forbidden("this key is pinned to one user and may not name another user_id")
        chosen = pinned if pinned is not None else user_id
        info = context.current()
        if info is not None and chosen is not None:
            info.user_id = chosen
        return chosen

    def whole_project(self, what: str) -> None:
        """403 for a key pinned to a user: `what` reaches every user of the project."""
        if self.principal.user_id is not None:
            raise Forbidden(
                f"this key is pinned to one user; {what} reaches every user of the project: "
                "use a key of the whole project"
            )

    def scope(
        self,
        user_id: str | None,
        agent_id: str | None = None,
        *,
        required: bool = True,
    ) -> dict[str, Any]:
        """`user_id`/`agent_id` keyword arguments for the Orchestrator."""
        user = self.user(user_id)
        if required and user is None and agent_id is None:
            raise InvalidInputError("user_id (or agent_id) is required: memories are always scoped")
        return {"user_id": user, "agent_id": agent_id}

    def check_page(self, limit: int) -> int:
        cap = self.state.config.max_page_size
        if limit > cap:
            raise InvalidInputError(f"limit {limit} exceeds the page size limit of {cap}")
        return limit

    def check_query(self, query: str) -> str:
        cap = self.state.config.max_query_chars
        if len(query) > cap:
            raise InvalidInputError(
                f"the query has {len(query):,} characters; the limit is {cap:,}"
            )
        return query

    def check_messages(self, count: int) -> None:
        cap = self.state.config.max_messages
        if count > cap:
            raise InvalidInputError(f"{count} messages in one call; the limit is {cap}")

    def write(self, work: Awaitable[T]) -> Awaitable[T]:
        """A write runs to its end even if this request is cut off (deadline, client
        gone): never half a write, and a retry finds it done."""
        return self.state.pool.finish_in_background(work)


async def caller(request: Request) -> Caller:
    """The caller the envelope authenticated (`app.Envelope._admit`)."""
    info = context.current()
    if info is None or info.principal is None:
        raise Unauthorized("missing Authorization header: send 'Authorization: Token <key>'")
    return Caller(info.principal, state_of(request))


def need(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, who must hold `scope` (admin holds every scope)."""

    async def check(who: Caller = Depends(caller)) -> Caller:  # noqa: B008
        who.principal.require(scope)
        return who

    return check
