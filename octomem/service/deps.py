"""The routes' dependencies: who calls (`Caller`; `Reader`, `Writer`, `Deleter`, `Admin`
hold a scope) and its project's Orchestrator (`Project`), held for the request. A key
reaches its own project only, and a key pinned to a user that user only (403 for another).

What precedes routing (body cap, authentication, rate limit, work gate, deadline) stays in
`app.Envelope`: a dependency runs only once FastAPI has parsed the body, and /mcp has none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from octomem.errors import InvalidInputError
from octomem.orchestrator.engine import Orchestrator
from octomem.service import context
from octomem.service.auth import Forbidden, Principal, Unauthorized, admitted
from octomem.service.problems import unavailable
from octomem.service.state import State

T = TypeVar("T")


def state_of(request: Request) -> State:
    state: State = request.app.state.octomem
    return state


@dataclass
class Caller:
    principal: Principal
    state: State

    def user(self, user_id: str | None) -> str | None:
        """The user a request may act for: the key's pinned user, or the one it names."""
        pinned = self.principal.user_id
        if pinned is not None and user_id is not None and user_id != pinned:
            raise Forbidden("this key is pinned to one user and may not name another user_id")
        chosen = pinned if pinned is not None else user_id
        info = context.current()
        if info is not None and chosen is not None:
            info.user_id = chosen  # the audit line's
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
        gone): never half a write; a cut-off answer says what is known of it, and how it
        ended is logged (`outcome`)."""
        return self.state.pool.finish_in_background(work)


async def caller(request: Request) -> Caller:
    principal = admitted(request.scope)
    if principal is None:
        raise Unauthorized("missing Authorization header: send 'Authorization: Token <key>'")
    return Caller(principal, state_of(request))


def need(scope: str, *, whole_project: str | None = None) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, who must hold `scope` and, for `whole_project` (what the
    route does, reaching every user), not be pinned to a user."""

    async def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        who.principal.require(scope)
        if whole_project is not None:
            who.whole_project(whole_project)
        return who

    return check


Anyone = Annotated[Caller, Depends(caller)]
Reader = Annotated[Caller, Depends(need("read"))]
Writer = Annotated[Caller, Depends(need("write"))]
Deleter = Annotated[Caller, Depends(need("delete"))]
Admin = Annotated[Caller, Depends(need("admin"))]


@asynccontextmanager
async def project_orchestrator(state: State, principal: Principal) -> AsyncIterator[Orchestrator]:
    """The one place a request (a route, an MCP tool call) gets its key's project's
    Orchestrator, held until the block ends (`ProjectPool.using`); 503 once closing."""
    if state.pool.closing:
        raise unavailable("shutting-down", "Shutting down", "the service is stopping; retry")
    async with state.pool.using(principal.project) as orch:
        yield orch


async def _orchestrator(who: Anyone) -> AsyncIterator[Orchestrator]:
    async with project_orchestrator(who.state, who.principal) as orch:
        yield orch


# Dependencies run in the order the route declares them: a route names its caller first,
# so a missing scope or a pinned key is refused before the project is opened. The
# "request" scope gives the Orchestrator back after the response is sent (a streamed one
# to its last byte); a route that fails, or a request cut off, gives it back before its
# error is answered.
Project = Annotated[Orchestrator, Depends(_orchestrator, scope="request")]
