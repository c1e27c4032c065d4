"""LangChain tools and LangGraph node helpers over an octomem `Orchestrator`
(docs/integrations.md): the search and manage tools LangMem users know, a node that puts
recall into the state before the model runs, and one that hands each turn to `process()`.

Scope comes from the arguments, else from the run's config (``user_id``, ``agent_id``; the
session is the thread). On a LangGraph server with authentication a run's
``configurable`` is the client's to write, but the user the server authenticated
(`authenticated_user`) is the memory's, and a ``user_id`` naming another is refused.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import StructuredTool, ToolException

from octomem.errors import OctomemError
from octomem.langgraph.store import MARK, NamespaceScope, OctomemStore
from octomem.models import RecallResult
from octomem.orchestrator.engine import Orchestrator, checked
from octomem.validation import MAX_INT, invalid_arguments, shown

Action = Literal["create", "update", "delete"]
DEFAULT_NAMESPACE = ("memories", "{user_id}")


def _configurable(config: RunnableConfig | None) -> dict[str, Any]:
    return dict((config or {}).get("configurable") or {})


def resolve_scope(
    config: RunnableConfig | None,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
) -> dict[str, str | None]:
    """user_id / agent_id from explicit values, else from the run's config; session_id
    from the config (the thread, if it names no session_id)."""
    conf = _configurable(config)
    named = conf.get("user_id") or conf.get("langgraph_user_id")
    if user_id is None and (signed_in := authenticated_user(conf)) is not None:
        if named is not None and _scope_id("user_id", named) != signed_in:
            raise ToolException(
                f"this run is authenticated as user {signed_in!r}: its configurable "
                "user_id names another user, whose memories it cannot reach (give "
                "user_id=... to the tool or node factory to choose the user in code)"
            )
        named = signed_in
    scope = {
        "user_id": user_id or named,
        "agent_id": agent_id or conf.get("agent_id"),
        "session_id": conf.get("session_id") or conf.get("thread_id"),
    }
    if scope["user_id"] is None and scope["agent_id"] is None:
        raise ToolException(
            "no user_id: pass user_id=... to the tool factory or run the graph with "
            "config={'configurable': {'user_id': ...}}"
        )
    return {k: _scope_id(k, v) for k, v in scope.items()}


def authenticated_user(conf: dict[str, Any]) -> str | None:
    """The user a LangGraph server authenticated for this run (``langgraph_auth_user_id``,
    which it sets over whatever the client sent), or None: no authentication or user, or
    LangGraph Studio's developer (`StudioUser`, or a user whose `kind` says so), who
    debugs graphs as any user."""
    user_id = conf.get("langgraph_auth_user_id")
    user = conf.get("langgraph_auth_user")
    if not isinstance(user_id, str) or not user_id or user is None:
        return None
    # the user object, or its serialized form as the server's worker rebuilds it (a dict,
    # or a proxy reading one): Studio's says so in `kind`
    kind = user.get("kind") if isinstance(user, dict) else getattr(user, "kind", None)
    if kind == "StudioUser" or any(c.__name__ == "StudioUser" for c in type(user).__mro__):
        return None
    return user_id


def _scope_id(name: str, value: Any) -> str | None:
    """A scope id from the arguments or the config: a string, or a number or UUID as its
    text (the Orchestrator then checks it as any scope id)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, uuid.UUID) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INT
    ):
        return str(value)
    raise ToolException(f"{name} must be a string, got {shown(value)}")


def format_memories(result: RecallResult, *, header: str = "What you remember") -> str:
    """A recall result as prompt text: core blocks first, then hits, one per line."""
    lines = [f"## {block.label}\n{block.content}" for block in result.core]
    if result.hits:
        lines.append(f"## {header}")
        lines += [f"- [{hit.memory_type.value}] {hit.memory.content}" for hit in result.hits]
    return "\n".join(lines)


def create_search_memory_tool(
    orchestrator: Orchestrator,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    limit: int = 5,
    memory_types: Sequence[str] | None = None,
    name: str = "search_memory",
    description: str | None = None,
) -> StructuredTool:
    """A tool the model calls with a query; returns the best memories as JSON lines."""
    checked(orchestrator, "create_search_memory_tool()")

    async def search_memory(query: str, limit: int = limit, config: RunnableConfig = None) -> str:  # type: ignore[assignment]
        try:
            result = await _recall(
                orchestrator, query, config, user_id, agent_id, limit, memory_types
            )
        except OctomemError as exc:
            raise ToolException(str(exc)) from exc
        hits = [
            {
                "id": hit.id,
                "memory_type": hit.memory_type.value,
                "memory": hit.memory.content,
                "score": round(hit.score, 4),
            }
            for hit in result.hits
        ]
        return json.dumps(hits, ensure_ascii=False)

    return _tool(
        orchestrator,
        search_memory,
        name,
        description
        or "Search long-term memory for facts, events, preferences, procedures and "
        "documents relevant to the query. Returns a JSON list with id, memory_type, memory.",
    )


def _check_in_scope(store: OctomemStore, ns: tuple[str, ...], scope: dict[str, Any]) -> None:
    """ToolException unless an item of `ns` belongs to the run's user and agent: else it
    would be out of the tool's reach, or nobody's (kept after a forget of the user)."""
    mapped = store.namespace_scope.scope(ns)
    for field in ("user_id", "agent_id"):
        if mapped[field] != scope[field]:
            raise ToolException(
                f"the namespace {ns!r} belongs to {field} {mapped[field]!r}, not the run's "
                f"{scope[field]!r}: give the tool a namespace and namespace_scope that carry "
                "the run's user_id and agent_id, e.g. namespace=('memories', '{user_id}', "
                "'{agent_id}') with namespace_scope=NamespaceScope(that namespace)"
            )


def create_manage_memory_tool(
    orchestrator: Orchestrator,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    namespace: tuple[str, ...] = DEFAULT_NAMESPACE,
    namespace_scope: NamespaceScope | None = None,
    actions_permitted: Sequence[Action] = ("create", "update", "delete"),
    name: str = "manage_memory",
    description: str | None = None,
) -> StructuredTool:
    """A tool the model calls to create, update or delete a memory.

    `create` stores the content exactly as an item of `namespace` (an `OctomemStore`
    item: placeholders like ``{user_id}`` are filled from the scope); `update` and
    `delete` take the id of a memory of the scope (from `search_memory`; an id of anyone
    else's is unknown), and history keeps every old value.
    """
    store = OctomemStore(orchestrator, namespace_scope=namespace_scope)
    permitted = tuple(actions_permitted)

    async def manage_memory(
        content: str | None = None,
        action: Action = "create",
        id: str | None = None,  # noqa: A002 - the name LangMem's tool uses
        config: RunnableConfig = None,  # type: ignore[assignment]
    ) -> str:
        if action not in permitted:
            raise ToolException(f"action {action!r} is not permitted; use one of {permitted}")
        scope = resolve_scope(config, user_id=user_id, agent_id=agent_id)
        text = (content or "").strip()
        try:
            if action == "create":
                if not text:
                    raise ToolException("create needs the memory's content")
                labels = {k: v or "" for k, v in {**_configurable(config), **scope}.items()}
                ns = tuple(label.format(**labels) for label in namespace)
                _check_in_scope(store, ns, scope)
                # the same content again (a retried call) is the memory created before
                return f"created memory {await store.acreate(ns, {'content': text})}"
            if not id:
                raise ToolException(f"{action} needs the id of the memory")
            if action == "update" and not text:
                raise ToolException("update needs the new content")
            user, agent = scope["user_id"], scope["agent_id"]
            record = await orchestrator.aget(id, user_id=user, agent_id=agent)  # scope's only
            if record.internal.get(MARK):  # an item of the store: keep its value in step
                if action == "delete":
                    await store.aedit(record.id, lambda value: None)
                else:
                    # checked and changed under the lock: an item gone since is not put back
                    await store.aedit(record.id, lambda value: {**value, "content": text})
            elif action == "delete":
                await orchestrator.adelete(id, user_id=user, agent_id=agent)
            else:
                await orchestrator.aupdate(id, text, user_id=user, agent_id=agent)
            return f"{action}d memory {id}"
        except OctomemError as exc:
            raise ToolException(str(exc)) from exc

    return _tool(
        orchestrator,
        manage_memory,
        name,
        description
        or "Create, update or delete a long-term memory. Create stores `content` as it is; "
        "update and delete need the memory's `id` (from search_memory). "
        f"Permitted actions: {', '.join(permitted)}.",
    )


def _text_of(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(
        part if isinstance(part, str) else str(part.get("text", ""))
        for part in content
        if isinstance(part, str | dict)
    )


def last_turn(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages from the last user message on (the turn that just happened)."""
    starts = [i for i, message in enumerate(messages) if isinstance(message, HumanMessage)]
    turn = list(messages[starts[-1] if starts else 0 :])
    return [m for m in turn if _text_of(m).strip() or getattr(m, "tool_calls", None)]


async def _recall(
    orchestrator: Orchestrator,
    query: str,
    config: RunnableConfig | None,
    user_id: str | None,
    agent_id: str | None,
    limit: int,
    memory_types: Sequence[str] | None,
) -> RecallResult:
    scope = resolve_scope(config, user_id=user_id, agent_id=agent_id)
    return await orchestrator.arecall(
        query,
        user_id=scope["user_id"],
        agent_id=scope["agent_id"],
        limit=limit,
        memory_types=list(memory_types) if memory_types else None,
    )


def _tool(
    orchestrator: Orchestrator,
    coroutine: Callable[..., Coroutine[Any, Any, str]],
    name: str,
    doc: str,
) -> StructuredTool:
    """A tool usable from `invoke` and `ainvoke`: the sync form (with the coroutine's
    signature, which the tool's schema is read from) runs it on the Orchestrator's loop."""

    @functools.wraps(coroutine)
    def func(*args: Any, **kwargs: Any) -> str:
        return orchestrator.run_sync(coroutine(*args, **kwargs))

    return StructuredTool.from_function(
        func=func,
        coroutine=coroutine,
        name=name,
        description=doc,
        handle_tool_error=True,
        handle_validation_error=invalid_arguments,  # the model reads it, as a tool error
    )


AsyncNode = Callable[[dict[str, Any], RunnableConfig], Coroutine[Any, Any, dict[str, Any] | None]]


def _node(orchestrator: Orchestrator, afunc: AsyncNode, name: str) -> RunnableLambda:
    """A node usable from `invoke` and `ainvoke`: the sync form runs the async body on the
    Orchestrator's own loop."""

    def func(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any] | None:
        return orchestrator.run_sync(afunc(state, config))

    return RunnableLambda(func, afunc=afunc, name=name)


def create_process_node(
    orchestrator: Orchestrator,
    *,
    messages_key: str = "messages",
    user_id: str | None = None,
    agent_id: str | None = None,
    infer: bool = True,
    memory_types: Sequence[str] | None = None,
    result_key: str | None = None,
) -> RunnableLambda:
    """A node that calls `process()` on the turn's new messages (from the last user
    message on). With `result_key`, the `ProcessResult` summary is written to the state."""
    checked(orchestrator, "create_process_node()")

    async def process_turn(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any] | None:
        messages = last_turn(state.get(messages_key) or [])
        if not messages:
            return None
        scope = resolve_scope(config, user_id=user_id, agent_id=agent_id)
        result = await orchestrator.aprocess(
            messages,
            user_id=scope["user_id"],
            agent_id=scope["agent_id"],
            session_id=scope["session_id"],
            infer=infer,
            memory_types=list(memory_types) if memory_types else None,
        )
        if result_key is None:
            return None
        return {
            result_key: [
                f"{op.operation.value} {op.memory_type.value}: {op.text}"
                for op in result.all_operations()
            ]
        }

    return _node(orchestrator, process_turn, "process_turn")


def create_recall_node(
    orchestrator: Orchestrator,
    *,
    messages_key: str = "messages",
    output_key: str = "memories",
    user_id: str | None = None,
    agent_id: str | None = None,
    limit: int = 5,
    memory_types: Sequence[str] | None = None,
    formatter: Callable[[RecallResult], str] = format_memories,
) -> RunnableLambda:
    """A node that recalls what is relevant to the latest user message and writes it,
    formatted for a prompt, to `output_key`."""
    checked(orchestrator, "create_recall_node()")

    async def recall_memories(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
        messages = state.get(messages_key) or []
        query = next((_text_of(m) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        if not query.strip():
            return {output_key: ""}
        result = await _recall(orchestrator, query, config, user_id, agent_id, limit, memory_types)
        return {output_key: formatter(result)}

    return _node(orchestrator, recall_memories, "recall_memories")
