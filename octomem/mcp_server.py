"""An MCP server exposing octomem's memory as tools (`octomem mcp`): over stdio, or
streamable HTTP at ``/mcp``.

octomem's own errors (bad input, unknown id) come back as tool errors with octomem's
message, so a model can correct itself; every tool error's text is masked, and arguments
that do not fit a tool's schema are told by where and what is wrong, never with the
values sent (`_Server`).

Tenancy: ``--user alice`` pins the server to alice - a tool call naming another user_id
is an error, and an id of anyone else's memory is unknown (`NotFoundError`). Without
``--user`` every call names its user_id (or agent_id), by-id tools too, and reaches that
scope's memories only. The HTTP transport requires an API key (``OCTOMEM_MCP_API_KEY``,
sent as ``Authorization: Bearer <key>``) unless told ``--insecure-no-auth``.

Over stdio a line that is not a JSON-RPC message gets its JSON-RPC error (Parse error,
Invalid Request), where the SDK alone leaves it unanswered (`_Answering`).

The tools are defined once (`tools_server`) over an `Access`: what one call may reach.
`octomem mcp` gives them one Orchestrator, built on the first call and closed when the
server stops, and its ``--user`` (`LocalAccess`); ``octomem serve`` mounts the same tools
at ``/mcp`` with the calling key's project, pinned user, scopes and limits
(`octomem.service.mcp_mount`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Annotated, Any, Literal, Protocol, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import BaseModel, Field, ValidationError

from octomem.errors import ConfigurationError, InvalidInputError, OctomemError
from octomem.media.schema import ContentPart
from octomem.models import MemoryBase
from octomem.orchestrator.engine import Orchestrator, checked
from octomem.sensitive import mask_text
from octomem.settings import for_remote_callers, load_settings
from octomem.validation import invalid_arguments, json_depth

INSTRUCTIONS = (
    "Long-term memory for this user. Call search_memories before answering questions that "
    "may depend on what the user told you earlier; call process_conversation with the new "
    "turns of the conversation so octomem can extract and store what matters (facts, "
    "events, preferences, procedures, tasks, links). Memories are scoped by user_id."
)


class Message(BaseModel):
    """One conversation turn."""

    role: Literal["user", "assistant", "system", "tool"]
    content: Annotated[str, Field(min_length=1)] | list[ContentPart] | ContentPart = Field(
        description="the turn's text, or content parts: text, images and files as data: "
        "URLs or base64 (an http(s) URL only where the server fetches them; over HTTP, "
        "never a path on the server)"
    )
    name: str | None = None
    timestamp: str | None = Field(None, description="ISO-8601; default: now")


UserId = Annotated[str | None, Field(description="whose memories (default: the server's user)")]
AgentId = Annotated[str | None, Field(description="narrows to one agent's memories")]
MIN_API_KEY_CHARS = 16
Right = Literal["read", "write", "delete"]  # what a tool needs where keys have scopes
T = TypeVar("T")


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


class Access(Protocol):
    """What one tool call may reach: an Orchestrator, some users, some rights, within
    some limits. Errors it raises come back to the model as tool errors (`failure`).
    A subclass inherits no rights or limits beyond the tools' own."""

    def orchestrator(self) -> AbstractAsyncContextManager[Orchestrator]:
        """The Orchestrator, held for the call (``async with``)."""
        ...

    def scope(self, user_id: str | None, agent_id: str | None) -> dict[str, Any]:
        """The ``user_id``/``agent_id`` the call may act for (raises if none or not its)."""
        ...

    def require(self, right: Right) -> None:
        return None

    def write(self, work: Awaitable[T]) -> Awaitable[T]:
        """Run a write (to its end even if the call is cut off, where that can happen)."""
        return work

    def check_query(self, query: str) -> str:
        return query

    def check_page(self, limit: int) -> int:
        return limit

    def check_messages(self, count: int) -> None:
        return None

    def count(self, **counts: int) -> None:
        """Numbers about the call (memories returned...) for an audit trail."""
        return None

    def failure(self, exc: Exception) -> str | None:
        """The tool error's message for `exc`, or None if `exc` is a crash (the SDK then
        answers a bare "Error executing tool" and logs the traceback)."""
        if isinstance(exc, OctomemError):
            return f"{type(exc).__name__}: {exc}"
        return None


class LocalAccess(Access):
    """`octomem mcp`: one Orchestrator (built on first use), optionally one pinned user."""

    def __init__(self, lazy: _Lazy, user_id: str | None = None) -> None:
        self._lazy = lazy
        self._pinned = user_id

    @asynccontextmanager
    async def orchestrator(self) -> AsyncIterator[Orchestrator]:
        yield await self._lazy.get()

    def scope(self, user_id: str | None, agent_id: str | None) -> dict[str, Any]:
        pinned = self._pinned
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


def build_server(
    orchestrator: Orchestrator | _Lazy,
    *,
    user_id: str | None = None,
    api_key: str | None = None,
) -> MCPServer:
    """An MCPServer over an Orchestrator (`serve`'s: one built at the first tool call).

    `user_id` pins the server to one user (tool calls cannot name another, nor reach
    another's ids); `api_key` makes the HTTP transport require ``Authorization: Bearer
    <api_key>`` (stdio ignores it)."""
    if isinstance(orchestrator, _Lazy):
        lazy = orchestrator
    else:  # refused here, not at the first tool call
        built = checked(orchestrator, "build_server")
        lazy = _Lazy(lambda: built)
    auth: dict[str, Any] = {}
    if api_key is not None:
        auth = {
            "token_verifier": ApiKeyVerifier(api_key),
            # the SDK's bearer auth needs AuthSettings; with a static key nobody issues
            # tokens and there is no protected-resource metadata to publish
            "auth": AuthSettings(issuer_url="http://127.0.0.1", resource_server_url=None),
        }
    local = LocalAccess(lazy, user_id)

    async def access_for(ctx: Context) -> Access:
        return local

    return tools_server(access_for, **auth)


class _Server(MCPServer):
    """The SDK's MCPServer, but arguments that fail the tool's schema are reported without
    what was sent: the SDK's error quotes the caller's arguments (pydantic's
    ``input_value``), and it is returned to the caller and, where the caller keeps a
    transcript or a proxy logs, written down."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            # the SDK logs the fields of a ValidationError cause, never their values
            raise ToolError(f"Error executing tool {name}: {invalid_arguments(cause)}") from cause

    async def run_stdio_async(self) -> None:
        """The SDK's stdio transport, but a line it cannot read is answered (`_Answering`)."""
        lowlevel = getattr(self, "_lowlevel_server", None)
        if lowlevel is None:  # an SDK that moved it: serve as the SDK does
            logging.getLogger(__name__).warning("unreadable stdio lines will go unanswered")
            await super().run_stdio_async()
            return
        async with stdio_server() as (read_stream, write_stream):
            await lowlevel.run(
                _Answering(read_stream, write_stream),
                write_stream,
                lowlevel.create_initialization_options(),
            )


class _Answering(ObjectReceiveStream[Any]):
    """The stdio transport's read stream, answering each line the SDK could not read.

    The SDK's stdio transport hands on the exception of a line that is not a JSON-RPC
    message, and its server only logs it at debug level: the client, waiting for an
    answer, hangs. Here each such line gets its JSON-RPC error (`rejection`), written
    through the transport's own write stream, and reading goes on. Iterating and
    ``async with`` are anyio's, over `receive` and `aclose`."""

    def __init__(self, inner: Any, write_stream: Any) -> None:
        self._inner = inner
        self._write = write_stream

    @property
    def last_context(self) -> Any:  # the SDK's per-message context, where it has one
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            answer = rejection(item)
            if answer is None:
                continue
            # the server is closing: nobody is left to answer
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                await self._write.send(SessionMessage(answer))

    async def aclose(self) -> None:
        await self._inner.aclose()


def rejection(exc: Exception) -> JSONRPCError | None:
    """The JSON-RPC answer to a stdio line the SDK could not read (`exc`, its error), or
    None for a blank line. Not JSON: Parse error (-32700), id null. JSON but not a message
    the SDK takes (``[]``, ``42``, no method, a lone surrogate, nesting too deep for its
    parser up to `_MAX_DEPTH` levels...): Invalid Request (-32600) with the line's id where
    one can be read; deeper, a Parse error whatever Python's own parser could read."""
    line: str | None = None
    found: Any = None
    if not isinstance(exc, ValidationError):  # the line could not even be decoded
        return _error(None, PARSE_ERROR, "Parse error")
    for error in exc.errors(include_url=False, include_context=False):
        if error["type"] == "json_invalid" and isinstance(error["input"], str):
            line = error["input"]  # the SDK's parser refused it: the whole line
        elif error["type"] == "missing" and len(error["loc"]) <= 2:
            found = error["input"]  # a field missing from the top object: that object
    if line is not None:
        if not line.strip():
            return None
        # how deep Python's own parser goes depends on its version (`_MAX_DEPTH`)
        if json_depth(line, at_most=_MAX_DEPTH) > _MAX_DEPTH:
            return _error(None, PARSE_ERROR, "Parse error")
        try:
            found = json.loads(line)
        except (ValueError, RecursionError):
            return _error(None, PARSE_ERROR, "Parse error")
    request_id = found.get("id") if isinstance(found, dict) else None
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        request_id = None
    return _error(request_id, INVALID_REQUEST, "Invalid Request")


# the deepest nesting of a refused line read again for its id: Python 3.11's parser fails
# at ~1,000 levels (its recursion limit), 3.13's at ~20,000; past this, the same Parse error
# on every version
_MAX_DEPTH = 512


def _error(request_id: int | str | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def tools_server(access_for: Callable[[Context], Awaitable[Access]], **options: Any) -> MCPServer:
    """An MCPServer with octomem's tools; each call works within ``await
    access_for(ctx)``. `options` go to `MCPServer` (auth, token verifier)."""
    server: MCPServer = _Server("octomem", instructions=INSTRUCTIONS, **options)

    async def call(
        ctx: Context, tool: str, right: Right, work: Callable[[Access, Orchestrator], Awaitable[T]]
    ) -> T:
        """`work` as a call of `tool`, which needs `right` where keys have scopes (the
        service's /mcp)."""
        access = await access_for(ctx)
        access.count(**{f"tool.{tool}": 1})
        try:
            access.require(right)
            async with access.orchestrator() as orch:
                return await work(access, orch)
        except ToolError as exc:
            access.count(tool_errors=1)
            if (masked := mask_text(str(exc))) != str(exc):
                raise ToolError(masked) from exc
            raise
        except Exception as exc:
            access.count(tool_errors=1)
            message = access.failure(exc)
            if message is None:
                raise
            # the SDK logs a tool error's text, and it may quote what the caller sent
            raise ToolError(mask_text(message)) from exc

    @server.tool()
    async def process_conversation(
        ctx: Context,
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

        async def work(access: Access, orch: Orchestrator) -> Any:
            if isinstance(payload, list):
                access.check_messages(len(payload))
            result = await access.write(
                orch.aprocess(
                    payload,
                    **access.scope(user_id, agent_id),
                    session_id=session_id,
                    metadata=metadata,
                    infer=infer,
                )
            )
            access.count(messages=len(result.turns), operations=len(result.all_operations()))
            return result

        result = await call(ctx, "process_conversation", "write", work)
        return {
            "turns": len(result.turns),
            "operations": [
                op.model_dump(mode="json", exclude_none=True) for op in result.all_operations()
            ],
        }

    @server.tool()
    async def search_memories(
        ctx: Context,
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

        async def work(access: Access, orch: Orchestrator) -> Any:
            result = await orch.arecall(
                access.check_query(query),
                **access.scope(user_id, agent_id),
                session_id=session_id,
                limit=access.check_page(limit),
                memory_types=memory_types,
                filters=filters,
                include_superseded=include_superseded,
            )
            access.count(results=len(result.hits))
            return result

        result = await call(ctx, "search_memories", "read", work)
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
        ctx: Context,
        memory_id: Annotated[str, Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """One memory by id, with every field."""

        async def work(access: Access, orch: Orchestrator) -> MemoryBase:
            return await orch.aget(memory_id, **access.scope(user_id, agent_id))

        record = await call(ctx, "get_memory", "read", work)
        return dict(record.model_dump(mode="json"))

    @server.tool()
    async def list_memories(
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: str | None = None,
        memory_types: MemoryTypes = None,
        filters: Filters = None,
        include_superseded: bool = False,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """Memories in scope, oldest first."""

        async def work(access: Access, orch: Orchestrator) -> list[MemoryBase]:
            records: list[MemoryBase] = await orch.aget_all(
                **access.scope(user_id, agent_id),
                session_id=session_id,
                memory_types=memory_types,
                filters=filters,
                include_superseded=include_superseded,
                limit=access.check_page(limit),
            )
            access.count(results=len(records))
            return records

        records = await call(ctx, "list_memories", "read", work)
        return {"results": [_item(record) for record in records]}

    @server.tool()
    async def update_memory(
        ctx: Context,
        memory_id: Annotated[str, Field(min_length=1)],
        text: Annotated[str, Field(min_length=1, description="the new text")],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """Rewrite a memory's text; its history keeps the old text."""

        async def work(access: Access, orch: Orchestrator) -> MemoryBase:
            return await access.write(
                orch.aupdate(memory_id, text, **access.scope(user_id, agent_id))
            )

        return _item(await call(ctx, "update_memory", "write", work))

    @server.tool()
    async def delete_memory(
        ctx: Context,
        memory_id: Annotated[str, Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """Delete a memory from every store; its history stays readable."""

        async def work(access: Access, orch: Orchestrator) -> None:
            await access.write(orch.adelete(memory_id, **access.scope(user_id, agent_id)))

        await call(ctx, "delete_memory", "delete", work)
        return {"id": memory_id, "deleted": True}

    @server.tool()
    async def memory_history(
        ctx: Context,
        memory_id: Annotated[str, Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
    ) -> dict[str, Any]:
        """Every change of one memory, oldest first (ADD, UPDATE, SUPERSEDE, DELETE)."""

        async def work(access: Access, orch: Orchestrator) -> Any:
            return await orch.ahistory(memory_id, **access.scope(user_id, agent_id))

        events = await call(ctx, "memory_history", "read", work)
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
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    settings = load_settings(config, **overrides)
    if transport == "http":  # its callers are elsewhere: they never read this host's files
        settings = for_remote_callers(settings)
    lazy = _Lazy(lambda: Orchestrator(settings))
    server = build_server(lazy, user_id=user_id, api_key=api_key if transport == "http" else None)
    try:
        if transport == "stdio":
            server.run("stdio")
        else:
            server.run("streamable-http", host=host, port=port)
    finally:
        lazy.close()
