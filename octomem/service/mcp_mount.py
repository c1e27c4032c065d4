"""MCP over streamable HTTP at ``/mcp``: the tools of `octomem mcp` (`mcp_server.tools_server`)
behind the same envelope as every other route (`app.Envelope`: auth, rate limit, body cap,
work bound, deadline, audit line); the SDK's own auth is not used.

Each tool call reads the caller the envelope admitted from the request's ASGI scope (not
from the request's context variables: which task runs a tool, and with what context, is
the SDK's choice) and works as that key: its project's Orchestrator, its pinned user, its
scopes and the service's limits.

Stateless with JSON responses: no session lives in a worker, so any worker answers any
request, a key revoked mid-conversation fails its next request, and no SSE stream holds a
work slot. Server-to-client requests (sampling, elicitation) are therefore not offered.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from octomem.errors import ConfigurationError, LLMError, OctomemError, StoreError
from octomem.logs import get_logger
from octomem.mcp_server import Access, Right, tools_server
from octomem.orchestrator.engine import Orchestrator
from octomem.sensitive import mask_text
from octomem.service import context
from octomem.service.auth import Forbidden, Unauthorized, admitted
from octomem.service.context import RequestInfo
from octomem.service.deps import Caller, project_orchestrator
from octomem.service.problems import Problem
from octomem.service.state import State
from octomem.stores import causal

log = get_logger(__name__)
PATH = "/mcp"
_REQUEST = "octomem.request"  # where the request's RequestInfo rides in the ASGI scope


@dataclass
class ServiceAccess(Caller):
    """A tool call as the key the envelope admitted (`octomem.mcp_server.Access`): the
    route's `Caller` - project, pinned user, limits, writes that finish - plus the tool's
    rights, audit counts and error messages."""

    info: RequestInfo

    def orchestrator(self) -> AbstractAsyncContextManager[Orchestrator]:
        return project_orchestrator(self.state, self.principal)

    def require(self, right: Right) -> None:
        self.principal.require(right)

    def count(self, **counts: int) -> None:
        context.count(**counts)

    def failure(self, exc: Exception) -> str | None:
        """What the model is told: octomem's message, except where it could name hosts,
        paths or a dependency's words (stores, the language model: logged instead)."""
        if isinstance(exc, Problem):
            return exc.detail
        if isinstance(exc, StoreError | LLMError | ConfigurationError):
            text = mask_text(str(exc))
            log.warning(
                "mcp call failed",
                request_id=self.info.request_id,
                kind=type(exc).__name__,
                error=text,
            )
            return (
                "a store or the language model is unavailable; retry later "
                f"(request id {self.info.request_id})"
            )
        if isinstance(exc, Forbidden | Unauthorized | OctomemError):
            return f"{type(exc).__name__}: {exc}"
        return None


class McpMount:
    """The MCP endpoint of one app: its `route`, and its `manager`, whose task group runs
    inside the app's lifespan."""

    def __init__(self, state: State) -> None:
        async def access_for(ctx: Context) -> Access:
            scope = getattr(ctx.request_context.request, "scope", {})
            info, principal = scope.get(_REQUEST), admitted(scope)
            if not isinstance(info, RequestInfo) or principal is None:
                raise ToolError("Unauthorized: no key admitted this request")  # not reached
            # this task (the SDK's) is the request's: its audit counts, user and bookmarks
            causal.begin(info)
            return ServiceAccess(principal, state, info)

        self.server = tools_server(access_for)
        self.server.streamable_http_app(  # builds the server's session manager
            json_response=True,
            stateless_http=True,
            # the key in the Authorization header is the protection (a browser that a
            # rebound DNS name points here has no key); Host and Origin are the proxy's
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=state.config.max_body_bytes,
        )
        self.manager: StreamableHTTPSessionManager = self.server.session_manager
        self._app = StreamableHTTPASGIApp(self.manager)
        self.route = Route(PATH, endpoint=self, name="mcp")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_REQUEST] = context.current()
        scope["route"] = self.route  # the audit line's route
        await self._app(scope, receive, send)
