"""The HTTP service: `create_app(settings)` builds the FastAPI app.

Layers, outermost first: `Envelope` (request id, body size, who calls and its rate, work
bound, deadline, audit line, tracing span: what must precede routing or cover the whole
request, /mcp's too), the routes' dependencies (`deps`: the caller and its scope, its
project's Orchestrator), the routes (mem0-compatible, octomem's own under /v1, OAuth2,
health, MCP), and the problem handlers that turn every error into
``application/problem+json``.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from octomem import __version__
from octomem.errors import InvalidInputError
from octomem.logs import get_logger
from octomem.sensitive import mask_text
from octomem.service import bookmarks, outcome, problems, ui
from octomem.service.auth import ADMITTED, Unauthorized, authenticate
from octomem.service.context import RequestInfo
from octomem.service.state import State
from octomem.service.ui.session import Sessions
from octomem.settings import Settings, for_remote_callers
from octomem.stores import causal
from octomem.telemetry import configure_tracing, set_attributes, span

log = get_logger(__name__)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PUBLIC = ("/healthz", "/readyz", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/oauth/token")
STREAMED = ("/v1/import",)  # routes that read their body as a stream, with their own cap


class _BodyTooLarge(problems.Problem):
    def __init__(self, cap: int, setting: str) -> None:
        detail = f"the request body exceeds {cap:,} bytes (service.{setting})"
        super().__init__(413, "too-large", "Body too large", detail)


class Envelope:
    """Pure ASGI middleware around every HTTP request."""

    def __init__(self, app: ASGIApp, state: State, sessions: Sessions) -> None:
        self.app = app
        self.state = state
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        # the audit log keeps the id: one that holds a secret is not taken
        taken = _REQUEST_ID.fullmatch(given) and mask_text(given) == given
        info = RequestInfo(request_id=given if taken else uuid.uuid4().hex)
        # the request's context (its audit line, its bookmarks): its tasks', none after it
        with causal.within(info):
            await self._enveloped(scope, receive, send, headers, info)

    async def _enveloped(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], info: RequestInfo
    ) -> None:
        media_type = problems.media_type_for(scope)
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                mine = (b"x-request-id", bookmarks.HEADER.encode())
                extra = [(b"x-request-id", info.request_id.encode())]
                if info.written:  # the bookmarks that follow the request's graph writes
                    header = bookmarks.encode(info.written)
                    extra.append((bookmarks.HEADER.encode(), header.encode()))
                message["headers"] = [
                    h for h in message.get("headers", []) if h[0].lower() not in mine
                ] + extra
            await send(message)

        with span("http.request", method=scope.get("method"), request_id=info.request_id) as sp:
            try:
                # its graph reads start after the writes of the header's bookmarks
                info.after = bookmarks.decode(headers.get(bookmarks.HEADER, ""))
                await self._handle(scope, receive, send_with_id, headers, info)
            except asyncio.CancelledError:
                # the shutdown grace ran out with this request in flight: a problem body
                # rather than the server's bare-text 500, and the request ends there
                # (re-raised, uvicorn would log it as a crash, with a traceback)
                why = outcome.cut_off(info, "the service stopped before this request finished")
                cut = problems.unavailable("shutting-down", "Shutting down", why)
                await self._answer(send_with_id, status, cut, media_type)
                log.warning("request_cut_at_shutdown", request_id=info.request_id)
            except TimeoutError:
                deadline = f"{self.state.config.deadline_s:g} s (service.deadline_s)"
                why = outcome.cut_off(info, f"the request ran longer than {deadline}")
                late = problems.unavailable("deadline", "Deadline exceeded", why)
                await self._answer(send_with_id, status, late, media_type)
            # a body too large (a Problem), the key store unable to answer (server mode,
            # 503), and any defect: a 500 with the request's id (its traceback logged under
            # it), its header and its audit line
            except Exception as exc:
                if status["sent"]:  # (too late for a problem body: logged here instead)
                    error = f"{type(exc).__name__}: {exc}"
                    log.error(
                        "request_failed_mid_response", request_id=info.request_id, error=error
                    )
                await self._answer(send_with_id, status, exc, media_type)
            route = getattr(scope.get("route"), "path", None) or self._template(scope)
            duration = (time.perf_counter() - started) * 1000
            line = self.state.audit.record(
                info,
                method=str(scope.get("method")),
                route=route,
                status=int(status["code"]),
                duration_ms=duration,
            )
            set_attributes(sp, **{k: v for k, v in line.items() if k not in ("time", "counts")})

    def _template(self, scope: Scope) -> str:
        """The route template a request was for when it was answered before routing (401,
        413, 429...): never the raw path, which may carry ids."""
        for route in self.state.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "path", "(unmatched)"))
        return "(unmatched)"

    async def _answer(
        self, send: Send, status: dict[str, Any], exc: BaseException, media_type: str
    ) -> None:
        if status["sent"]:
            return  # too late for a status: the client sees a cut response
        await problems.for_error(exc, media_type)({"type": "http"}, _no_body, send)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], info: RequestInfo
    ) -> None:
        config, path = self.state.config, scope.get("path", "")
        streamed = path in STREAMED
        setting = "max_import_bytes" if streamed else "max_body_bytes"
        cap = getattr(config, setting)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _BodyTooLarge(cap, setting)
        principal = None
        if ui.is_ui(path):
            # the inspector: signed in by its session cookie (None: its sign-in page, its
            # static files, or a redirect to sign in), never by an Authorization header
            if ui.needs_session(path):
                principal = await self.sessions.principal(headers.get("cookie"), self.state.keys)
        elif path not in PUBLIC:
            # who calls (401), within its rate (429): before the body is read, so an
            # unknown caller costs nothing
            sent = [v for k, v in scope["headers"] if k.lower() == b"authorization"]
            if len(sent) > 1:  # which one would be the caller's?
                raise Unauthorized(f"send one Authorization header; this request has {len(sent)}")
            principal = await authenticate(headers.get("authorization"), self.state.keys, config)
        if principal is not None:
            info.admit(principal)
            self.state.charge(principal)
            scope[ADMITTED] = principal  # for the routes' dependencies (`deps.caller`)
        _check_url_is_utf8(scope)
        if not streamed:
            receive = await _buffered(receive, cap, setting)
        else:
            receive = _counted(receive, cap, setting)
        if principal is None:
            await self.app(scope, receive, send)
            return
        with self.state.gate.slot(principal.key_id):
            async with asyncio.timeout(config.deadline_s):
                await self.app(scope, receive, send)


def _check_url_is_utf8(scope: Scope) -> None:
    """Refuse a path or query string whose (percent-encoded) bytes are not UTF-8: every
    route would read them as U+FFFD, "?user_id=%FF" as a user no one named."""
    for part, raw in (("path", scope.get("raw_path")), ("query string", scope["query_string"])):
        try:
            unquote_to_bytes(raw or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError(f"the URL's {part} holds bytes that are not UTF-8") from None


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _buffered(receive: Receive, cap: int, setting: str) -> Receive:
    """Read the whole body first (at most `cap` bytes), then hand it on."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _replay(message, receive)
        body += message.get("body", b"")
        if len(body) > cap:
            raise _BodyTooLarge(cap, setting)
        if not message.get("more_body", False):
            return _replay({"type": "http.request", "body": bytes(body)}, receive)


def _replay(message: Message, then: Receive) -> Receive:
    """`message` first, then the connection's own (a disconnect when the client goes)."""
    pending = [message]

    async def replayed() -> Message:
        return pending.pop() if pending else await then()

    return replayed


def _counted(receive: Receive, cap: int, setting: str) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > cap:
            raise _BodyTooLarge(cap, setting)
        return message

    return counted


def create_app(settings: Settings, *, audit_per_worker: bool = False) -> FastAPI:
    """The service over `settings` (its data directory holds the keys and audit log).
    `audit_per_worker`: this process writes its own audit file (one of several workers)."""
    from octomem.service import (
        access_log,
        routes_entities,
        routes_health,
        routes_mem0,
        routes_oauth,
        routes_v1,
    )
    from octomem.service.mcp_mount import McpMount
    from octomem.service.ui import routes_actions, routes_auth, routes_browse
    from octomem.service.ui.pages import STATIC

    configure_tracing(settings.telemetry)
    settings = for_remote_callers(settings)  # a caller never makes the server read its files
    state = State(settings, audit_per_worker=audit_per_worker)
    mcp = McpMount(state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        access_log.install()
        await state.keys.init()
        await state.pool.start()
        state.started = True
        try:
            async with mcp.manager.run():
                yield
        finally:
            await state.pool.close(state.config.shutdown_grace_s)
            await state.keys.close()
            state.audit.close()

    app = FastAPI(
        title="octomem",
        version=__version__,
        summary="Memory for LLM agents: mem0-compatible routes and octomem's own /v1 API",
        lifespan=lifespan,
    )
    app.state.octomem = state
    sessions = Sessions.for_settings(settings)
    app.state.ui_sessions = sessions
    problems.install(app)
    mem0_problems = problems.common_responses("application/json")
    # each module's router, with the problems its routes document
    routers = {
        routes_health: None,
        routes_oauth: None,
        routes_v1: problems.COMMON_RESPONSES,
        routes_mem0: mem0_problems,
        routes_entities: mem0_problems,
        **dict.fromkeys((routes_auth, routes_browse, routes_actions)),
    }
    for module, responses in routers.items():
        app.include_router(module.router, responses=responses)
    app.mount(ui.PREFIX + "/static", StaticFiles(directory=STATIC), name="ui-static")
    app.router.routes.append(mcp.route)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    state.routes = [r for m in routers for r in m.router.routes] + [mcp.route]
    app.add_middleware(Envelope, state=state, sessions=sessions)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus how to authenticate: every route but the public ones
    takes an API key or an access token in the Authorization header."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        doc = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        doc.setdefault("components", {})["securitySchemes"] = {
            "token": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "'Token <key>' (mem0's client) or 'Bearer <key or access token>'",
            },
            "bearer": {"type": "http", "scheme": "bearer"},
        }
        for path, operations in doc.get("paths", {}).items():
            if path in PUBLIC:
                continue
            for operation in operations.values():
                operation["security"] = [{"token": []}, {"bearer": []}]
        app.openapi_schema = doc
    return app.openapi_schema
