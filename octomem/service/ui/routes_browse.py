"""The inspector's reading pages: a project's users, a user's memories by agent, one
memory's story, and the graph around a person. Every read goes through the Orchestrator
calls the API makes, in the caller's reach (`Caller.user`: a key pinned to a user names
that user only, whatever the URL says)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from octomem.errors import InvalidInputError, NotFoundError
from octomem.models import ListStatus, MemoryBase, MemoryPage, MemoryType
from octomem.service import context
from octomem.service.deps import Project, Reader
from octomem.service.routes_entities import users_in_reach
from octomem.service.ui import views
from octomem.service.ui.pages import UiRoute, render, user_of_segment

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
# a user id as `pages.user_segment` writes it: up to 256 characters, in base64url if need be
UserId = Annotated[str, Path(min_length=1, max_length=1_400)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]


def reach(who: Reader, user_id: str) -> str:
    """The user a page's path names, if the caller may see that user (403 for a key pinned
    to another)."""
    user = who.user(user_of_segment(user_id))
    assert user is not None
    return user


@router.get("/users", response_class=HTMLResponse)
async def users(
    request: Request,
    who: Reader,
    orch: Project,
    q: Annotated[str, Query(max_length=256)] = "",
    page: PageNo = 1,
) -> HTMLResponse:
    counts = await users_in_reach(who, orch)
    needle = q.strip().casefold()
    found = [(u, n) for u, n in counts.items() if n and needle in u.casefold()]
    context.count(records=len(found))
    return render(
        request, "users.html", page=views.page_of(found, page), q=q, total_users=len(counts)
    )


@router.get("/users/{user_id}", response_class=HTMLResponse)
async def user(
    request: Request,
    user_id: UserId,
    who: Reader,
    orch: Project,
    agent: MemoryType | None = None,
    all: bool = False,
    page: PageNo = 1,
) -> HTMLResponse:
    user = reach(who, user_id)
    # one page read through the keyword index (`Orchestrator.browse`): the same cost for
    # a user of 100 memories or 100,000; without an agent, the first with current ones
    status: ListStatus = "all" if all else "current"
    shown, number = await _page(orch, user, agent or MemoryType.CORE, status, page)
    if agent is None:
        current = [name for name, c in shown.counts.items() if c.current]
        chosen = MemoryType(current[0]) if current else MemoryType.EPISODIC
        if chosen != shown.memory_type:
            shown, number = await _page(orch, user, chosen, status, page)
    context.count(records=len(shown.records))
    now = orch.records.now()
    return render(
        request,
        "user.html",
        user=user,
        agents=shown.counts,
        totals={k: sum(getattr(c, k) for c in shown.counts.values()) for k in ("current", "past")},
        agent=shown.memory_type.value,
        all=all,
        page=views.Page(list(shown.records), number, shown.total),
        status=lambda r: views.status(r, now),
        pretty=views.pretty,
    )


async def _page(
    orch: Project, user: str, kind: MemoryType, status: ListStatus, number: int
) -> tuple[MemoryPage, int]:
    """Page `number` (past the end: the last) of `user`'s memories of `kind` in `status`."""
    size = views.PAGE_SIZE
    shown = await orch.abrowse(
        user_id=user, memory_type=kind, status=status, offset=(number - 1) * size, limit=size
    )
    last = max(1, -(-shown.total // size))
    return (shown, number) if number <= last else await _page(orch, user, kind, status, last)


async def _of_type(orch: Project, user: str, memory_type: MemoryType) -> list[MemoryBase]:
    """Every record of `memory_type` of `user`, superseded too (none: the Orchestrator
    runs without that agent)."""
    try:
        return await orch.aget_all(
            user_id=user, memory_types=[memory_type], include_superseded=True
        )
    except InvalidInputError:
        return []


@router.get("/users/{user_id}/memories/{memory_id}", response_class=HTMLResponse)
async def story(
    request: Request,
    user_id: UserId,
    memory_id: Annotated[str, Path(min_length=1, max_length=256)],
    who: Reader,
    orch: Project,
) -> HTMLResponse:
    user = reach(who, user_id)
    record = await orch.aget(memory_id, user_id=user)
    try:
        events = await orch.ahistory(memory_id, user_id=user)
    except NotFoundError:
        events = []
    successor = None
    if record.superseded_by:
        try:
            successor = await orch.aget(record.superseded_by, user_id=user)
        except NotFoundError:
            successor = None
    knowledge = await _of_type(orch, user, MemoryType.KNOWLEDGE)
    async with orch.running_call():  # `Records` reads: a call that `close` waits for
        turns = await orch.records.turns(record)
    now = orch.records.now()
    return render(
        request,
        "story.html",
        user=user,
        record=record,
        state=views.status(record, now),
        own=views.fields(record),
        events=events,
        successor=successor,
        turns=turns,
        edges=views.edges_of(record, knowledge),
        status=lambda r: views.status(r, now),
        pretty=views.pretty,
    )


@router.get("/users/{user_id}/graph", response_class=HTMLResponse)
async def graph(
    request: Request,
    user_id: UserId,
    who: Reader,
    orch: Project,
    around: Annotated[str, Query(max_length=256)] = "",
) -> HTMLResponse:
    user = reach(who, user_id)
    edges = await _of_type(orch, user, MemoryType.KNOWLEDGE)
    now = orch.records.now()
    chosen = views.around(edges, around.strip() or None)
    data = views.graph_data(chosen, now)
    return render(
        request,
        "graph.html",
        user=user,
        around=around,
        data=data,
        edges=sorted(chosen, key=lambda e: (e.created_at, e.id), reverse=True)[:100],
        status=lambda r: views.status(r, now),
    )
