"""mem0-compatible routes: what mem0's Python client (`mem0ai` 2.2.x, ``host=`` set to this
service) calls, with mem0's request and response shapes; the items are those of octomem's
mem0-style `Memory` facade. The differences from mem0's platform are in docs/service.md:
`add` answers once processed, filters run as in `mem0_filters`, fields octomem cannot
honour are refused (422), and errors are problem+json bodies mem0's client raises as its
own exception types.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from octomem.errors import InvalidInputError
from octomem.filters import parse_datetime
from octomem.mem0_filters import translate
from octomem.memory import (
    UNSUPPORTED,
    add_items,
    as_datetime,
    history_item,
    list_scopes,
    recall_scopes,
    search_items,
    to_item,
)
from octomem.models import said_text
from octomem.service import context
from octomem.service.deps import Anyone, Deleter, Project, Reader, Writer
from octomem.service.mem0_models import (
    ORG_ID,
    AddItem,
    AddRequest,
    AddResponse,
    GetAllRequest,
    HistoryItem,
    Item,
    Message,
    Page,
    Ping,
    SearchRequest,
    SearchResponse,
    UpdateRequest,
    refuse,
)
from octomem.service.routes_entities import delete_across_users
from octomem.service.routes_v1 import OwnerQuery, check_messages

router = APIRouter(tags=["mem0"])


def _only(*names: str) -> Any:
    """A dependency refusing query parameters other than `names` (a misspelt scope must
    not widen what a call reaches): ``_: Annotated[None, _only(...)]``."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            allowed = ", ".join(names) or "none"
            raise InvalidInputError(
                f"unknown query parameter(s) {', '.join(unknown)}; allowed: {allowed}"
            )

    return Depends(check)


@router.get("/v1/ping/", response_model=Ping, summary="Check the key (mem0's client calls it)")
async def ping(who: Anyone, _: Annotated[None, _only()]) -> Ping:
    return Ping(status="ok", project_id=who.principal.project, org_id=ORG_ID)


@router.post(
    "/v3/memories/add/",
    response_model=AddResponse,
    summary="Add memories (mem0)",
    response_model_exclude_unset=True,
)
async def add(body: AddRequest, who: Writer, orch: Project) -> AddResponse:
    refuse(**body.model_dump(include=set(UNSUPPORTED) - {"timestamp"}))  # add honours it
    ids = _add_entities(body)
    check_messages(who, body.messages)
    result = await who.write(
        orch.aprocess(
            [m.model_dump(exclude_none=True) for m in body.messages],
            **who.scope(ids.get("user_id"), ids.get("agent_id")),
            session_id=ids.get("run_id"),
            metadata=body.metadata,
            timestamp=as_datetime(body.timestamp),
            infer=body.infer,
        )
    )
    items = add_items(result, infer=body.infer)
    context.count(messages=len(result.turns), operations=len(items))
    return AddResponse(results=[AddItem(**item) for item in items], status="SUCCEEDED")


def _add_entities(body: AddRequest) -> dict[str, str]:
    """The ids to store under: top-level ones and those in `filters` (plain values)."""
    ids = {k: v for k in ("user_id", "agent_id", "run_id") if (v := getattr(body, k))}
    for key, value in (body.filters or {}).items():
        if key == "app_id":
            refuse(app_id=value)
        if key not in ("user_id", "agent_id", "run_id") or not isinstance(value, str):
            raise InvalidInputError(
                "add's filters hold the ids to store under: user_id, agent_id and run_id, "
                f"each a plain string; got {key!r}"
            )
        if ids.setdefault(key, value) != value:
            raise InvalidInputError(f"{key} is given twice with different values")
    return ids


@router.get(
    "/v1/memories/{memory_id}/",
    response_model=Item,
    summary="One memory",
    response_model_exclude_unset=True,
)
async def get(
    memory_id: str, who: Reader, _: Annotated[None, _only()], orch: Project
) -> dict[str, Any]:
    return _fields(to_item(await orch.aget(memory_id, **who.scope(None, required=False))))


@router.post(
    "/v3/memories/",
    response_model=Page,
    summary="Memories by filter",
    response_model_exclude_unset=True,
)
async def get_all(
    body: GetAllRequest,
    request: Request,
    who: Reader,
    _: Annotated[None, _only("page", "page_size")],
    orch: Project,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1)] = 100,
) -> dict[str, Any]:
    refuse(categories=body.categories)
    who.check_page(page_size)
    dates = [
        {"created_at": {op: _date(value, name)}}
        for name, op, value in (
            ("start_date", "gte", body.start_date),
            ("end_date", "lte", body.end_date),
        )
        if value is not None
    ]
    scopes, where = translate(body.filters, body.as_filter(), *dates, reach=who.user)
    records = await list_scopes(
        orch, scopes, filters=where, include_superseded=body.include_superseded()
    )
    start = (page - 1) * page_size
    shown = records[start : start + page_size]
    context.count(records=len(shown))

    def link(number: int) -> str | None:
        if number < 1 or (number - 1) * page_size >= len(records):
            return None
        # a relative reference: a link built from the Host header would send the client
        # wherever a request said the service was
        url = request.url.include_query_params(page=number, page_size=page_size)
        return f"{url.path}?{url.query}"

    return {
        "count": len(records),
        "next": link(page + 1),
        "previous": link(page - 1) if page > 1 else None,
        "results": [_fields(to_item(r), body.fields) for r in shown],
    }


@router.post(
    "/v3/memories/search/",
    response_model=SearchResponse,
    summary="Search",
    response_model_exclude_unset=True,
)
async def search(body: SearchRequest, who: Reader, orch: Project) -> dict[str, Any]:
    refuse(categories=body.categories)
    limit = who.check_page(body.top_k)
    query = who.check_query(body.query)
    wanted = {"metadata": body.metadata} if body.metadata else None
    scopes, where = translate(body.filters, body.as_filter(), wanted, reach=who.user)
    recalled = await recall_scopes(
        orch,
        query,
        scopes,
        limit=limit,
        filters=where,
        include_superseded=body.include_superseded(),
        now=_reference(body.reference_date),
    )
    items = search_items(recalled, body.threshold)  # checked by SearchRequest
    context.count(hits=len(items))
    return {"results": [_fields(item, body.fields) for item in items]}


@router.put(
    "/v1/memories/{memory_id}/",
    response_model=Item,
    summary="Update",
    response_model_exclude_unset=True,
)
async def update(
    memory_id: str, body: UpdateRequest, who: Writer, _: Annotated[None, _only()], orch: Project
) -> dict[str, Any]:
    refuse(timestamp=body.timestamp, expiration_date=body.expiration_date)
    scope = who.scope(None, required=False)
    if body.text is None and body.metadata is None:
        if "expiration_date" not in body.model_fields_set:
            raise InvalidInputError("update needs text, metadata or expiration_date")
        old = await orch.aget(memory_id, **scope)  # no expiry was asked: nothing changes
        return _fields({**to_item(old), "text": said_text(old)})
    # text None: metadata only, the text stays as it is when the write happens
    new = await who.write(orch.aupdate(memory_id, body.text, metadata=body.metadata, **scope))
    return _fields({**to_item(new), "text": said_text(new)})


@router.delete("/v1/memories/{memory_id}/", response_model=Message, summary="Delete a memory")
async def delete(
    memory_id: str,
    who: Deleter,
    _: Annotated[None, _only("delete_linked")],
    orch: Project,
    delete_linked: bool = False,
) -> Message:
    refuse(delete_linked=delete_linked)
    await who.write(orch.adelete(memory_id, **who.scope(None, required=False)))
    context.count(deleted=1)
    return Message(message="Memory deleted successfully!")


@router.delete("/v1/memories/", response_model=Message, summary="Delete a scope's memories")
async def delete_all(
    who: Deleter,
    _: Annotated[None, _only("user_id", "agent_id", "run_id", "app_id")],
    orch: Project,
    user_id: OwnerQuery = None,
    agent_id: OwnerQuery = None,
    run_id: OwnerQuery = None,
    app_id: OwnerQuery = None,
) -> Message:
    refuse(app_id=app_id)
    if user_id is None and (agent_id is not None or run_id is not None):
        # an agent's or a run's memories: in every user's scope the key reaches
        count = await delete_across_users(who, orch, agent_id=agent_id, run_id=run_id)
    else:
        count = await who.write(orch.adelete_all(**who.scope(user_id, agent_id), session_id=run_id))
        context.count(deleted=count)
    return Message(message=f"Memories deleted successfully! ({count})")


@router.get(
    "/v1/memories/{memory_id}/history/",
    response_model=list[HistoryItem],
    summary="Every change of a memory",
)
async def history(
    memory_id: str, who: Reader, _: Annotated[None, _only()], orch: Project
) -> list[dict[str, Any]]:
    events = await orch.ahistory(memory_id, **who.scope(None, required=False))
    context.count(events=len(events))
    return [{**history_item(event), "user_id": event.user_id} for event in events]


def _fields(item: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
    """An item as the service answers it: an empty ``metadata`` left out, as every other
    empty key is; `fields`: the keys to return (the id always)."""
    item = {k: v for k, v in item.items() if v is not None}
    if not fields:
        return item
    return {k: v for k, v in item.items() if k == "id" or k in fields}


def _date(value: str, name: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise InvalidInputError(f"{name} must be an ISO 8601 date or time, got {value!r}")
    return parsed


def _reference(value: str | int | None) -> datetime | None:
    if isinstance(value, str):
        return _date(value, "reference_date")
    return as_datetime(value, "reference_date")
