"""Request and answer bodies of the mem0-compatible routes (`routes_mem0`): every field
mem0's client 2.2.x can send is declared, honoured, ignored (documented as such) or
refused with 422 when ignoring it would mislead (`refuse`); anything else is 422."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt

from octomem import memory
from octomem.filters import Filter
from octomem.service.routes_v1 import Body, Id, MessageIn


def refuse(**fields: Any) -> None:
    """422 for fields set whose meaning octomem cannot honour (an empty value is unset)."""
    memory.refuse(**{k: v for k, v in fields.items() if not (v is False or v in ([], {}, ""))})


class _Entities(Body):
    """Entity ids at the top level (older clients and mem0's REST docs send them there;
    2.2.x sends them inside `filters`)."""

    user_id: Id | None = None
    agent_id: Id | None = None
    run_id: Id | None = None
    app_id: str | None = None
    version: str | None = Field(None, description="accepted and ignored (always v2 filters)")
    output_format: str | None = Field(None, description="accepted and ignored (always v1.1)")

    def as_filter(self) -> Filter | None:
        refuse(app_id=self.app_id)
        named = {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}
        clauses = [{k: {"eq": v}} for k, v in named.items() if v is not None]
        return {"AND": clauses} if clauses else None


class AddRequest(_Entities):
    messages: list[MessageIn] = Field(min_length=1)
    filters: dict[str, Any] | None = Field(
        None, description="entity ids: user_id, agent_id, run_id"
    )
    metadata: dict[str, Any] | None = None
    infer: StrictBool = True
    timestamp: StrictFloat | None = Field(
        None, description="Unix seconds: when the messages were said"
    )
    async_mode: StrictBool | None = Field(None, description="ignored: add always completes first")
    enable_graph: StrictBool | None = Field(
        None, description="ignored: octomem always keeps its graph"
    )
    custom_categories: list[dict[str, Any]] | None = Field(None, description="ignored")
    expiration_date: str | None = None
    immutable: StrictBool | None = None
    includes: str | None = None
    excludes: str | None = None
    custom_instructions: str | None = None
    agent_custom_instructions: str | None = None
    structured_data_schema: dict[str, Any] | None = None


class _Read(_Entities):
    filters: dict[str, Any] | None = None
    fields: list[str] | None = Field(None, max_length=32, description="keys to return")
    show_expired: StrictBool | None = Field(None, description="true: superseded memories too")
    latest_only: StrictBool | None = Field(None, description="false: superseded memories too")
    categories: list[str] | None = None

    def include_superseded(self) -> bool:
        return self.show_expired is True or self.latest_only is False


class SearchRequest(_Read):
    query: str = Field(min_length=1)
    top_k: StrictInt = Field(10, ge=1)
    threshold: StrictFloat | None = Field(None, ge=-1, le=1, description="least vector similarity")
    metadata: dict[str, Any] | None = Field(None, description="metadata keys to match")
    reference_date: str | StrictInt | None = Field(None, description="'now' for relative queries")
    rerank: StrictBool | None = Field(None, description="ignored: hits are already fused")
    keyword_search: StrictBool | None = Field(None, description="ignored: keywords always count")
    filter_memories: StrictBool | None = Field(None, description="ignored")


class GetAllRequest(_Read):
    start_date: str | None = Field(None, description="created on or after (ISO 8601)")
    end_date: str | None = Field(None, description="created on or before (ISO 8601)")


class UpdateRequest(Body):
    text: str | None = Field(None, min_length=1)
    metadata: dict[str, Any] | None = Field(None, description="merged into the memory's")
    timestamp: StrictInt | StrictFloat | str | None = None
    expiration_date: str | None = Field(None, description="only null (no expiry) is accepted")


class Item(BaseModel):
    """A memory in mem0's shape, plus octomem's type and validity."""

    id: str
    memory: str | None = None
    hash: str | None = None
    metadata: dict[str, Any] | None = None
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    memory_type: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    score: float | None = None
    derived_from: str | None = Field(
        None, description="a view kept in step with a fact: the fact's id or type"
    )
    text: str | None = Field(None, description="update's answer: the new text")


class AddItem(BaseModel):
    id: str
    memory: str
    event: str = Field(description="ADD, UPDATE, DELETE or NONE")
    memory_type: str | None = None
    previous_memory: str | None = None
    kept_as_history: bool | None = Field(
        None, description="a DELETE that closed a fact: still readable by get and history"
    )


class AddResponse(BaseModel):
    results: list[AddItem]
    status: str = Field("SUCCEEDED", description="add is processed before it answers")


class SearchResponse(BaseModel):
    results: list[Item]


class Page(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[Item]


class HistoryItem(BaseModel):
    id: str
    memory_id: str
    old_memory: str | None
    new_memory: str | None
    event: str
    created_at: str
    updated_at: str
    is_deleted: bool
    actor_id: str | None
    role: str | None
    user_id: str | None


class Message(BaseModel):
    message: str


class Ping(BaseModel):
    status: str
    project_id: str = Field(description="the key's project")
    org_id: str = Field(description="always 'octomem': one service is one organisation")
    user_email: str | None = None


ORG_ID = "octomem"  # mem0's client needs an org id and a project id from ping
