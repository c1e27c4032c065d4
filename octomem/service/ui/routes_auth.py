"""Sign in (an API key for a session cookie), sign out (the session ended on every host),
and the inspector's front door."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from octomem.service.auth import admitted, grants
from octomem.service.deps import state_of
from octomem.service.keys import PREFIX
from octomem.service.ui.pages import (
    HEADERS,
    UiRoute,
    check_csrf,
    render,
    sessions,
    user_segment,
)
from octomem.service.ui.session import COOKIE, LOGIN_COOKIE, LOGIN_TTL_S, PATH

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)


def _home(user_id: str | None) -> str:
    return f"/ui/users/{user_segment(user_id)}" if user_id else "/ui/users"


@router.get("")
@router.get("/")
async def index(request: Request) -> Response:
    who = admitted(request.scope)
    target = "/ui/login" if who is None else _home(who.user_id)
    return RedirectResponse(target, status_code=303, headers=HEADERS)


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    store = sessions(request)
    nonce = store.login_nonce()
    page = render(request, "login.html", status, login_csrf=store.login_csrf(nonce), error=error)
    page.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_TTL_S,
        path="/ui/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return page


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    store = sessions(request)
    if not store.login_csrf_ok(request.headers.get("cookie"), csrf):
        return _login_page(request, 403, "The sign-in form expired: sign in again.")
    key = key.strip()
    found = await state_of(request).keys.verify(key) if key.startswith(PREFIX) else None
    if found is None or not grants(found.scopes, "read"):
        return _login_page(request, 401, "Unknown, revoked or expired key, or one without read.")
    answer = RedirectResponse(_home(found.user_id), status_code=303, headers=HEADERS)
    answer.set_cookie(
        COOKIE,
        store.issue(found.id, found.expires_at),
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    answer.delete_cookie(LOGIN_COOKIE, path="/ui/login")
    return answer


@router.post("/logout")
async def logout(request: Request) -> Response:
    if admitted(request.scope) is not None:
        await check_csrf(request)  # every POST of a session, this one too
        # ended on the server, for every host: a copy of the cookie is refused from now on
        await sessions(request).end(request.headers.get("cookie"), state_of(request).keys)
    answer = RedirectResponse("/ui/login", status_code=303, headers=HEADERS)
    answer.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
    return answer
