"""`Memory` and `AsyncMemory`: mem0-compatible facades over the octomem engine, for users
migrating from mem0.

Method names, arguments and return shapes follow mem0's OSS `Memory` (results wrapped
in ``{"results": [...]}``, items with ``id``, ``memory``, ``hash``, ``metadata``,
``score``...). ``run_id`` is octomem's ``session_id``. Unlike mem0, an update never
loses the old value: superseded memories stay readable through ``history``.

`AsyncMemory` is the one implementation: its coroutines await the Orchestrator's async
API. `Memory` runs each of them on the Orchestrator's own event loop
(`Orchestrator.run_sync`), so both give the same results and the same errors.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from octomem.errors import InvalidInputError
from octomem.models import (
    HistoryEvent,
    MemoryBase,
    MemoryType,
    Operation,
    ProcessResult,
    RecallResult,
)
from octomem.orchestrator.engine import Orchestrator
from octomem.scopes import equals
from octomem.validation import shown, validate_scope_id

P = ParamSpec("P")
if TYPE_CHECKING:
    from octomem.messages import Messages

T = TypeVar("T")

_EVENT = {  # octomem operation -> mem0 event name
    Operation.ADD: "ADD",
    Operation.UPDATE: "UPDATE",
    Operation.SUPERSEDE: "UPDATE",
    Operation.DELETE: "DELETE",
    Operation.NOOP: "NONE",
}


def _memory_types(memory_type: Any) -> Any:
    """mem0's type names as octomem's: mem0 spells its one typed memory
    "procedural_memory". Anything but a name or a list of them goes on as it is, to be
    refused by `parse_memory_types` with the same message as anywhere else."""
    if isinstance(memory_type, str):
        return memory_type.removesuffix("_memory")
    if isinstance(memory_type, list | tuple):
        return [n.removesuffix("_memory") if isinstance(n, str) else n for n in memory_type]
    return memory_type


# mem0's item keys, from the keys of `MemoryBase.item`
_ITEM_KEYS = {
    "id": "id",
    "content": "memory",
    "content_hash": "hash",
    "metadata": "metadata",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "user_id": "user_id",
    "agent_id": "agent_id",
    "session_id": "run_id",
    "memory_type": "memory_type",
    "valid_from": "valid_from",
    "valid_to": "valid_to",
}


def to_item(record: MemoryBase, score: float | None = None) -> dict[str, Any]:
    """A record in mem0's item shape, plus octomem's type and validity fields."""
    base = record.item()
    item = {name: base[key] for key, name in _ITEM_KEYS.items()}
    item["metadata"] = item["metadata"] or None
    if score is not None:
        item["score"] = score
    return {key: value for key, value in item.items() if value is not None or key == "metadata"}


def history_item(event: HistoryEvent) -> dict[str, Any]:
    """One history event in mem0's shape."""
    return {
        "id": event.id,
        "memory_id": event.memory_id,
        "old_memory": event.old_value,
        "new_memory": event.new_value,
        "event": event.operation.value,
        "created_at": event.at.isoformat(),
        "is_deleted": event.operation is Operation.DELETE,
        "actor_id": event.actor,
    }


def add_items(result: ProcessResult, *, infer: bool = True) -> list[dict[str, Any]]:
    """What `add` answers: one item per memory operation (``event`` ADD, UPDATE, DELETE or
    NONE); with `infer=False`, one per message: ADD, or NONE if it was stored before."""
    if not infer:
        added = set(result.added_turn_ids)
        return [
            {"id": turn_id, "memory": turn.content, "event": "ADD" if turn_id in added else "NONE"}
            for turn_id, turn in zip(result.turn_memory_ids, result.turns, strict=True)
        ]
    items = []
    for op in result.all_operations():
        item = {
            "id": op.memory_id,
            "memory": op.text,
            "event": _EVENT[op.operation],
            "memory_type": op.memory_type.value,
        }
        if op.previous_text is not None and op.operation is not Operation.NOOP:
            item["previous_memory"] = op.previous_text
        items.append(item)
    return items


def check_threshold(threshold: Any) -> float | None:
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not -1.0 <= threshold <= 1.0
    ):
        raise InvalidInputError(
            f"threshold must be a similarity between -1 and 1, or None; got {shown(threshold)}"
        )
    return threshold


def search_items(recalled: RecallResult, threshold: float | None = None) -> list[dict[str, Any]]:
    """What `search` answers: the hits in mem0's item shape with their fused ``score``;
    `threshold` keeps those whose vector similarity reaches it."""
    items = []
    for hit in recalled.hits:
        similarity = max(
            (p.score or 0.0 for p in hit.provenance if p.retriever == "vector"), default=None
        )
        if threshold is not None and (similarity is None or similarity < threshold):
            continue
        items.append(to_item(hit.memory, score=hit.score))
    return items


class AsyncMemory:
    """mem0's `AsyncMemory`: the methods of `Memory` as coroutines, on the Orchestrator's
    async API. Concurrent calls (``asyncio.gather``) run side by side as the
    Orchestrator's own do."""

    def __init__(self, orchestrator: Orchestrator | None = None) -> None:
        self._orch = orchestrator or Orchestrator.from_config()

    @classmethod
    async def from_config(
        cls, path: str | os.PathLike[str] | None = None, **overrides: Any
    ) -> AsyncMemory:
        """``await AsyncMemory.from_config(...)``, as in mem0; the stores are opened in a
        thread, off the event loop. Arguments as `Orchestrator.from_config`."""
        return cls(await asyncio.to_thread(Orchestrator.from_config, path, **overrides))

    @property
    def orchestrator(self) -> Orchestrator:
        return self._orch

    async def add(
        self,
        messages: Messages,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool = True,
        memory_type: str | list[str] | None = None,
    ) -> dict[str, Any]:
        """Store messages. `infer=False` stores them as they are (one memory per message)."""
        result = await self._orch.aprocess(
            messages,
            user_id=user_id,
            agent_id=agent_id,
            session_id=run_id,
            metadata=metadata,
            infer=infer,
            memory_types=_memory_types(memory_type),
        )
        return {"results": add_items(result, infer=infer)}

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
        filters: dict[str, Any] | None = None,
        threshold: float | None = None,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Hybrid search. `threshold` keeps hits whose vector similarity reaches it;
        `as_of`: what was current at that time."""
        validate_scope_id("run_id", run_id)
        check_threshold(threshold)
        if run_id is not None:
            session = equals("session_id", run_id)
            filters = {"AND": [filters, session]} if filters else session
        recalled = await self._orch.arecall(
            query, user_id=user_id, agent_id=agent_id, limit=limit, filters=filters, as_of=as_of
        )
        return {"results": search_items(recalled, threshold)}

    async def get(
        self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None
    ) -> dict[str, Any]:
        """`user_id` / `agent_id`: only a memory of theirs (else NotFoundError)."""
        return to_item(await self._orch.aget(memory_id, user_id=user_id, agent_id=agent_id))

    async def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 100,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Memories in scope (`as_of`: those current at that time)."""
        records = await self._orch.aget_all(
            user_id=user_id,
            agent_id=agent_id,
            session_id=run_id,
            filters=filters,
            limit=limit,
            as_of=as_of,
        )
        return {"results": [to_item(r) for r in records]}

    async def update(
        self,
        memory_id: str,
        data: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> dict[str, Any]:
        await self._orch.aupdate(memory_id, data, user_id=user_id, agent_id=agent_id)
        return {"message": "Memory updated successfully!"}

    async def delete(
        self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None
    ) -> dict[str, Any]:
        await self._orch.adelete(memory_id, user_id=user_id, agent_id=agent_id)
        return {"message": "Memory deleted successfully!"}

    async def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        if user_id is None and agent_id is None and run_id is None:
            raise InvalidInputError(
                "delete_all needs user_id, agent_id or run_id; use reset() to delete everything"
            )
        count = await self._orch.adelete_all(user_id=user_id, agent_id=agent_id, session_id=run_id)
        return {"message": f"Memories deleted successfully! ({count})"}

    async def forget(self, *, user_id: str, agent_id: str | None = None) -> dict[str, Any]:
        """Remove every trace of a user (or one agent scope of a user), history included
        (octomem's own; see `Orchestrator.forget`). Returns what was removed."""
        report = await self._orch.aforget(user_id=user_id, agent_id=agent_id)
        return {
            "message": f"Forgot {report.total_memories} memories and their history",
            **report.model_dump(mode="json"),
        }

    async def history(
        self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None
    ) -> list[dict[str, Any]]:
        events = await self._orch.ahistory(memory_id, user_id=user_id, agent_id=agent_id)
        return [history_item(event) for event in events]

    async def reset(self) -> None:
        await self._orch.areset()

    async def close(self) -> None:
        await self._orch.aclose()

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _blocking(
    amethod: Callable[Concatenate[AsyncMemory, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Memory, P], T]:
    """`Memory`'s form of an `AsyncMemory` coroutine method: same name, parameters and
    docstring, run on the Orchestrator's loop (as `octomem._sync.sync_twin`, for a facade
    that holds its async twin rather than being it)."""

    @functools.wraps(amethod)
    def method(self: Memory, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.orchestrator.run_sync(amethod(self._async, *args, **kwargs))

    method.__qualname__ = f"Memory.{amethod.__name__}"
    method.__doc__ = inspect.getdoc(amethod)
    return method


class Memory:
    """mem0-style API: add, search, get, get_all, update, delete, delete_all, history, reset.

    Blocking; each method is `AsyncMemory`'s, run on the Orchestrator's own event loop."""

    def __init__(self, orchestrator: Orchestrator | None = None) -> None:
        self._async = AsyncMemory(orchestrator)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None, **overrides: Any) -> Memory:
        return cls(Orchestrator.from_config(path, **overrides))

    @property
    def orchestrator(self) -> Orchestrator:
        return self._async.orchestrator

    add = _blocking(AsyncMemory.add)
    search = _blocking(AsyncMemory.search)
    get = _blocking(AsyncMemory.get)
    get_all = _blocking(AsyncMemory.get_all)
    update = _blocking(AsyncMemory.update)
    delete = _blocking(AsyncMemory.delete)
    delete_all = _blocking(AsyncMemory.delete_all)
    forget = _blocking(AsyncMemory.forget)
    history = _blocking(AsyncMemory.history)
    reset = _blocking(AsyncMemory.reset)

    def close(self) -> None:
        """Close the Orchestrator and stop its event loop (`Orchestrator.close`)."""
        self._async.orchestrator.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["AsyncMemory", "Memory", "MemoryType", "to_item"]
