"""octomem's own API, under /v1: process, recall, the records of a scope (list, get,
update, delete, history), forget, stats; export, import and doctor for admin keys. Bodies
and answers are the library's own models or thin views of them. The records live under
/v1/records so they never meet mem0's /v1/memories/ routes.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict
from starlette.convertors import StringConvertor, register_url_convertor

from octomem.errors import InvalidInputError
from octomem.media.schema import Content, TextPart
from octomem.models import (
    ConsistencyReport,
    ExtractionReport,
    ForgetReport,
    HistoryEvent,
    ListStatus,
    MemoryOperation,
    MemoryPage,
    MemoryRecord,
    MemoryType,
    RecallResult,
    Stats,
)
from octomem.orchestrator.transfer import TransferSummary
from octomem.service import bodies, context
from octomem.service.deps import Admin, Anyone, Caller, Deleter, Project, Reader, Writer, need

router = APIRouter(prefix="/v1", tags=["octomem"])


class _MemoryId(StringConvertor):
    """A memory id in a path: never `page` (no type's prefix), so `PATCH /v1/records/page`
    is the 405 of a GET-only path, not an update of a memory called `page`."""

    regex = "(?!page$)[^/]+"


register_url_convertor("memory_id", _MemoryId())
Id = Annotated[str, Field(min_length=1, max_length=256)]
MemoryTypes = Annotated[list[MemoryType] | None, Field(None, max_length=8)]
OwnerQuery = Annotated[str | None, Query(min_length=1, max_length=256)]
_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


def _iso_text(value: Any) -> Any:
    """A date-time in a body is an ISO 8601 string, as the schema says: a number (or a
    string of one) is refused, not read as seconds since 1970."""
    if isinstance(value, datetime) or (isinstance(value, str) and not _NUMBER.fullmatch(value)):
        return value
    raise ValueError("expected an ISO 8601 date-time string, e.g. 2025-01-31T09:00:00Z")


# body fields take JSON's own types only (the schema's), not strings or numbers coerced
Instant = Annotated[datetime, BeforeValidator(_iso_text)]
Flag = Annotated[bool, Strict()]


class Body(BaseModel):
    """A request body: no unknown fields, and JSON's own types where the schema names
    them (Strict...): not 0 for false or "10" for 10."""

    model_config = ConfigDict(extra="forbid")


class MessageIn(Body):
    id: Id | None = Field(
        None,
        description="the client's id of this message: a retry with the same id stores "
        "nothing twice, and messages with different ids are different turns even when "
        "they say the same (without it, a turn is known by its session, position, text "
        "and timestamp)",
    )
    role: Literal["user", "assistant", "system", "tool"]
    content: Content
    name: str | None = Field(None, max_length=256)
    timestamp: Instant | None = None
    metadata: dict[str, Any] | None = None


def check_messages(who: Caller, messages: list[MessageIn]) -> None:
    """`messages` within the caller's limit; how many image and file parts they hold goes
    to the audit line (a number)."""
    who.check_messages(len(messages))
    parts = [
        p for m in messages for p in (m.content if isinstance(m.content, list) else [m.content])
    ]
    if files := sum(not isinstance(p, str | TextPart) for p in parts):
        context.count(attachments=files)


class ProcessRequest(Body):
    messages: list[MessageIn] | str = Field(description="the turns, or one user message")
    user_id: Id | None = None
    agent_id: Id | None = None
    session_id: Id | None = None
    metadata: dict[str, Any] | None = None
    timestamp: Instant | None = None
    memory_types: MemoryTypes = None
    infer: Flag = True


class ProcessResponse(Body):
    turns: int
    turn_memory_ids: list[str]
    added_turn_ids: list[str]
    operations: list[MemoryOperation]
    extraction: ExtractionReport
    errors: list[str]


class RecallRequest(Body):
    query: str = Field(min_length=1)
    user_id: Id | None = None
    agent_id: Id | None = None
    session_id: Id | None = None
    limit: Annotated[int, Strict()] = Field(10, ge=1)
    memory_types: MemoryTypes = None
    filters: dict[str, Any] | None = None
    include_superseded: Flag = False
    as_of: Instant | None = None


class UpdateRequest(Body):
    text: str = Field(min_length=1)
    metadata: dict[str, Any] | None = None


class ForgetRequest(Body):
    user_id: Id | None = Field(None, description="required, but for a key pinned to a user")
    agent_id: Id | None = None


class Deleted(Body):
    id: str | None = None
    deleted: int


@router.post("/process", response_model=ProcessResponse, summary="Store a conversation")
async def process(body: ProcessRequest, who: Writer, orch: Project) -> ProcessResponse:
    if isinstance(body.messages, list):
        check_messages(who, body.messages)
        messages: Any = [m.model_dump(exclude_none=True) for m in body.messages]
    else:
        messages = body.messages
    result = await who.write(
        orch.aprocess(
            messages,
            **who.scope(body.user_id, body.agent_id),
            session_id=body.session_id,
            metadata=body.metadata,
            timestamp=body.timestamp,
            memory_types=body.memory_types,
            infer=body.infer,
        )
    )
    context.count(messages=len(result.turns), operations=len(result.all_operations()))
    return ProcessResponse(
        turns=len(result.turns),
        turn_memory_ids=result.turn_memory_ids,
        added_turn_ids=result.added_turn_ids,
        operations=result.all_operations(),
        extraction=result.extraction,
        errors=[str(error) for error in result.errors],
    )


@router.post("/recall", response_model=RecallResult, summary="Hybrid recall with provenance")
async def recall(body: RecallRequest, who: Reader, orch: Project) -> RecallResult:
    result = await orch.arecall(
        who.check_query(body.query),
        **who.scope(body.user_id, body.agent_id),
        session_id=body.session_id,
        limit=who.check_page(body.limit),
        memory_types=body.memory_types,
        filters=body.filters,
        include_superseded=body.include_superseded,
        as_of=body.as_of,
    )
    context.count(hits=len(result.hits))
    return result


@router.get("/records", response_model=list[MemoryRecord], summary="The memories of a scope")
async def list_records(
    who: Reader,
    orch: Project,
    user_id: OwnerQuery = None,
    agent_id: OwnerQuery = None,
    session_id: OwnerQuery = None,
    memory_type: Annotated[list[MemoryType] | None, Query(max_length=8)] = None,
    include_superseded: bool = False,
    limit: Annotated[int, Query(ge=1)] = 100,
    as_of: datetime | None = None,
) -> list[Any]:
    records = await orch.aget_all(
        **who.scope(user_id, agent_id),
        session_id=session_id,
        memory_types=memory_type,
        include_superseded=include_superseded,
        limit=who.check_page(limit),
        as_of=as_of,
    )
    context.count(records=len(records))
    return records


@router.get("/records/page", response_model=MemoryPage, summary="A page of a user's memories")
async def page_records(
    who: Reader,
    orch: Project,
    memory_type: MemoryType,
    user_id: OwnerQuery = None,
    status: ListStatus = "current",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1)] = 50,
) -> MemoryPage:
    """`Orchestrator.browse`: newest first, current, past or all (current first); a key
    pinned to a user pages that user's."""
    user = who.user(user_id)
    if user is None:
        raise InvalidInputError("user_id is required: whose memories?")
    page = await orch.abrowse(
        user_id=user,
        memory_type=memory_type,
        status=status,
        offset=offset,
        limit=who.check_page(limit),
    )
    context.count(records=len(page.records))
    return page


async def _owner(who: Anyone, user_id: OwnerQuery = None, agent_id: OwnerQuery = None) -> Any:
    """The scope a route on one memory reads it in (`Caller.scope`; none required)."""
    return who.scope(user_id, agent_id, required=False)


# after the route's own caller (its scope checked first), before the project is opened
Owner = Annotated[dict[str, Any], Depends(_owner)]


@router.get("/records/{memory_id:memory_id}", response_model=MemoryRecord, summary="One memory")
async def get_record(memory_id: str, who: Reader, owner: Owner, orch: Project) -> Any:
    return await orch.aget(memory_id, **owner)


@router.patch(
    "/records/{memory_id:memory_id}", response_model=MemoryRecord, summary="Rewrite a memory"
)
async def update_record(
    memory_id: str, body: UpdateRequest, who: Writer, owner: Owner, orch: Project
) -> Any:
    return await who.write(orch.aupdate(memory_id, body.text, metadata=body.metadata, **owner))


@router.delete("/records/{memory_id:memory_id}", response_model=Deleted, summary="Delete a memory")
async def delete_record(memory_id: str, who: Deleter, owner: Owner, orch: Project) -> Deleted:
    await who.write(orch.adelete(memory_id, **owner))
    return Deleted(id=memory_id, deleted=1)


@router.delete("/records", response_model=Deleted, summary="Delete the memories of a scope")
async def delete_records(
    who: Deleter,
    orch: Project,
    user_id: OwnerQuery = None,
    agent_id: OwnerQuery = None,
    session_id: OwnerQuery = None,
) -> Deleted:
    scope = who.scope(user_id, agent_id)
    count = await who.write(orch.adelete_all(**scope, session_id=session_id))
    return Deleted(deleted=count)


@router.get(
    "/records/{memory_id}/history",
    response_model=list[HistoryEvent],
    summary="Every change of a memory",
)
async def history(memory_id: str, who: Reader, owner: Owner, orch: Project) -> list[HistoryEvent]:
    return await orch.ahistory(memory_id, **owner)


@router.post("/forget", response_model=ForgetReport, summary="Remove every trace of a user")
async def forget(body: ForgetRequest, who: Deleter, orch: Project) -> ForgetReport:
    user = who.user(body.user_id)
    if user is None:
        raise InvalidInputError("forget needs user_id (a key pinned to a user forgets its own)")
    return await who.write(orch.aforget(user_id=user, agent_id=body.agent_id))


@router.get("/stats", summary="Counts per memory type")
async def stats(who: Reader, orch: Project, user_id: OwnerQuery = None) -> Stats:
    return await orch.astats(user_id=who.user(user_id))


@router.get(
    "/export",
    summary="Every memory of the project (or a user) as JSONL",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def export(who: Admin, orch: Project, user_id: OwnerQuery = None) -> StreamingResponse:
    scratch = bodies.nameless(who.state.settings.data_dir / "service" / "tmp")
    try:
        text = io.TextIOWrapper(scratch, encoding="utf-8", newline="")
        summary = await orch.aexport_jsonl(text, user_id=who.user(user_id))
        text.flush()
        text.detach()
        scratch.seek(0)
    except BaseException:
        scratch.close()
        raise
    context.count(memories=summary.memories)

    async def lines() -> AsyncIterator[bytes]:
        with scratch:
            while chunk := await asyncio.to_thread(scratch.read, 1 << 16):
                yield chunk

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post(
    "/import",
    response_model=TransferSummary,
    summary="Restore a JSONL export (all or nothing)",
    openapi_extra={
        "requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    },
)
async def import_(
    request: Request,
    # its lines may name any user
    who: Annotated[Caller, Depends(need("admin", whole_project="an import"))],
    orch: Project,
    skip_invalid: bool = False,
) -> TransferSummary:
    summary = await bodies.read_as_it_arrives(  # never on disk as sent: masked as read
        request.stream(),
        lambda body: orch.aimport_jsonl(body, skip_invalid=skip_invalid),
        who.write,
    )
    context.count(memories=summary.memories)
    return summary


@router.get("/doctor", response_model=ConsistencyReport, summary="Check the stores agree")
async def doctor(
    # its report counts and names every user's memories
    who: Annotated[Caller, Depends(need("admin", whole_project="doctor"))],
    orch: Project,
) -> ConsistencyReport:
    return await orch.acheck(repair=False)
