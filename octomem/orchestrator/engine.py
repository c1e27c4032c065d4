"""`Orchestrator`: the public entry point. Async core, sync methods are thin wrappers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog

from octomem._sync import LoopThread
from octomem.errors import ConfigurationError, InvalidInputError, NotFoundError
from octomem.messages import validate_scope_id
from octomem.models import (
    TURN_NOTES,
    EpisodicMemory,
    HistoryEvent,
    MemoryBase,
    MemoryType,
    Operation,
    ProcessResult,
    RecallResult,
    Turn,
    memory_type_of,
    utcnow,
)
from octomem.orchestrator.graph import build_process_graph, build_recall_graph
from octomem.orchestrator.routing import parse_memory_types
from octomem.orchestrator.services import Services, build_services
from octomem.orchestrator.writer import delete_record, history_event, write_records
from octomem.settings import Settings, load_settings
from octomem.telemetry import configure_tracing, span
from octomem.transfer import Progress, TransferSummary, export_jsonl, import_jsonl, stats

log = structlog.get_logger(__name__)
MemoryTypes = Sequence[str | MemoryType] | str | MemoryType | None


def _stored_turn(record: EpisodicMemory) -> Turn:
    """The turn a raw-turn record was written from (same id, so it is not stored again)."""
    role = record.internal.get("role", "user")
    turn_id = record.source.turn_ids[0] if record.source.turn_ids else record.id
    message_id = record.source.message_ids[0] if record.source.message_ids else turn_id
    return Turn(
        id=turn_id,
        role=role,
        content=record.details or record.content,
        name=record.actor if record.actor != role else None,
        timestamp=record.occurred_at,
        index=int(record.internal.get("turn_index", 0)),
        session_id=record.session_id,
        external_id=message_id if message_id != turn_id else None,
        metadata=record.metadata,
        internal={k: v for k, v in record.internal.items() if k in TURN_NOTES},
    )


def _check_scope(user_id: Any, agent_id: Any, session_id: Any, *, operation: str) -> None:
    for name, value in (("user_id", user_id), ("agent_id", agent_id), ("session_id", session_id)):
        if value is not None:
            validate_scope_id(name, value)
    if user_id is None and agent_id is None:
        raise InvalidInputError(
            f"{operation} needs a user_id (or an agent_id): memories are always scoped to "
            "someone, e.g. user_id='alice'"
        )


class Orchestrator:
    """Routes conversations to the eight memory agents and fuses their recall.

    Build it with `Orchestrator.from_config(...)`; use it as a context manager or call
    `close()` when done so the stores release their files and connections.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings: Settings = services.settings
        self.process_graph = build_process_graph(services)
        self.recall_graph = build_recall_graph(services)
        self._loop = LoopThread()
        self._closed = False

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> Orchestrator:
        """Load a YAML config (default: built-in defaults), OCTOMEM_* env, then overrides."""
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        return cls.from_settings(load_settings(path, **overrides))

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Orchestrator:
        configure_tracing(settings.telemetry)
        return cls(build_services(settings, **kwargs))

    # --- process -------------------------------------------------------------------------

    async def aprocess(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        timestamp: datetime | None = None,
        memory_types: MemoryTypes = None,
        infer: bool = True,
    ) -> ProcessResult:
        """Store a conversation's turns and the memories its agents extract from them.

        `infer=False` stores the raw turns only. `memory_types` limits which agents run.
        """
        self._check_open()
        _check_scope(user_id, agent_id, session_id, operation="process")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata must be a dict of simple values")
        if timestamp is not None and not isinstance(timestamp, datetime):
            raise InvalidInputError("timestamp must be a datetime")
        with span("process", user_id=user_id, session_id=session_id):
            state = await self.process_graph.ainvoke(
                {
                    "messages": messages,
                    "user_id": user_id,
                    "agent_id": agent_id,
                    "session_id": session_id,
                    "metadata": metadata,
                    "timestamp": timestamp,
                    "memory_types": parse_memory_types(memory_types),
                    "infer": infer,
                }
            )
        return state["result"]

    def process(self, messages: Any, **kwargs: Any) -> ProcessResult:
        """Sync form of `aprocess`."""
        return self._loop.run(self.aprocess(messages, **kwargs))

    # --- recall --------------------------------------------------------------------------

    async def arecall(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int | None = None,
        memory_types: MemoryTypes = None,
        filters: dict[str, Any] | None = None,
        include_superseded: bool = False,
        now: datetime | None = None,
    ) -> RecallResult:
        """Find memories for `query` through every agent, fused with weighted RRF.

        Superseded and expired memories are left out unless `include_superseded`.
        A session_id narrows working memory (which belongs to a session) only.
        """
        from octomem import filters as filter_lang

        self._check_open()
        _check_scope(user_id, agent_id, session_id, operation="recall")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
        checked = filter_lang.validate(filters) if filters else None
        with span("recall", user_id=user_id):
            state = await self.recall_graph.ainvoke(
                {
                    "query": query,
                    "user_id": user_id,
                    "agent_id": agent_id,
                    "session_id": session_id,
                    "limit": limit,
                    "memory_types": parse_memory_types(memory_types),
                    "filters": checked,
                    "include_superseded": include_superseded,
                    "now": now,
                }
            )
        return state["result"]

    def recall(self, query: str, **kwargs: Any) -> RecallResult:
        """Sync form of `arecall`."""
        return self._loop.run(self.arecall(query, **kwargs))

    # --- single memories -----------------------------------------------------------------

    async def aget(self, memory_id: str) -> MemoryBase:
        """The memory with this id (current or superseded); NotFoundError if unknown."""
        self._check_open()
        memory_type = self._type_of(memory_id)
        await self.services.init()
        found = await self.services.vector.get(memory_type, [memory_id])
        if not found:
            raise NotFoundError(f"no memory with id {memory_id!r}")
        return found[0]

    def get(self, memory_id: str) -> MemoryBase:
        return self._loop.run(self.aget(memory_id))

    async def aget_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        memory_types: MemoryTypes = None,
        filters: dict[str, Any] | None = None,
        include_superseded: bool = False,
        limit: int | None = None,
    ) -> list[MemoryBase]:
        """Every memory in scope (oldest first), optionally filtered."""
        from octomem import filters as filter_lang

        self._check_open()
        _check_scope(user_id, agent_id, session_id, operation="get_all")
        await self.services.init()
        clauses: list[dict[str, Any]] = [{"user_id": user_id}]
        if agent_id is not None:
            clauses.append({"agent_id": agent_id})
        if session_id is not None:
            clauses.append({"session_id": session_id})
        if filters:
            clauses.append(filter_lang.validate(filters))
        types = parse_memory_types(memory_types) or list(MemoryType)
        live_at = None if include_superseded else utcnow()
        records: list[MemoryBase] = []
        for memory_type in types:
            records += await self.services.vector.list(
                memory_type, where={"AND": clauses}, live_at=live_at
            )
        records.sort(key=lambda r: (r.created_at, r.id))
        return records[:limit] if limit is not None else records

    def get_all(self, **kwargs: Any) -> list[MemoryBase]:
        return self._loop.run(self.aget_all(**kwargs))

    async def aupdate(
        self, memory_id: str, text: str, *, metadata: dict[str, Any] | None = None
    ) -> MemoryBase:
        """Rewrite a memory's text (and merge metadata); history keeps the old text."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("update needs non-empty text")
        old = await self.aget(memory_id)
        now = utcnow()
        data = old.model_dump()
        data.update(
            content=text.strip(),
            content_hash="",
            updated_at=now,
            version=old.version + 1,
            metadata={**old.metadata, **(metadata or {})},
        )
        new = type(old).model_validate(data)
        event = history_event(new, Operation.UPDATE, old=old, actor="api", at=now)
        await write_records(self.services, [(new, event)])
        return new

    def update(self, memory_id: str, text: str, **kwargs: Any) -> MemoryBase:
        return self._loop.run(self.aupdate(memory_id, text, **kwargs))

    async def adelete(self, memory_id: str) -> None:
        """Delete a memory from every store; its history stays readable."""
        record = await self.aget(memory_id)
        await delete_record(self.services, record, actor="api")

    def delete(self, memory_id: str) -> None:
        self._loop.run(self.adelete(memory_id))

    async def adelete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> int:
        """Delete every memory in scope (current and superseded); returns how many."""
        records = await self.aget_all(
            user_id=user_id, agent_id=agent_id, session_id=session_id, include_superseded=True
        )
        for record in records:
            await delete_record(self.services, record, actor="api")
        return len(records)

    def delete_all(self, **kwargs: Any) -> int:
        return self._loop.run(self.adelete_all(**kwargs))

    async def ahistory(self, memory_id: str) -> list[HistoryEvent]:
        """Every change of one memory, oldest first."""
        self._check_open()
        self._type_of(memory_id)
        await self.services.init()
        events = await self.services.history.for_memory(memory_id)
        if not events:
            raise NotFoundError(f"no memory with id {memory_id!r} has any history")
        return events

    def history(self, memory_id: str) -> list[HistoryEvent]:
        return self._loop.run(self.ahistory(memory_id))

    async def areprocess(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        all_turns: bool = False,
    ) -> list[ProcessResult]:
        """Run LLM extraction again over stored raw turns: those whose extraction fell back
        to the offline rules (the default), or every turn in scope with `all_turns=True`.
        One process per session, in order; memories already stored are NOOPs."""
        from octomem.orchestrator.process_graph import EXTRACTION_FLAG

        self._check_open()
        _check_scope(user_id, agent_id, session_id, operation="reprocess")
        if self.services.llm is None:
            raise ConfigurationError("reprocess needs an LLM: set llm.model in the config")
        await self.services.init()
        clauses: list[dict[str, Any]] = [{"user_id": user_id}, {"event_type": "message"}]
        if agent_id is not None:
            clauses.append({"agent_id": agent_id})
        if session_id is not None:
            clauses.append({"session_id": session_id})
        if not all_turns:
            clauses.append({f"internal.{EXTRACTION_FLAG}": "fallback"})
        records = await self.services.vector.list(MemoryType.EPISODIC, where={"AND": clauses})
        sessions: dict[tuple[str | None, str | None], list[Turn]] = {}
        for record in records:
            if isinstance(record, EpisodicMemory):
                sessions.setdefault((record.agent_id, record.session_id), []).append(
                    _stored_turn(record)
                )
        results = []
        for (agent, session), turns in sessions.items():
            turns.sort(key=lambda t: (t.timestamp, t.index))
            state = await self.process_graph.ainvoke(
                {
                    "messages": None,
                    "turns_in": turns,
                    "user_id": user_id,
                    "agent_id": agent,
                    "session_id": session,
                    "infer": True,
                    "memory_types": None,
                }
            )
            results.append(state["result"])
        return results

    def reprocess(self, **kwargs: Any) -> list[ProcessResult]:
        return self._loop.run(self.areprocess(**kwargs))

    async def areset(self) -> None:
        """Delete everything in every store (all users). Cannot be undone."""
        self._check_open()
        await self.services.init()
        await self.services.reset()

    def reset(self) -> None:
        self._loop.run(self.areset())

    # --- lifecycle -----------------------------------------------------------------------

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self.services.close()

    def close(self) -> None:
        if not self._closed:
            self._loop.run(self.aclose())
        self._loop.stop()

    def __enter__(self) -> Orchestrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Orchestrator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidInputError("this Orchestrator is closed; create a new one")

    @staticmethod
    def _type_of(memory_id: Any) -> MemoryType:
        if not isinstance(memory_id, str) or not memory_id.strip():
            raise InvalidInputError(f"memory id must be a non-empty string, got {memory_id!r}")
        memory_type = memory_type_of(memory_id)
        if memory_type is None:
            raise NotFoundError(f"no memory with id {memory_id!r} (not an octomem memory id)")
        return memory_type

    # --- integration helpers (issue 5) ---

    async def aexport_jsonl(
        self, target: Any, *, user_id: str | None = None, progress: Progress | None = None
    ) -> TransferSummary:
        """Write every memory (of `user_id`, or everyone's) with its history and the graph
        to a JSONL file or text stream; see `octomem.transfer`. Returns a TransferSummary."""
        self._check_open()
        if user_id is not None:
            validate_scope_id("user_id", user_id)
        return await export_jsonl(self.services, target, user_id=user_id, progress=progress)

    def export_jsonl(self, target: Any, **kwargs: Any) -> TransferSummary:
        return self._loop.run(self.aexport_jsonl(target, **kwargs))

    async def aimport_jsonl(
        self, source: Any, *, progress: Progress | None = None
    ) -> TransferSummary:
        """Restore an export exactly (same ids, validity, history), without extraction."""
        self._check_open()
        return await import_jsonl(self.services, source, progress=progress)

    def import_jsonl(self, source: Any, **kwargs: Any) -> TransferSummary:
        return self._loop.run(self.aimport_jsonl(source, **kwargs))

    async def astats(self, *, user_id: str | None = None) -> dict[str, Any]:
        """Counts per memory type (current / superseded), history events, graph relations."""
        self._check_open()
        if user_id is not None:
            validate_scope_id("user_id", user_id)
        return await stats(self.services, user_id=user_id)

    def stats(self, **kwargs: Any) -> dict[str, Any]:
        return self._loop.run(self.astats(**kwargs))
