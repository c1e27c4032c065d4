"""The inspector's forms: the recall playground, and the changes - edit a memory's text,
delete a memory, forget a user. A change is a confirmation page that names what will go
(GET) and a form that does it (POST, with the session's CSRF token); each needs its
key's scope (write, delete), is made by the Orchestrator call the API makes, through the
one write primitive (`Caller.write`), and gets its audit line from the envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from octomem.errors import InvalidInputError
from octomem.service import context
from octomem.service.deps import Deleter, Project, Reader, Writer
from octomem.service.ui.pages import HEADERS, UiRoute, check_csrf, render, user_segment
from octomem.service.ui.routes_browse import UserId, reach

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
# a route's own `dependencies` run before those of its parameters (scope, project): a
# forged form is refused before anything else is looked at
Csrf = Depends(check_csrf)
MemoryId = Annotated[str, Path(min_length=1, max_length=256)]


def _story(user: str, memory_id: str) -> str:
    return f"/ui/users/{user_segment(user)}/memories/{quote(memory_id, safe='')}"


def _as_of(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"as of: expected a date like 2025-04-01; got {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@router.get("/users/{user_id}/recall", response_class=HTMLResponse)
async def recall_form(request: Request, user_id: UserId, who: Reader) -> HTMLResponse:
    return render(request, "recall.html", user=reach(who, user_id), result=None, query="")


@router.post("/users/{user_id}/recall", response_class=HTMLResponse, dependencies=[Csrf])
async def recall(
    request: Request,
    user_id: UserId,
    who: Reader,
    orch: Project,
    query: Annotated[str, Form(min_length=1)],
    as_of: Annotated[str, Form(max_length=40)] = "",
    limit: Annotated[int, Form(ge=1, le=100)] = 10,
) -> HTMLResponse:
    user = reach(who, user_id)
    result = await orch.arecall(
        who.check_query(query), user_id=user, limit=who.check_page(limit), as_of=_as_of(as_of)
    )
    context.count(hits=len(result.hits))
    return render(
        request, "recall.html", user=user, result=result, query=query, as_of=as_of, limit=limit
    )


@router.get("/users/{user_id}/memories/{memory_id}/edit", response_class=HTMLResponse)
async def edit_form(
    request: Request, user_id: UserId, memory_id: MemoryId, who: Writer, orch: Project
) -> HTMLResponse:
    user = reach(who, user_id)
    record = await orch.aget(memory_id, user_id=user)
    return render(request, "edit.html", user=user, record=record)


@router.post("/users/{user_id}/memories/{memory_id}/edit", dependencies=[Csrf])
async def edit(
    user_id: UserId,
    memory_id: MemoryId,
    who: Writer,
    orch: Project,
    text: Annotated[str, Form(min_length=1, max_length=100_000)],
) -> Response:
    user = reach(who, user_id)
    updated = await who.write(orch.aupdate(memory_id, text, user_id=user))
    context.count(updated=1)
    return RedirectResponse(_story(user, updated.id), status_code=303, headers=HEADERS)


@router.get("/users/{user_id}/memories/{memory_id}/delete", response_class=HTMLResponse)
async def delete_form(
    request: Request, user_id: UserId, memory_id: MemoryId, who: Deleter, orch: Project
) -> HTMLResponse:
    user = reach(who, user_id)
    record = await orch.aget(memory_id, user_id=user)
    return render(request, "delete.html", user=user, record=record)


@router.post("/users/{user_id}/memories/{memory_id}/delete", dependencies=[Csrf])
async def delete(
    request: Request, user_id: UserId, memory_id: MemoryId, who: Deleter, orch: Project
) -> Response:
    user = reach(who, user_id)
    record = await orch.aget(memory_id, user_id=user)
    await who.write(orch.adelete(memory_id, user_id=user))
    context.count(deleted=1)
    return render(request, "done.html", user=user, deleted=record)


@router.get("/users/{user_id}/forget", response_class=HTMLResponse)
async def forget_form(
    request: Request, user_id: UserId, who: Deleter, orch: Project
) -> HTMLResponse:
    user = reach(who, user_id)
    stats = await orch.astats(user_id=user)
    return render(request, "forget.html", user=user, stats=stats)


@router.post("/users/{user_id}/forget", response_class=HTMLResponse, dependencies=[Csrf])
async def forget(
    request: Request,
    user_id: UserId,
    who: Deleter,
    orch: Project,
    confirm: Annotated[str, Form(max_length=256)] = "",
) -> HTMLResponse:
    user = reach(who, user_id)
    if confirm != user:
        raise InvalidInputError("type the user id to confirm: nothing was forgotten")
    report = await who.write(orch.aforget(user_id=user))
    context.count(deleted=report.total_memories)
    return render(request, "done.html", user=user, forgotten=report)
