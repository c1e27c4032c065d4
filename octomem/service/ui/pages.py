"""What every inspector page shares: its templates, the signed-in caller, the CSRF check
and the error pages.

A route of the inspector is a `UiRoute`: whatever it raises becomes an HTML page with the
status the API would answer (403, 404, 422...) and no stack trace; no session (or one
whose key was revoked) sends the browser to the sign-in page.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from octomem.errors import InvalidInputError
from octomem.service import problems
from octomem.service.auth import Forbidden, Unauthorized, admitted, grants
from octomem.service.context import request_id
from octomem.service.ui.session import Sessions
from octomem.validation import validate_scope_id

log = logging.getLogger("octomem.service.ui")
HERE = Path(__file__).parent
STATIC = HERE / "static"
ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["q"] = lambda value: quote(str(value), safe="")


def user_segment(user_id: str) -> str:
    """`user_id` as the one path segment `/ui/users/{user_id}` reads. An id that a router
    or a browser would not read back as itself (one holding a `/`, `.` or `..`), and an id
    that begins with `~`, is written as `~` and its UTF-8 in base64url."""
    if "/" in user_id or user_id in {".", ".."} or user_id.startswith("~"):
        encoded = base64.urlsafe_b64encode(user_id.encode())
        user_id = "~" + encoded.decode("ascii").rstrip("=")
    return quote(user_id, safe="")


def user_of_segment(segment: str) -> str:
    """The user id a path segment written by `user_segment` names: a user id can be, whose
    one address it is (not a padded, re-encoded or otherwise other spelling)."""
    user_id = segment
    if segment.startswith("~"):
        body = segment[1:] + "=" * (-len(segment[1:]) % 4)
        try:
            user_id = base64.b64decode(body, altchars=b"-_", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            user_id = ""
    if user_segment(user_id) != quote(segment, safe=""):
        raise InvalidInputError("this is no user's address in the inspector")
    # a page reads or forgets: an id stored before the bidi controls were refused has one
    return validate_scope_id("user_id", user_id, existing=True) or user_id


ENV.filters["seg"] = user_segment
# scripts and styles from the package only; no frames, forms post to the inspector only
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def sessions(request: Request) -> Sessions:
    found: Sessions = request.app.state.ui_sessions
    return found


def render(request: Request, template: str, code: int = 200, **values: Any) -> HTMLResponse:
    who = admitted(request.scope)
    cookie = request.headers.get("cookie")
    context = {
        "who": who,
        "csrf": sessions(request).csrf(cookie) if who is not None else None,
        "can_write": who is not None and grants(who.scopes, "write"),
        "can_delete": who is not None and grants(who.scopes, "delete"),
        "request_id": request_id(),
        **values,
    }
    html = ENV.get_template(template).render(context)
    return HTMLResponse(html, status_code=code, headers=HEADERS)


async def check_csrf(request: Request) -> None:
    """403 unless the form carries the session's CSRF token (every POST of a session)."""
    form = await request.form()
    token = form.get("csrf")
    if not sessions(request).csrf_ok(request.headers.get("cookie"), str(token or "")):
        raise Forbidden("the form's security token is missing or stale: reload the page and retry")


def error_page(request: Request, exc: BaseException) -> Response:
    """`exc` as a page with the status, title and detail the API answers it with."""
    if isinstance(exc, Unauthorized):
        return RedirectResponse("/ui/login", status_code=303, headers=HEADERS)
    if isinstance(exc, problems.Problem):
        return render(request, "error.html", exc.status, title=exc.title, detail=exc.detail)
    if isinstance(exc, RequestValidationError):
        status, detail = problems.validation_detail(exc)
        return render(request, "error.html", status, title="Invalid input", detail=detail)
    if (answer := problems.known(exc)) is not None:
        status, _, title, detail = answer
        return render(request, "error.html", status, title=title, detail=detail)
    log.error("request %s failed", request_id(), exc_info=exc)
    return render(request, "error.html", 500, title="Internal error", detail="the server failed")


async def _check_form_is_utf8(request: Request) -> None:
    """Refuse a form body whose fields are not percent-encoded UTF-8, as a browser sends
    them: Starlette reads %FF as U+FFFD and a raw byte as Latin-1, a text no one typed."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await request.body()  # kept: the route reads its form from it
        try:
            unquote_to_bytes(body.decode("ascii")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError("the form's fields are not percent-encoded UTF-8") from None


class UiRoute(APIRoute):
    """An inspector route: its errors are HTML pages (`error_page`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                await _check_form_is_utf8(request)
                return await handler(request)
            except Exception as exc:
                return error_page(request, exc)

        return handle
