"""`Orchestrator`: the public entry point. Async core, sync methods are thin wrappers."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from octomem import filters as filter_lang
from octomem._sync import LoopThread, sync_twin
from octomem.agents.base import MemoryAgent
from octomem.embeddings import Embedder
from octomem.errors import ConfigurationError, InvalidInputError, NotFoundError
from octomem.models import (
    KEPT_BY,
    ConsistencyReport,
    ForgetReport,
    HistoryEvent,
    ListStatus,
    MemoryBase,
    MemoryPage,
    MemoryType,
    Operation,
    ProcessResult,
    RecallResult,
    Stats,
    oldest_first,
)
from octomem.orchestrator import arguments as args
from octomem.orchestrator import doctor, edits, learned_rank, lifecycle, originals, projections
from octomem.orchestrator.arguments import Owner, check_owner, check_scope, parse_memory_types
from octomem.orchestrator.browse import browse as browse_page
from octomem.orchestrator.calls import RunningCalls, api
from octomem.orchestrator.commit import commit
from octomem.orchestrator.events import history_event
from octomem.orchestrator.process.state import ProcessInput
from octomem.orchestrator.recall.state import RecallInput
from octomem.orchestrator.recall.steps import build_recall_graph
from octomem.orchestrator.recall.steps import run as run_recall
from octomem.orchestrator.records import Records
from octomem.orchestrator.reprocess import sessions_to_reprocess
from octomem.orchestrator.retrieval import as_of_filter, every_record
from octomem.orchestrator.transfer import (
    Progress,
    TransferSummary,
    current_users,
    export_jsonl,
    import_jsonl,
    stats,
)
from octomem.orchestrator.write import erase, heal_late, recover, write
from octomem.orchestrator.write import forget as forget_scope
from octomem.scopes import given, scope_filter
from octomem.sensitive import mask_together
from octomem.settings import Settings, load_settings
from octomem.stores.blobs import is_sha256
from octomem.stores.parsed import Memo
from octomem.telemetry import configure_tracing, span
from octomem.validation import check_encodable, check_metadata, shown, validate_scope_id

if TYPE_CHECKING:
    from octomem.messages import Messages
    from octomem.orchestrator.ingest import IngestReport
    from octomem.orchestrator.ingest_report import Progress as IngestProgress
    from octomem.orchestrator.process.state import ProcessGraph
    from octomem.orchestrator.recall.state import RecallGraph

MemoryTypes = Sequence[str | MemoryType] | str | MemoryType | None
T = TypeVar("T")


class Orchestrator:
    """Routes conversations to the eight memory agents and fuses their recall.

    Build it with `Orchestrator.from_config(...)` or `Orchestrator(settings)`. `open()`
    (or `with` / `async with`) opens the stores; a first call before that opens them
    itself. `close()` (or leaving the `with` block) releases their files and connections.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        agents: Iterable[MemoryAgent] = (),
        embedder: Embedder | None = None,
    ) -> None:
        """Build the stores `settings` configure (default: `load_settings()`, the built-in
        defaults with OCTOMEM_* environment variables); `open` or the first call opens
        them. `agents`: custom memory agents, run besides the built-in ones (one of a
        built-in memory type replaces that agent). `embedder`: one already loaded, shared
        by several Orchestrators of one process."""
        settings = load_settings() if settings is None else settings
        if not isinstance(settings, Settings):
            raise InvalidInputError(
                f"Orchestrator() takes octomem Settings (load_settings(...)) or None, not a "
                f"{type(settings).__name__}; a config path or settings keys go to "
                "Orchestrator.from_config(path, data_dir=...)"
            )
        if settings.recall.ranker == "learned":
            learned_rank.shipped()  # a missing or damaged model: ConfigurationError now
        configure_tracing(settings.telemetry)
        self._services = lifecycle.build_services(settings, embedder=embedder, agents=agents)
        self._opening = lifecycle.Opening(self._services)
        self._record_port = Records(self._services)
        self.settings: Settings = settings
        self._process_graph: ProcessGraph | None = None
        self._graph_lock = threading.Lock()
        self._recall_graph: RecallGraph | None = None
        self._loop = LoopThread()
        self._calls = RunningCalls()

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        agents: Iterable[MemoryAgent] = (),
        embedder: Embedder | None = None,
        **overrides: object,
    ) -> Orchestrator:
        """Load a YAML config (default: built-in defaults), OCTOMEM_* env, then
        `overrides` (settings keys: `vector={...}`, `recall={"limit": 5}`, ...), and build
        it (`Orchestrator(settings, agents=..., embedder=...)`)."""
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        return cls(load_settings(path, **overrides), agents=agents, embedder=embedder)

    # --- running async code: the sync bridge and call tracking -------------------------

    def run_sync(self, coro: Coroutine[Any, Any, T], /) -> T:
        """Run `coro` on this Orchestrator's own event loop and return its result (or raise
        its error), from synchronous code in any thread, also one that runs a loop of its
        own. Every sync method is its async twin run this way; use it for async code of
        your own that awaits this Orchestrator or its `records`, so that it shares their
        loop-bound clients. InvalidInputError if called from inside that loop, where it
        would wait for itself."""
        return self._loop.run(coro)

    def running_call(self) -> AbstractAsyncContextManager[None]:
        """`async with orchestrator.running_call(): ...` makes async work of an integration
        a call of this Orchestrator: refused (InvalidInputError) once it is closed, and
        awaited - or, past the timeout, cancelled - by `close`. Every public method runs
        inside one; they nest. It does not open the stores: await `aopen()` in it first."""
        return self._calls.call()

    # --- for integrations ------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The embedder every memory of this Orchestrator is embedded with (an index of
        an integration must agree with it, e.g. on its dimension)."""
        return self._services.embedder

    @property
    def records(self) -> Records:
        """Record-level reads and writes for integrations that keep records of their own,
        under the users' write locks (`octomem.orchestrator.records`)."""
        return self._record_port

    @property
    def process_graph(self) -> ProcessGraph:
        """The compiled process graph on this Orchestrator's stores, as LangGraph Studio
        shows it; `process` runs the same steps (`process.graph`) without the graph
        runtime. Built (and LangGraph imported) on first use."""
        with self._graph_lock:
            if self._process_graph is None:
                from octomem.orchestrator.process.graph import build_process_graph

                self._process_graph = build_process_graph(self._services)
            return self._process_graph

    @property
    def recall_graph(self) -> RecallGraph:
        """The compiled recall graph on this Orchestrator's stores, as LangGraph Studio
        shows it; `arecall` runs the same steps (`recall.steps`) without the graph runtime.
        Run it on an opened Orchestrator (`open`)."""
        if self._recall_graph is None:
            self._recall_graph = build_recall_graph(self._services)
        return self._recall_graph

    # --- process -------------------------------------------------------------------------

    @api
    async def aprocess(
        self,
        messages: Messages,
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
        inputs = self._process_input(
            messages,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            metadata=metadata,
            timestamp=timestamp,
            memory_types=memory_types,
            infer=infer,
        )
        return await self._run_process(inputs)

    process = sync_twin(aprocess)

    def _process_input(
        self,
        messages: Messages,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        timestamp: datetime | None = None,
        memory_types: MemoryTypes = None,
        infer: bool = True,
    ) -> ProcessInput:
        """`aprocess`'s arguments, checked, as the process graph's input (also ingest's)."""
        check_scope(user_id, agent_id, session_id, operation="process")
        return ProcessInput(
            messages=messages,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            metadata=check_metadata(metadata, max_chars=self.settings.input.max_message_chars),
            timestamp=args.check_datetime(timestamp, name="timestamp"),
            memory_types=parse_memory_types(memory_types, self._services.types),
            infer=args.check_flag(infer, name="infer"),
        )

    async def _run_process(self, inputs: ProcessInput) -> ProcessResult:
        from octomem.orchestrator.process.graph import run as run_process  # its first use

        with span("process", user_id=inputs.get("user_id"), session_id=inputs.get("session_id")):
            state = await run_process(inputs, self._services)
        result: ProcessResult = state["result"]
        return result

    @api
    async def aingest(
        self,
        path: str | os.PathLike[str],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        progress: IngestProgress | None = None,
    ) -> IngestReport:
        """A file or folder's images, PDFs, text files, mail and Slack exports as
        memories, incrementally (`octomem.orchestrator.ingest`). `progress(done, total)`
        after each file, or `progress(done, total, path)` as each file is started and
        `(total, total, None)` at the end, if it takes a third argument."""
        from octomem.orchestrator.ingest import Engine, ingest_path  # media readers: here

        check_scope(user_id, agent_id, None, operation="ingest")
        engine = Engine(self._services, self._process_input, self._run_process, self.aget_all)
        return await ingest_path(
            engine, path, user_id=user_id, agent_id=agent_id, progress=progress
        )

    ingest = sync_twin(aingest)

    # --- recall --------------------------------------------------------------------------

    @api
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
        as_of: datetime | None = None,
        memo: Memo | None = None,
    ) -> RecallResult:
        """Find memories for `query` through every agent, fused into one ranking.

        Superseded and expired memories are left out unless `include_superseded`.
        A session_id narrows working memory (which belongs to a session) only.
        `as_of`: what was current then (see `check_as_of`), instead of now.
        `memo`: records parsed before, returned again where their stored JSON is the same
        (`octomem.stores.parsed`; shared: never change one).
        """
        check_scope(user_id, agent_id, session_id, operation="recall", existing=True)
        limit_chars = self.settings.input.max_message_chars
        text = args.check_text(query, name="recall query", limit=limit_chars)
        started = time.perf_counter()
        limit = args.check_limit(limit)
        types = parse_memory_types(memory_types, self._services.types)
        filters = filter_lang.validate(filters) if filters else None
        include_superseded = args.check_flag(include_superseded, name="include_superseded")
        now = args.check_datetime(now, name="now")
        as_of = args.check_as_of(as_of, include_superseded)
        if memo is not None:
            self._services.memos.add(args.check_memo(memo))
        await heal_late(self._services, [user_id])  # a watched scope only: `late_writes`
        with span("recall", user_id=user_id):
            inputs = RecallInput(
                query=text,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                limit=limit,
                memory_types=types,
                filters=filters,
                include_superseded=include_superseded,
                now=now,
                as_of=as_of,
                started=started,
                memo=memo,
            )
            return (await run_recall(inputs, self._services))["result"]

    recall = sync_twin(arecall)

    # --- single memories -----------------------------------------------------------------

    @api
    async def aget(
        self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None
    ) -> MemoryBase:
        """The memory with this id (current or superseded); NotFoundError if unknown.

        With `user_id` / `agent_id`, a memory of anyone else is unknown too (same error):
        every surface that serves one tenant passes its scope."""
        memory_type = self._type_of(memory_id)
        owner = check_owner(user_id, agent_id, existing=True)
        await heal_late(self._services, None if owner is None else [user_id])
        return await self._get(memory_type, memory_id, owner)

    async def _get(
        self, memory_type: MemoryType, memory_id: str, owner: Owner | None = None
    ) -> MemoryBase:
        found = await self._services.vector.get(memory_type, [memory_id])
        if not found or (owner is not None and not owner.owns(found[0].user_id, found[0].agent_id)):
            raise NotFoundError(f"no memory with id {memory_id!r}")
        return found[0]

    get = sync_twin(aget)

    @api
    async def aget_original(self, sha256: str, *, user_id: str) -> bytes | None:
        """The original bytes of an image or file part kept for `user_id`
        (`media.keep_originals`), by the sha256 its memories give
        (``internal["media"]["sha256"]``, with ``"original": "kept"``); None if none is
        kept for that user (another user's file is none too)."""
        if not isinstance(user_id, str) or not user_id.strip():
            raise InvalidInputError("get_original needs a user_id: whose file is it?")
        validate_scope_id("user_id", user_id, existing=True)
        if not is_sha256(sha256):
            raise InvalidInputError(
                f"sha256 must be 64 lowercase hex digits (a memory's "
                f'internal["media"]["sha256"]); got {shown(sha256)}'
            )
        return await originals.read(self._services, user_id, sha256)

    get_original = sync_twin(aget_original)

    @api
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
        as_of: datetime | None = None,
    ) -> list[MemoryBase]:
        """Every memory in scope (oldest first), optionally filtered; with `as_of`, those
        current at that time (see `check_as_of`)."""
        check_scope(user_id, agent_id, session_id, operation="get_all", existing=True)
        extra = filter_lang.validate(filters) if filters else None
        types = parse_memory_types(memory_types, self._services.types) or list(self._services.types)
        limit = args.check_limit(limit)
        live_at = (
            None
            if args.check_flag(include_superseded, name="include_superseded")
            else self._services.clock.now()
        )
        valid_then = None
        if (when := args.check_as_of(as_of, include_superseded)) is not None:
            valid_then, live_at = as_of_filter(when), None
            # core blocks are rewritten in place, without validity: no version of a past time
            types = [t for t in types if t not in self._services.roles.blocks]
        where = scope_filter(user_id, given(agent_id), given(session_id), extra, valid_then)
        await heal_late(self._services, [user_id])
        records = await every_record(self._services, where, live_at=live_at, types=types)
        records.sort(key=oldest_first)
        return records[:limit] if limit is not None else records

    get_all = sync_twin(aget_all)

    @api
    async def abrowse(
        self,
        *,
        user_id: str,
        memory_type: MemoryType | str,
        status: ListStatus = "current",
        offset: int = 0,
        limit: int = 50,
    ) -> MemoryPage:
        """A page of `user_id`'s memories of one type, newest first (created_at): those
        current now (`status="current"`), the superseded, invalidated and expired ones
        ("past"), or all, the current ones first ("all"); from `offset` on, at most `limit`
        (up to 1000). With the user's counts per type (`counts`) and the page's `total`. A
        page costs about the same for a user of 100 memories or 100,000 (the keyword index
        orders them); `get_all` reads every one."""
        return await browse_page(
            self._services,
            user_id=user_id,
            memory_type=memory_type,
            status=status,
            offset=offset,
            limit=limit,
        )

    browse = sync_twin(abrowse)

    @api
    async def aupdate(
        self,
        memory_id: str,
        text: str | None,
        *,
        metadata: dict[str, Any] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> MemoryBase:
        """Rewrite a memory's text (and merge metadata); history keeps the old text.
        `text=None` keeps the text as it is when the write happens (metadata only).
        `user_id` / `agent_id`: only a memory of theirs (else NotFoundError, as `get`)."""
        [updated] = await self._update_many([(memory_id, text, metadata)], user_id, agent_id)
        return updated

    update = sync_twin(aupdate)

    @api
    async def aupdate_many(
        self,
        changes: Sequence[tuple[str, str | None, dict[str, Any] | None]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
    ) -> list[MemoryBase]:
        """`update` of each (memory_id, text, metadata), as one write: every change is
        checked (each id found, each text and metadata one `update` takes, no memory named
        twice, also through its edge) before any is made, and all are made or none."""
        if isinstance(changes, str | bytes) or not isinstance(changes, Sequence):
            raise InvalidInputError(
                f"changes must be a list of (memory_id, text, metadata), got {shown(changes)}"
            )
        for change in changes:
            if not isinstance(change, tuple | list) or len(change) != 3:
                raise InvalidInputError(
                    f"each change is (memory_id, text, metadata), got {shown(change)}"
                )
        return await self._update_many([(c[0], c[1], c[2]) for c in changes], user_id, agent_id)

    update_many = sync_twin(aupdate_many)

    async def _update_many(
        self,
        changes: Sequence[tuple[str, str | None, dict[str, Any] | None]],
        user_id: str | None,
        agent_id: str | None,
    ) -> list[MemoryBase]:
        owner = check_owner(user_id, agent_id)
        cap = self.settings.input.max_message_chars
        checked: list[tuple[str, MemoryType, str | None, dict[str, Any] | None]] = []
        for memory_id, text, metadata in changes:
            named = f"memory {memory_id}: " if len(changes) > 1 else ""
            try:
                if text is not None:
                    text = args.check_text(text, name="update text", limit=cap)
                elif not metadata:
                    raise InvalidInputError("update needs a text, metadata or both")
                metadata = check_metadata(metadata, max_chars=cap)
            except InvalidInputError as exc:
                raise InvalidInputError(f"{named}{exc}") from exc
            # secrets never reach a store; one named in the text or metadata masked in both
            text, metadata = await asyncio.to_thread(mask_together, [text, metadata])
            checked.append((memory_id, self._type_of(memory_id), text, metadata))
        found = [
            await self._get(memory_type, memory_id, owner)
            for memory_id, memory_type, _, _ in checked
        ]
        for record, (_, _, text, _) in zip(found, checked, strict=True):
            if text is not None and (keeper := record.internal.get(KEPT_BY)):
                raise InvalidInputError(
                    f"cannot update the text of {record.id}: it is an item of {keeper}, whose "
                    "value it is read from; put the new value there (metadata may be updated)"
                )
        async with self._services.locks.hold_many({r.user_id for r in found}) as fence:
            now = self._services.clock.now()
            sources: dict[str, tuple[MemoryBase, str | None, dict[str, Any] | None]] = {}
            for memory_id, memory_type, text, metadata in checked:
                old = await self._get(memory_type, memory_id, owner)  # as it is now, locked
                source = await self._canonical(old, "update", owner)  # a fact's edge: the fact
                if source.id in sources:
                    raise InvalidInputError(f"memory {source.id} is changed twice in one update")
                sources[source.id] = (source, text, metadata)
            written = []
            for source, text, metadata in sources.values():
                if (
                    change := await self._updated(source, text or source.content, metadata, now)
                ) is not None:
                    written.append(change)
            if written:
                await commit(  # the turns that said an old value are stale
                    self._services,
                    fence,
                    [(new, event) for new, event, _ in written],
                    now=now,
                    closed=[closed for _, _, closed in written if closed is not None],
                    closed_at=now,
                    actor="api",
                )
            # read under the lock: a delete right after cannot fail an update it follows
            return [
                await self._get(memory_type, memory_id, owner)
                for memory_id, memory_type, _, _ in checked
            ]

    async def _updated(
        self, old: MemoryBase, text: str, metadata: dict[str, Any] | None, now: datetime
    ) -> tuple[MemoryBase, HistoryEvent, tuple[MemoryBase, MemoryBase] | None] | None:
        """The new text and metadata of `old` with its history event and, if its value
        changed, the closure that makes the turns that said the old value stale; None if
        neither changes (a retry writes nothing)."""
        merged = {**old.metadata, **(metadata or {})}
        if text == old.content and merged == old.metadata:
            return None
        data = old.model_dump()
        data.update(
            content=text,
            content_hash="",
            updated_at=now,
            version=old.version + 1,
            # the merged metadata is one stored value too, held to the same limit
            metadata=check_metadata(merged, max_chars=self.settings.input.max_message_chars),
        )
        new = type(old).model_validate(data)
        agent, roles = self._services.agents.get(new.memory_type), self._services.roles
        if agent is not None:  # e.g. a fact's value, core line and edge follow the text
            name = None
            if new.memory_type in roles.names_user:  # only such records are read with it
                name = await projections.user_name(self._services, new.user_id, new.agent_id, now)
            new = agent.reread(new, text, name)
        new = edits.rewritten(self._services, old, new)  # a raw turn's words before: sent
        event = history_event(new, Operation.UPDATE, old=old, actor="api", at=now)
        new_value = getattr(old, "value", None) != getattr(new, "value", None)
        changed = new_value and new.memory_type in roles.stale
        return new, event, ((old, new) if changed else None)

    async def _canonical(self, record: MemoryBase, verb: str, owner: Owner | None) -> MemoryBase:
        """The record a change of `record` applies to: the fact behind a fact's edge. A
        view rendered from many records (the human block) can be deleted but not
        rewritten."""
        if not projections.is_projection(record):
            return record
        source = str(record.internal[projections.PROJECTION_OF])
        source_type = self._services.types.type_of(source)
        if source_type is None:  # names a type, not a record: rendered from many
            if verb == "delete":
                return record  # the view goes; the next change of a source renders it again
            raise InvalidInputError(
                f"cannot {verb} {record.id}: it is rendered from the user's facts "
                f"({source} memories); update those instead, and it follows"
            )
        return await self._get(source_type, source, owner)

    @api
    async def adelete(
        self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None
    ) -> None:
        """Delete a memory from every store; its history stays readable.
        `user_id` / `agent_id`: only a memory of theirs (else NotFoundError, as `get`)."""
        await self._delete_many([memory_id], user_id, agent_id)

    delete = sync_twin(adelete)

    @api
    async def adelete_many(
        self, memory_ids: Sequence[str], *, user_id: str | None = None, agent_id: str | None = None
    ) -> int:
        """`delete` of each of `memory_ids`, as one write: every id is found before any
        memory goes, and all go or none; a fact and its edge both named go once. How many
        memories were deleted."""
        if isinstance(memory_ids, str | bytes) or not isinstance(memory_ids, Sequence):
            raise InvalidInputError(f"memory_ids must be a list of ids, got {shown(memory_ids)}")
        return await self._delete_many(list(memory_ids), user_id, agent_id)

    delete_many = sync_twin(adelete_many)

    async def _delete_many(
        self, memory_ids: list[str], user_id: str | None, agent_id: str | None
    ) -> int:
        owner = check_owner(user_id, agent_id, existing=True)
        typed = [(memory_id, self._type_of(memory_id)) for memory_id in memory_ids]
        found = [await self._get(memory_type, memory_id, owner) for memory_id, memory_type in typed]
        async with self._services.locks.hold_many({r.user_id for r in found}) as fence:
            records: dict[str, MemoryBase] = {}
            for memory_id, memory_type in typed:
                try:  # as it is now, locked; deleted by another caller meanwhile: gone
                    record = await self._get(memory_type, memory_id, owner)
                except NotFoundError:
                    continue
                record = await self._canonical(record, "delete", owner)
                records.setdefault(record.id, record)
            deleted, now = list(records.values()), self._services.clock.now()
            await commit(self._services, fence, [], now=now, deleted=deleted, actor="api")
        return len(deleted)

    @api
    async def adelete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> int:
        """Delete every memory in scope (current and superseded); returns how many."""
        check_scope(user_id, agent_id, session_id, operation="delete_all", existing=True)
        async with self._services.locks.hold(user_id) as fence:
            records = await self.aget_all(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                include_superseded=True,
            )
            # one journaled write, with the views their facts rendered
            views = projections.fact_scopes(self._services, records)
            await write(self._services, fence, deletes=records, views=views, actor="api")
        return len(records)

    delete_all = sync_twin(adelete_all)

    @api
    async def aforget(self, *, user_id: str, agent_id: str | None = None) -> ForgetReport:
        """Remove every trace of a user (or of one agent scope of a user) from every store:
        records current and superseded, history, keyword index, graph; in embedded mode
        the files are rewritten so no deleted text is left on disk. Unlike `delete_all`,
        nothing is kept. Idempotent; a forget cut short is completed at the next open."""
        if user_id is None:
            raise InvalidInputError("forget needs a user_id: whose memories to forget?")
        check_scope(user_id, agent_id, None, operation="forget", existing=True)
        async with self._services.locks.hold(user_id) as fence:
            return await forget_scope(self._services, fence, user_id, agent_id)

    forget = sync_twin(aforget)

    @api
    async def ahistory(
        self, memory_id: str, *, user_id: str | None = None, agent_id: str | None = None
    ) -> list[HistoryEvent]:
        """Every change of one memory, oldest first - also of a deleted one.

        `user_id` / `agent_id`: only a memory of theirs (else NotFoundError, as for an
        unknown id). The owner is read from the events themselves (each carries the user
        and the record as written), so it is known after a delete too."""
        self._type_of(memory_id)
        owner = check_owner(user_id, agent_id, existing=True)
        events = await self._services.history.for_memory(memory_id)
        if not events or (owner is not None and not all(map(owner.owns_event, events))):
            raise NotFoundError(f"no memory with id {memory_id!r} has any history")
        return events

    history = sync_twin(ahistory)

    @api
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
        check_scope(user_id, agent_id, session_id, operation="reprocess")
        args.check_flag(all_turns, name="all_turns")
        if self._services.llm is None:
            raise ConfigurationError("reprocess needs an LLM: set llm.model in the config")
        results = []
        for agent, session, _ in await sessions_to_reprocess(
            self._services, user_id, agent_id, session_id, all_turns=all_turns
        ):
            # the scope's erasure counts, then its turns read again: a forget after
            # the listing above must not see them written back (`locks.check_erasures`)
            erasures = await self._services.locks.erasures(user_id, agent)
            found = await sessions_to_reprocess(
                self._services, user_id, agent, session, all_turns=all_turns
            )
            turns = [t for a, s, ts in found if (a, s) == (agent, session) for t in ts]
            if not turns:
                continue
            inputs = ProcessInput(
                turns_in=turns,
                user_id=user_id,
                agent_id=agent,
                session_id=session,
                erasures=erasures,
            )
            results.append(await self._run_process(inputs))
        return results

    reprocess = sync_twin(areprocess)

    @api
    async def areset(self) -> None:
        """Delete everything in every store (all users); in embedded mode the files are
        rewritten so no deleted text is left on disk. Cannot be undone."""
        await erase.reset(self._services)

    reset = sync_twin(areset)

    # --- integrity -----------------------------------------------------------------------

    @api
    async def acheck(self, *, repair: bool = False) -> ConsistencyReport:
        """Compare the keyword index, graph and history with the canonical store (the
        vector store) and report per store the memories missing, extra or stale there;
        with `repair=True`, complete interrupted writes and make every store agree."""
        args.check_flag(repair, name="repair")
        return await doctor.check(self._services, repair=repair)

    check = sync_twin(acheck)

    @api
    async def arecover(self) -> int:
        """Complete the writes that crashed or cancelled callers left unfinished - in server
        mode those of every host, once the dead writer's lease (`concurrency.lease_ttl_s`)
        has expired - and return how many. Writes of live callers are left to them. The
        next write of an affected user does the same for that user; `octomem serve` runs
        this every lease period, so a host that dies is never needed back. It also undoes
        the late vector writes of the dead writers whose writes this Orchestrator completed
        (`late_writes`)."""
        return await recover(self._services, wait=False)

    recover = sync_twin(arecover)

    # --- lifecycle -----------------------------------------------------------------------

    @api
    async def aopen(self) -> None:
        """Open the stores: create collections, tables and indexes, complete the writes and
        forgets a crash left unfinished. Once; idempotent. `with` and `async with` open them;
        so does the first call of any other method if this was not called."""

    open = sync_twin(aopen)

    @api
    async def aping(self, store: Literal["vector", "graph"] | None = None) -> None:
        """Open the stores, then reach the vector and graph stores (their servers, in
        server mode) with one cheap read each - or only `store` - their error if one does
        not answer. For readiness probes."""
        await lifecycle.probe(self._services, store)

    ping = sync_twin(aping)

    async def aclose(self, timeout: float | None = 30.0) -> None:
        """Release the stores. Calls still running get `timeout` seconds to finish (None:
        as long as they take), then are cancelled; a write a cancel cut short is completed
        from the journal before the stores close (or, failing that, when they are next
        opened)."""
        if self._calls.closed:
            return
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 <= timeout <= args.MAX_TIMEOUT_S
        ):
            raise InvalidInputError(
                f"timeout must be seconds between 0 and {args.MAX_TIMEOUT_S:,}, or None to "
                f"wait as long as the calls take; got {shown(timeout)}"
            )
        cut_short = await self._calls.close(timeout)
        await lifecycle.close(self._services, cut_short=cut_short)

    def close(self, timeout: float | None = 30.0) -> None:
        """Sync form of `aclose`; also stops the private event loop."""
        if not self._calls.closed:
            self.run_sync(self.aclose(timeout))
        self._loop.stop()

    def __enter__(self) -> Orchestrator:
        try:
            self.open()
        except BaseException:
            self.close(0)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Orchestrator:
        try:
            await self.aopen()
        except BaseException:
            await self.aclose(0)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _type_of(self, memory_id: Any) -> MemoryType:
        if not isinstance(memory_id, str) or not memory_id.strip():
            raise InvalidInputError(f"memory id must be a non-empty string, got {shown(memory_id)}")
        check_encodable(memory_id, "memory id")  # no store takes a lone surrogate
        memory_type = self._services.types.type_of(memory_id)
        if memory_type is None:
            raise NotFoundError(f"no memory with id {memory_id!r} (not an octomem memory id)")
        return memory_type

    # --- export, import, counts ---------------------------------------------------------

    @api
    async def aexport_jsonl(
        self, target: Any, *, user_id: str | None = None, progress: Progress | None = None
    ) -> TransferSummary:
        """Write every memory (of `user_id`, or everyone's) with its history and the graph
        to a JSONL file or text stream (`octomem.orchestrator.transfer`)."""
        validate_scope_id("user_id", user_id, existing=True)
        return await export_jsonl(self._services, target, user_id=user_id, progress=progress)

    export_jsonl = sync_twin(aexport_jsonl)

    @api
    async def aimport_jsonl(
        self, source: Any, *, progress: Progress | None = None, skip_invalid: bool = False
    ) -> TransferSummary:
        """Restore an export exactly (same ids, validity, history), without extraction.

        Every line is checked first; if one cannot be stored, or names another scope's ids,
        nothing is imported (ImportRejectedError lists the lines), unless `skip_invalid`,
        which imports the rest and lists the lines left out in the summary's `rejected`."""
        skip_invalid = args.check_flag(skip_invalid, name="skip_invalid")
        return await import_jsonl(
            self._services, source, progress=progress, skip_invalid=skip_invalid
        )

    import_jsonl = sync_twin(aimport_jsonl)

    @api
    async def astats(self, *, user_id: str | None = None) -> Stats:
        """Counts per memory type (current / superseded), history events, graph relations."""
        validate_scope_id("user_id", user_id, existing=True)
        return await stats(self._services, user_id=user_id)

    stats = sync_twin(astats)

    @api
    async def ausers(
        self, *, include_superseded: bool = False, include_history: bool = False
    ) -> dict[str, int]:
        """Every user with current memories (or with any, superseded ones too), and how
        many each has, in id order; with `include_history`, also each user whose memories
        are all deleted but whose history remains (0: what `forget` would still erase)."""
        include_superseded = args.check_flag(include_superseded, name="include_superseded")
        include_history = args.check_flag(include_history, name="include_history")
        return await current_users(
            self._services, include_superseded=include_superseded, include_history=include_history
        )

    users = sync_twin(ausers)


def checked(value: object, called: str) -> Orchestrator:
    """`value`, an Orchestrator that `called` (a constructor or factory) was given; else
    InvalidInputError there, not an AttributeError at its first use."""
    if not isinstance(value, Orchestrator):
        raise InvalidInputError(
            f"{called} takes an octomem Orchestrator (e.g. Orchestrator.from_config("
            f"data_dir=...)), not a {type(value).__name__}"
        )
    return value
