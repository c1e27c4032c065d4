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
import warnings
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from octomem._sync import check_call
from octomem.agents.context import PROJECTION_OF
from octomem.errors import ConfigurationError, InvalidInputError
from octomem.mem0_config import settings_overrides
from octomem.mem0_filters import Scope, translate
from octomem.models import (
    HistoryEvent,
    MemoryBase,
    MemoryType,
    Operation,
    ProcessResult,
    RecallHit,
    RecallResult,
    oldest_first,
    said_text,
)
from octomem.orchestrator.arguments import check_scope
from octomem.orchestrator.engine import Orchestrator
from octomem.scopes import equals
from octomem.settings import Settings, merged
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
    """A record in mem0's item shape, plus octomem's type and validity fields. ``memory``
    is the text as given (a stored turn without its speaker prefix); a view kept in step
    with a fact (a knowledge edge, the core block) says what it is ``derived_from``."""
    base = record.item()
    item = {name: base[key] for key, name in _ITEM_KEYS.items()}
    item["memory"] = said_text(record)
    item["metadata"] = item["metadata"] or None
    if isinstance(source := record.internal.get(PROJECTION_OF), str):
        item["derived_from"] = source
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
        "updated_at": event.at.isoformat(),
        "is_deleted": event.operation is Operation.DELETE,
        "actor_id": event.actor,
        "role": event.actor if event.actor in ("user", "assistant") else None,
    }


def add_items(result: ProcessResult, *, infer: bool = True) -> list[dict[str, Any]]:
    """What `add` answers: every memory the call wrote - the facts extracted (``event``
    ADD, UPDATE, DELETE or NONE; views kept in step with them are left out) and then each
    message (ADD, or NONE if it was stored before). A DELETE of extraction closes a fact
    that stays readable as history (``kept_as_history``)."""
    items = []
    for op in result.all_operations() if infer else ():
        if op.view:
            continue
        item: dict[str, Any] = {
            "id": op.memory_id,
            "memory": op.text,
            "event": _EVENT[op.operation],
            "memory_type": op.memory_type.value,
        }
        if op.previous_text is not None and op.operation is not Operation.NOOP:
            item["previous_memory"] = op.previous_text
        if op.operation is Operation.DELETE:
            item["kept_as_history"] = True
        items.append(item)
    added = set(result.added_turn_ids)
    items += [
        {
            "id": turn_id,
            "memory": turn.content,
            "event": "ADD" if turn_id in added else "NONE",
            "memory_type": MemoryType.EPISODIC.value,
        }
        for turn_id, turn in zip(result.turn_memory_ids, result.turns, strict=True)
    ]
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


def search_items(
    recalled: RecallResult, threshold: float | None = None, *, explain: bool = False
) -> list[dict[str, Any]]:
    """What `search` answers: the hits in mem0's item shape with their fused ``score``;
    `threshold` keeps those whose vector similarity reaches it; `explain` adds each hit's
    ``score_details`` (which retriever of which agent found it, at which rank)."""
    items = []
    for hit in recalled.hits:
        similarity = max(
            (p.score or 0.0 for p in hit.provenance if p.retriever == "vector"), default=None
        )
        if threshold is not None and (similarity is None or similarity < threshold):
            continue
        item = to_item(hit.memory, score=hit.score)
        if explain:
            item["score_details"] = [p.model_dump(mode="json") for p in hit.provenance]
        items.append(item)
    return items


async def recall_scopes(
    orch: Orchestrator, query: str, scopes: Sequence[Scope], *, limit: int, **options: Any
) -> RecallResult:
    """`query` recalled in each scope, one ranking by fused score across them."""
    hits: list[RecallHit] = []
    for scope in scopes:
        found = await orch.arecall(
            query, user_id=scope.user_id, agent_id=scope.agent_id, limit=limit, **options
        )
        hits += found.hits
    if len(scopes) > 1:
        hits.sort(key=lambda hit: (-hit.score, hit.id))
    return RecallResult(query=query, hits=hits[:limit])


_FACTS, _VIEWS = ({f"internal.{PROJECTION_OF}": {"exists": x}} for x in (False, True))


async def list_scopes(
    orch: Orchestrator,
    scopes: Sequence[Scope],
    *,
    limit: int | None = None,
    filters: dict[str, Any] | None = None,
    **options: Any,
) -> list[MemoryBase]:
    """The memories of each scope, oldest first, the views kept in step with facts last
    (a mem0 habit, taking the first and updating it, then meets a fact); `limit` counts
    the views only when the rest leave room."""
    records: list[MemoryBase] = []
    for kind in (_FACTS, _VIEWS):
        found: list[MemoryBase] = []
        for scope in scopes:
            room = None if limit is None else limit - len(records)
            if room is not None and room <= 0:
                break
            where = {"AND": [filters, kind]} if filters else kind
            found += await orch.aget_all(
                user_id=scope.user_id, agent_id=scope.agent_id, limit=room, filters=where, **options
            )
        found.sort(key=oldest_first)
        records += found if limit is None else found[: limit - len(records)]
    return records


def _count(method: str, limit: int | None, top_k: int | None) -> int:
    """`limit` (mem0 1.x) or `top_k` (mem0 2.x): how many results, default 100."""
    if limit is not None and top_k is not None and limit != top_k:
        raise InvalidInputError(f"{method}: give limit (mem0 1.x) or top_k (mem0 2.x), not both")
    count = top_k if top_k is not None else limit if limit is not None else 100
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        named = "top_k" if top_k is not None else "limit"
        raise InvalidInputError(
            f"{method}: {named} must be a whole number of 1 or more, got {shown(count)}"
        )
    return count


def _scopes(
    filters: Mapping[str, Any] | None,
    user_id: str | None,
    agent_id: str | None,
    run_id: str | None,
) -> tuple[list[Scope], Any]:
    """The scopes a search or get_all reads and the filter within them: for mem0 2.x's
    call, from the ids in `filters` (with AND, OR and ``in`` as mem0 allows); for 1.x's,
    the ids given as arguments, `run_id` a filter on the session."""
    if user_id is None and agent_id is None:
        return translate(filters, None if run_id is None else {"run_id": run_id})
    validate_scope_id("run_id", run_id, existing=True)
    if run_id is not None:
        session = equals("session_id", run_id)
        filters = {"AND": [filters, session]} if filters else session
    return [Scope(user_id, agent_id)], filters


def as_datetime(value: Any, name: str = "timestamp") -> datetime | None:
    """mem0's ``timestamp`` (or another time named `name`): Unix seconds, or a datetime."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise InvalidInputError(f"{name} must be Unix seconds or a datetime, got {shown(value)}")


_UNSET: Any = object()  # an argument not given (None is a value: no expiry)
# mem0's arguments and fields octomem refuses rather than ignores, and why (the facade's
# and the service's: `octomem.service.mem0_models.refuse`)
UNSUPPORTED = {
    "app_id": "there is no app scope; use agent_id, or a metadata key",
    "expiration_date": "memories do not expire by date; delete them, or use a metadata key",
    "immutable": "every memory can be updated (history keeps each version)",
    "includes": "extraction cannot be steered per call",
    "excludes": "extraction cannot be steered per call; leave out what must not be stored",
    "custom_instructions": "extraction cannot be steered per call",
    "agent_custom_instructions": "extraction cannot be steered per call",
    "structured_data_schema": "extraction cannot be steered per call",
    "categories": "octomem assigns no categories; filter on a metadata key instead",
    "timestamp": "a memory's time cannot be rewritten; update its text or metadata",
    "delete_linked": "a memory's older versions stay in its history; forget the user "
    "(POST /v1/forget) to remove every trace",
    "prompt": "extraction instructions are set per memory type in octomem's settings "
    "(llm.prompts), not per call",
    "llm": "the model is set in octomem's settings (llm.model), not per call",
}


def refuse(**given: Any) -> None:
    """InvalidInputError for an argument given (not None) that octomem cannot honour."""
    for name, value in given.items():
        if value is not None:
            raise InvalidInputError(f"{name} is not supported by octomem: {UNSUPPORTED[name]}")


def _orchestrator(
    config: Mapping[str, Any] | str | os.PathLike[str] | None, overrides: dict[str, Any]
) -> Orchestrator:
    """An Orchestrator from mem0's config dict (`octomem.mem0_config`) or octomem's YAML
    config path, then `overrides` (octomem settings keys)."""
    if isinstance(config, Mapping):
        return Orchestrator.from_config(None, **merged(settings_overrides(config), overrides))
    if config is not None and not isinstance(config, str | os.PathLike):
        raise ConfigurationError(
            f"from_config takes mem0's config dict or an octomem YAML file's path, got "
            f"{type(config).__name__}"
        )
    return Orchestrator.from_config(config, **overrides)


class DefaultDataDirWarning(UserWarning):
    """`Memory()` with no configuration keeps its memories in the default data directory."""


def _given(orchestrator: object, called: str) -> Orchestrator:
    """The Orchestrator a `Memory` or `AsyncMemory` (`called`) was made with: the one
    given, one of octomem `Settings`, or (none given) the configuration of the OCTOMEM_*
    environment; where that names no data directory, one warning, at the line that made
    the facade, says where the memories go."""
    if isinstance(orchestrator, Orchestrator):
        return orchestrator
    if isinstance(orchestrator, Settings):
        return Orchestrator(orchestrator)
    if orchestrator is not None:
        raise InvalidInputError(
            f"{called}() takes an octomem Orchestrator or Settings, not a "
            f"{type(orchestrator).__name__}; mem0's config dict goes to "
            f"{called}.from_config(config)"
        )
    orch = Orchestrator.from_config()
    if "data_dir" not in orch.settings.model_fields_set:
        warnings.warn(
            f"octomem.Memory() keeps its memories in {orch.settings.data_dir} (the default "
            "data_dir): choose with Memory.from_config(data_dir=...) or OCTOMEM_DATA_DIR",
            DefaultDataDirWarning,
            stacklevel=3,  # this function, the __init__, its caller
        )
    return orch


class AsyncMemory:
    """mem0's `AsyncMemory`: the methods of `Memory` as coroutines, on the Orchestrator's
    async API. Concurrent calls (``asyncio.gather``) run side by side as the
    Orchestrator's own do. Both mem0 2.x's signatures (ids in ``filters``, ``top_k``)
    and 1.x's (ids as arguments, ``limit``) are accepted (docs/mem0.md)."""

    def __init__(self, orchestrator: Orchestrator | Settings | None = None) -> None:
        self._orch = _given(orchestrator, type(self).__name__)

    @classmethod
    async def from_config(
        cls,
        config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> AsyncMemory:
        """``await AsyncMemory.from_config(...)``: as `Memory.from_config`, the stores
        opened in a thread, off the event loop."""
        return cls(await asyncio.to_thread(_orchestrator, config, overrides))

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
        timestamp: Any = None,
        expiration_date: Any = None,
        infer: bool = True,
        memory_type: str | list[str] | None = None,
        prompt: str | None = None,
        llm: Any = None,
    ) -> dict[str, Any]:
        """Store messages. `infer=False` stores them as they are (one memory per message).
        `timestamp` (Unix seconds or a datetime) dates messages that carry none."""
        refuse(expiration_date=expiration_date, prompt=prompt, llm=llm)
        check_scope(user_id, agent_id, run_id, operation="add")  # not `process`'s name
        result = await self._orch.aprocess(
            messages,
            user_id=user_id,
            agent_id=agent_id,
            session_id=run_id,
            metadata=metadata,
            timestamp=as_datetime(timestamp),
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
        top_k: int | None = None,
        limit: int | None = None,
        filters: dict[str, Any] | None = None,
        threshold: float | None = None,
        rerank: bool = False,
        explain: bool = False,
        reference_date: datetime | None = None,
        show_expired: bool = False,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Hybrid search. `threshold` keeps hits whose vector similarity reaches it;
        `rerank` changes nothing (recall already fuses vector, keyword and graph rankings);
        `explain` adds each hit's ``score_details``; `reference_date`: the time recall
        reads as now; `show_expired` changes nothing (memories do not expire by date);
        `as_of`: what was current at that time."""
        check_threshold(threshold)
        scopes, where = _scopes(filters, user_id, agent_id, run_id)
        recalled = await recall_scopes(
            self._orch,
            query,
            scopes,
            limit=_count("search", limit, top_k),
            filters=where,
            as_of=as_of,
            now=reference_date,
        )
        return {"results": search_items(recalled, threshold, explain=explain)}

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
        top_k: int | None = None,
        limit: int | None = None,
        show_expired: bool = False,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Memories in scope, oldest first and the views kept in step with facts (knowledge
        edges, the core block) last (`as_of`: those current at that time)."""
        limit = _count("get_all", limit, top_k)
        scopes, where = _scopes(filters, user_id, agent_id, run_id)
        records = await list_scopes(self._orch, scopes, limit=limit, filters=where, as_of=as_of)
        return {"results": [to_item(r) for r in records]}

    async def update(
        self,
        memory_id: str,
        text: str | None = None,
        metadata: dict[str, Any] | None = None,
        expiration_date: Any = _UNSET,
        data: str | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> dict[str, Any]:
        """A new text, new metadata or both (`data`: mem0's older name of `text`); the
        version replaced stays in `history`. `expiration_date` may only be None (no
        expiry: memories do not expire by date), which alone changes nothing."""
        if expiration_date is not _UNSET:
            refuse(expiration_date=expiration_date)
        if data is not None and text is not None and data != text:
            raise InvalidInputError("update: give text (or its older name data), not both")
        text = text if text is not None else data
        if text is None and metadata is None:
            if expiration_date is _UNSET:
                raise InvalidInputError("update needs text, metadata or expiration_date")
            await self._orch.aget(memory_id, user_id=user_id, agent_id=agent_id)  # it exists
            return {"message": "Memory updated successfully!"}
        await self._orch.aupdate(
            memory_id, text, metadata=metadata, user_id=user_id, agent_id=agent_id
        )
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

    signature = inspect.signature(amethod)

    @functools.wraps(amethod)
    def method(self: Memory, /, *args: P.args, **kwargs: P.kwargs) -> T:
        check_call(signature, method.__qualname__, self._async, *args, **kwargs)
        return self.orchestrator.run_sync(amethod(self._async, *args, **kwargs))

    method.__qualname__ = f"Memory.{amethod.__name__}"
    method.__doc__ = inspect.getdoc(amethod)
    return method


class Memory:
    """mem0-style API: add, search, get, get_all, update, delete, delete_all, history, reset.

    Blocking; each method is `AsyncMemory`'s, run on the Orchestrator's own event loop."""

    def __init__(self, orchestrator: Orchestrator | Settings | None = None) -> None:
        self._async = AsyncMemory(_given(orchestrator, type(self).__name__))

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> Memory:
        """From mem0's config dict (its keys with an octomem meaning are mapped, the rest
        refused: docs/mem0.md), or octomem's YAML config path; then `overrides` (octomem
        settings keys, e.g. ``data_dir=``)."""
        return cls(_orchestrator(config, overrides))

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
