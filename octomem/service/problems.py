"""Every error the service answers is ``application/problem+json`` (RFC 9457): type,
title, status, detail and the request id. Each octomem error type maps to one status;
anything unexpected is a 500 whose body says nothing but the request id (the traceback
goes to the server's log, never to the client)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from octomem.errors import (
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    LLMError,
    NotFoundError,
    OctomemError,
    StoreError,
)
from octomem.sensitive import mask
from octomem.service.auth import Forbidden, Unauthorized
from octomem.service.context import request_id

log = logging.getLogger("octomem.service")

PROBLEM = "application/problem+json"
_BASE = "https://octomem.dev/problems/"

# (error type, status, slug, title): the first that matches wins
_MAP: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (Unauthorized, 401, "unauthorized", "Unauthorized"),
    (Forbidden, 403, "forbidden", "Forbidden"),
    (NotFoundError, 404, "not-found", "Not found"),
    (ConflictError, 409, "conflict", "Conflict"),
    (InvalidInputError, 422, "invalid-input", "Invalid input"),
    (StoreError, 503, "store-unavailable", "Store unavailable"),
    (LLMError, 503, "llm-unavailable", "Language model unavailable"),
    (ConfigurationError, 503, "misconfigured", "Service misconfigured"),
    (OctomemError, 400, "bad-request", "Bad request"),
)
RETRY_AFTER_S = 5


class ProblemBody(BaseModel):
    """RFC 9457 problem details, plus the request id."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None = None


_COMMON = {
    400: "malformed request (the body is not JSON)",
    401: "no key, or an unknown, revoked or expired one",
    403: "the key lacks the scope, or is pinned to another user",
    404: "no such memory in this project and scope",
    409: "the call ran into another that changed the same memories",
    413: "the body is larger than service.max_body_bytes (max_import_bytes for an import)",
    422: "invalid input; the detail names the field or limit",
    429: "over the key's rate limit; see Retry-After",
    503: "busy, past the deadline, or a store is unavailable; see Retry-After",
}


def common_responses(media_type: str = PROBLEM) -> dict[int | str, dict[str, Any]]:
    """What any authenticated route may answer besides its own results."""
    schema = {"schema": ProblemBody.model_json_schema()}
    return {
        status: {"description": text, "content": {media_type: schema}}
        for status, text in _COMMON.items()
    }


COMMON_RESPONSES = common_responses()
# mem0's client reads an error's `detail` only from a body typed application/json: its
# routes send the same problem body under that type
MEM0_PATHS = (  # the paths mem0's client calls: it reads problems typed application/json
    *("/v1/ping/", "/v1/memories/", "/v3/memories/", "/v1/entities/", "/v1/batch/", "/v2/"),
    *("/v1/exports/", "/v1/summary/", "/v1/feedback/", "/api/v1/"),
)


def media_type_for(scope: Mapping[str, Any]) -> str:
    """The media type of the problem bodies the request of ASGI `scope` gets."""
    return "application/json" if scope.get("path", "").startswith(MEM0_PATHS) else PROBLEM


class Problem(Exception):
    """An error answered with `status` and a problem body (limits, unsupported routes)."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}


def unavailable(slug: str, title: str, detail: str, after_s: int = RETRY_AFTER_S) -> Problem:
    """A 503 whose Retry-After says when to try again."""
    return Problem(503, slug, title, detail, {"Retry-After": str(after_s)})


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    media_type: str = PROBLEM,
    **extra: Any,
) -> JSONResponse:
    rid = request_id()
    body = {
        "type": _BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": rid,
        **extra,
    }
    response = JSONResponse(body, status_code=status, media_type=media_type, headers=headers)
    if rid:
        response.headers["X-Request-ID"] = rid
    return response


def for_error(exc: BaseException, media_type: str = PROBLEM) -> JSONResponse:
    """The problem response for an error raised by a route or the library."""
    if isinstance(exc, Problem):
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, exc.headers, media_type=media_type
        )
    if (answer := known(exc)) is not None:
        status, slug, title, detail = answer
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        if status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="octomem"'}
        extra: dict[str, Any] = {}
        rejected = getattr(exc, "rejected", None)
        if isinstance(rejected, list):
            extra["rejected"] = [_jsonable(r) for r in rejected[:100]]
        return problem_response(
            status, slug, title, detail, headers, media_type=media_type, **extra
        )
    log.error("request %s failed", request_id(), exc_info=exc)
    return problem_response(
        500,
        "internal",
        "Internal error",
        "the server failed; quote the request id",
        media_type=media_type,
    )


def known(exc: BaseException) -> tuple[int, str, str, str] | None:
    """The status, slug, title and detail (masked) the service answers `exc` with: the
    API's problem body, the inspector's error page. None for a defect (a 500)."""
    for kind, status, slug, title in _MAP:
        if isinstance(exc, kind):
            return status, slug, title, _detail(exc, status)
    return None


def _detail(exc: BaseException, status: int) -> str:
    # an error may quote what the caller sent (a value of the wrong type) or what a store
    # said: masked like any text, in the answer and in the log
    text = mask(str(exc)).text
    if status == 503 and not isinstance(exc, ConfigurationError):
        # a store's or model's message may name hosts or paths: keep it in the log
        log.warning("request %s: %s: %s", request_id(), type(exc).__name__, text)
        return "a store or the language model is unavailable; retry later"
    if status == 503:
        log.error("request %s: %s", request_id(), text)
        return "the service is misconfigured; see its log"
    return text


def _jsonable(value: object) -> object:
    dump = getattr(value, "_asdict", None) or getattr(value, "model_dump", None)
    if dump is not None:
        return dump()
    return value if isinstance(value, dict | str | int | float | list) else str(value)


def validation_detail(exc: RequestValidationError) -> tuple[int, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "the body is not valid JSON"
    parts = []
    for error in errors[:10]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    # a field's name (an unknown key of the body) or a tag quoted back may be a secret
    return 422, mask("; ".join(parts)).text


def _parse_failure(exc: StarletteHTTPException) -> str | None:
    """Why FastAPI could not read a JSON body it took for JSON (its own detail says only
    "There was an error parsing the body")."""
    cause = exc.__cause__
    if exc.status_code != 400 or not isinstance(cause, ValueError | RecursionError):
        return None
    if isinstance(cause, RecursionError):
        return "the body is not JSON this service reads: it is nested too deeply"
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not UTF-8"
    if "digits" in str(cause):
        return "the body is not JSON this service reads: a number has more than 4,300 digits"
    return "the body is not valid JSON"


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request) -> str:
    """Every method the path takes (RFC 9110: a 405 lists them all), not only those of
    the one route Starlette tried: FastAPI makes one route per method."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    )


def install(app: FastAPI) -> None:
    """Register the problem handlers on `app`."""

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        status, detail = validation_detail(exc)
        slug = "malformed" if status == 400 else "invalid-input"
        return problem_response(
            status, slug, "Invalid request", detail, media_type=media_type_for(request.scope)
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        detail = _parse_failure(exc) or str(exc.detail)
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request)
        return problem_response(
            exc.status_code,
            title.lower().replace(" ", "-"),
            title,
            detail,
            headers,
            media_type=media_type_for(request.scope),
        )

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        return for_error(exc, media_type_for(request.scope))

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # (any other error reaches `app.Envelope`, which answers it with the request's id: a
    # handler for Exception would run in Starlette's outermost layer, outside it)
    for kind in (Problem, OctomemError, Unauthorized, Forbidden):
        app.add_exception_handler(kind, on_error)
