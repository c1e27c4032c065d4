"""An MCP server exposing octomem's memory as tools (`octomem mcp`).

Transports: stdio (what Claude Desktop, Claude Code, Cursor... start as a subprocess) and
streamable HTTP (``octomem mcp --transport http --host 127.0.0.1 --port 8765``, endpoint
``/mcp``). Tools: ``process_conversation``, ``search_memories``, ``get_memory``,
``list_memories``, ``update_memory``, ``delete_memory``, ``memory_history``.

Arguments are validated from the tools' type hints; octomem's own errors (bad input,
unknown id) come back as tool errors with octomem's message, so a model can correct
itself.

Tenancy: ``--user alice`` pins the server to alice - a tool call naming another user_id
is an error, and an id of anyone else's memory is unknown (`NotFoundError`, the
Orchestrator's owner checks). Without ``--user`` every call names its user_id (or
agent_id), by-id tools too, and reaches that scope's memories only. The HTTP transport
requires an API key (``OCTOMEM_MCP_API_KEY``, sent as ``Authorization: Bearer <key>``,
checked by the SDK's bearer-auth middleware through `ApiKeyVerifier`); without one it
refuses to start unless told ``--insecure-no-auth``.

The Orchestrator is built on the first tool call (loading the embedder takes a few
seconds) and closed when the server stops.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from octomem.errors import ConfigurationError, InvalidInputError, OctomemError
from octomem.models import MemoryBase
from octomem.orchestrator.engine import Orchestrator

INSTRUCTIONS = (
    "Long-term memory for this user. Call search_memories before answering questions that "
    "may depend on what the user told you earlier; call process_conversation with the new "
    "turns of the conversation so octomem can extract and store what matters (facts, "
    "events, preferences, procedures, tasks, links). Memories are scoped by user_id."
)


class Message(BaseModel):
    """One conversation turn."""

    role: Literal["user", "assistant", "system", "tool"]
    content: str = Field(min_length=1)
    name: str | None = None
    timestamp: str | None = Field(None, description="ISO-8601; default: now")


UserId = Annotated[str | None, Field(description="whose memories (default: the server's user)")]
AgentId = Annotated[str | None, Field(description="narrows to one agent's memories")]
MIN_API_KEY_CHARS = 16


class ApiKeyVerifier:
    """The SDK's `TokenVerifier` for one static API key (constant-time comparison)."""

    def __init__(self, api_key: str) -> None:
        if len(api_key.strip()) < MIN_API_KEY_CHARS:
            raise ConfigurationError(
                f"the MCP API key must be at least {MIN_API_KEY_CHARS} characters; make one "
                "with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        self._key = api_key.encode("utf-8")

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode("utf-8", "surrogateescape"), self._key):
            return AccessToken(token="api-key", client_id="octomem-api-key", scopes=[])
        return None


MemoryTypes = Annotated[
    list[str] | None,
    Field(
        description="limit to these memory types: core, episodic, semantic, procedural, "
        "working, contextual, knowledge, resource"
    ),
]
Filters = Annotated[
    dict[str, Any] | None,
    Field(description='octomem filter, e.g. {"source": "chat"} or {"AND": [...]}'),
]


# the keys of `MemoryBase.item` a tool result carries, under the names it uses
_ITEM_KEYS = {
    "id": "id",
    "memory_type": "memory_type",
    "content": "memory",
    "current": "current",
    "user_id": "user_id",
    "agent_id": "agent_id",
    "session_id": "session_id",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "metadata": "metadata",
}


def _item(record: MemoryBase, score: float | None = None) -> dict[str, Any]:
    base = record.item()
    item = {name: base[key] for key, name in _ITEM_KEYS.items()}
    if score is not None:
        item["score"] = round(score, 6)
    return item


class _Lazy:
    """The Orchestrator, built on first use off the event loop."""

    def __init__(self, factory: Callable[[], Orchestrator]) -> None:
        self._factory = factory
        self._orch: Orchestrator | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Orchestrator:
        async with self._lock:
            if self._orch is None:
                self._orch = await asyncio.to_thread(self._factory)
            return self._orch

    def close(self) -> None:
        if self._orch is not None:
            self._orch.close()
            self._orch = None


def build_server(
    orchestrator: Orchestrator | Any,
    *,
    user_id: str | None = None,
    api_key: str | None = None,
) -> MCPServer:
    """An MCPServer over an Orchestrator (or a zero-argument factory building one).

    `user_id` pins the server to one user (tool calls cannot name another, nor reach
    another's ids); `api_key` makes the HTTP transport require ``Authorization: Bearer
    <api_key>`` (stdio ignores it)."""
    lazy = (
        orchestrator
        if isinstance(orchestrator, _Lazy)
        else _Lazy(orchestrator if callable(orchestrator) else lambda: orchestrator)
    )
    auth: dict[str, Any] = {}
    if api_key is not None:
        auth = {
            "token_verifier": ApiKeyVerifier(api_key),
            # the SDK's bearer auth needs AuthSettings; with a static key nobody issues
            # tokens and there is no protected-resource metadata to publish
            "auth": AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None),
        }
    server: MCPServer = MCPServer("octomem", instructions=INSTRUCTIONS, **auth)
    pinned = user_id

    def scope(user_id: str | None, agent_id: str | None) -> dict[str, Any]:
        if pinned is not None:
            if user_id is not None and user_id != pinned:
                raise ToolError(
                    f"this server serves user_id {pinned!r} only (started with --user); "
                    "leave user_id out"
                )
            user_id = pinned
        if user_id is None and agent_id is None:
            raise ToolError(
                "user_id is required (or agent_id): memories are always scoped; start the "
                "server with --user to serve one user"
            )
        return {"user_id": user_id, "agent_id": agent_id}

    async def call(method: str, *args: Any, **kwargs: Any) -> Any:
        orch = await lazy.get()
        try:
            return await getattr(orch, method)(*args, **kwargs)
        except OctomemError as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from exc

    @server.tool()
    async def process_conversation(
        messages: Annotated[
            list[Message] | str,
            Field(description="the new turns, or one user message as a string"),
        ],
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: Annotated[bool, Field(description="false: store the raw turns only")] = True,
    ) -> dict[str, Any]:
        """Store conversation turns; octomem's agents extract, deduplicate and reconcile
        memories from them. Returns what was added, updated or superseded."""
        payload = (
            messages
            if isinstance(messages, str)
            else [m.model_dump(exclude_none=True) for m in messages]
        )
        if isinstance(payload, list) and not payload:
            raise ToolError("messages is empty: pass at least one turn")
        result = await call(
            "aprocess",
            payload,
            **scope(user_id, agent_id),
            session_id=session_id,
            metadata=metadata,
            infer=infer,
        )
        return {
            "turns": len(result.turns),
            "operations": [
                op.model_dump(mode="json", exclude_none=True) for op in result.all_operations()
            ],
        }

    @server.tool()
    async def search_memories(
        query: Annotated[str, Field(min_length=1, description="natural-language query")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: str | None = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
        memory_types: MemoryTypes = None,
        filters: Filters = None,
        include_superseded: bool = False,
    ) -> dict[str, Any]:
        """Hybrid search (vector, keyword, graph) over the user's memories, best first,
        plus the user's core blocks."""
        result = await call(
            "arecall",
            query,
            **scope(user_id, agent_id),
            session_id=session_id,
            limit=limit,
            memory_types=memory_types,
            filters=filters,
            include_superseded=include_superseded,
        )
        return {
            "results": [
                {
                    **_item(hit.memory, hit.score),
                    "found_by": sorted({p.retriever for p in hit.provenance}),
                }
                for hit in result.hits
            ],
            "core": [{"label": block.label, "content": block.content} for block in result.core],
        }

    @server.tool()
    async def get_memory(
        memory_id: Annotated[str, Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """One memory by id, with every field."""
        record = await call("aget", memory_id, **scope(user_id, agent_id))
        return dict(record.model_dump(mode="json"))

    @server.tool()
    async def list_memories(
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: str | None = None,
        memory_types: MemoryTypes = None,
        filters: Filters = None,
        include_superseded: bool = False,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Memories in scope, oldest first."""
        records = await call(
            "aget_all",
            **scope(user_id, agent_id),
            session_id=session_id,
            memory_types=memory_types,
            filters=filters,
            include_superseded=include_superseded,
            limit=limit,
        )
        return {"results": [_item(record) for record in records]}

    @server.tool()
    async def update_memory(
        memory_id: Annotated[str, Field(min_length=1)],
        text: Annotated[str, Field(min_length=1, description="the new text")],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """Rewrite a memory's text; its history keeps the old text."""
        return _item(await call("aupdate", memory_id, text, **scope(user_id, agent_id)))

    @server.tool()
    async def delete_memory(
        memory_id: Annotated[str, Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """Delete a memory from every store; its history stays readable."""
        await call("adelete", memory_id, **scope(user_id, agent_id))
        return {"id": memory_id, "deleted": True}

    @server.tool()
    async def memory_history(
        memory_id: Annotated[str, Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """Every change of one memory, oldest first (ADD, UPDATE, SUPERSEDE, DELETE)."""
        events = await call("ahistory", memory_id, **scope(user_id, agent_id))
        return {"events": [event.model_dump(mode="json", exclude={"record"}) for event in events]}

    return server


def serve(
    *,
    transport: Literal["stdio", "http"] = "stdio",
    host: str = "127.0.0.1",
    port: int = 8765,
    config: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    project: str | None = None,
    user_id: str | None = None,
    api_key: str | None = None,
    insecure_no_auth: bool = False,
) -> None:
    """Run the server until the client disconnects (stdio) or it is interrupted (http).

    HTTP needs `api_key` (the CLI reads OCTOMEM_MCP_API_KEY) unless `insecure_no_auth`:
    ConfigurationError before anything listens."""
    if user_id is not None and not user_id.strip():
        raise InvalidInputError("--user must not be empty")
    if transport == "http" and api_key is None and not insecure_no_auth:
        raise ConfigurationError(
            "the MCP server over HTTP needs an API key: set OCTOMEM_MCP_API_KEY (clients "
            "send it as 'Authorization: Bearer <key>'), or pass --insecure-no-auth to serve "
            "without one (anyone who reaches the port can then read and delete memories)"
        )
    if transport == "http" and api_key is None:
        logging.getLogger(__name__).warning(
            "MCP over HTTP without authentication (--insecure-no-auth)"
        )
    overrides: dict[str, Any] = {} if project is None else {"project": project}
    lazy = _Lazy(lambda: Orchestrator.from_config(config, data_dir=data_dir, **overrides))
    server = build_server(lazy, user_id=user_id, api_key=api_key if transport == "http" else None)
    try:
        if transport == "stdio":
            server.run("stdio")
        else:
            server.run("streamable-http", host=host, port=port)
    finally:
        lazy.close()
