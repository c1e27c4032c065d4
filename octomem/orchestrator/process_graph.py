"""The process graph:

normalize -> store_turns -> read_turns -> route -> [llm_extract] -> agent (one Send per
agent) -> commit

- normalize: validate and normalise the messages; secrets are masked here, before anything
  is stored, embedded or sent anywhere.
- store_turns: every raw turn is written before any extraction: nothing said is lost.
  Turn ids never depend on the clock, so a retried call stores no turn twice.
- read_turns: what is known of the user (their stored name) and what the language layer
  reads in each turn, once per call; every agent shares it.
- route: which agents get the conversation, and why (`routing`); in per_agent mode the
  LLM router call narrows them.
- llm_extract (single_call mode): one LLM call per chunk gives every routed agent's
  candidates; the agents it found nothing for are skipped. With a vision model
  (`media.vision`), the images whose text held no secret are shown in that call
  (`octomem.orchestrator.vision`); per_agent shows them in the resource agent's call.
- agent: one agent extracts: by its offline rules, or (per_agent) by its own LLM call.
- commit: under the scope's write lock (`octomem.orchestrator.locks`), reconcile
  (exact -> conflict -> near-duplicate, with at most one batched LLM decision) and write
  the decisions (journaled: graph -> keyword index -> history -> vector store). Extraction
  runs outside the lock, so callers of one user wait only for each other's commits.

If the LLM fails (timeouts or rate limits past the retries, output that does not validate)
the offline rules extract instead, the result says so, and the raw turns are marked so
`Orchestrator.reprocess` can run the LLM on them later.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from octomem import offload
from octomem.agents.base import ExtractionContext, MemoryAgent
from octomem.agents.base import read_turns as read_readings  # the node below is read_turns
from octomem.errors import LLMError
from octomem.language import TurnReading
from octomem.llm import UsageMeter
from octomem.logs import get_logger
from octomem.media.parts import masked_piece
from octomem.messages import normalize_messages
from octomem.models import (
    LLMUsage,
    MemoryBase,
    MemoryType,
    Operation,
    ProcessResult,
    Scope,
    StepError,
    Turn,
    utcnow,
)
from octomem.orchestrator import (
    extracted,
    extraction,
    originals,
    projections,
    routing,
    versions,
    vision,
)
from octomem.orchestrator.commit import commit as commit_changes
from octomem.orchestrator.ingest import ACTOR as INGEST_ACTOR
from octomem.orchestrator.metadata import with_caller_metadata
from octomem.orchestrator.reconcile import Reconciler
from octomem.orchestrator.reprocess import words
from octomem.orchestrator.services import Services
from octomem.orchestrator.staleness import closed_by
from octomem.orchestrator.state import AgentTask, ProcessState
from octomem.orchestrator.writer import all_changes, write_records
from octomem.plans import Decision, Extraction
from octomem.scopes import ANY
from octomem.sensitive import mask, mask_value
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.state import ProcessGraph


log = get_logger(__name__)
_NOTHING_FOUND = "skipped: the LLM router found nothing for it"
_EXTRACTED_BEFORE = f"skipped: {extracted.REASON}"


def _scope(state: ProcessState | AgentTask) -> Scope:
    return Scope(
        user_id=state.get("user_id"),
        agent_id=state.get("agent_id"),
        session_id=state.get("session_id"),
    )


def _masked(turn: Turn) -> Turn:
    """The turn with secrets masked in its content, name and metadata (keys too); the kinds
    found go to `internal["masked"]`."""
    found = mask(turn.content)
    # kinds masked as the turn's images and files were read (`octomem.media.parts`) first
    kinds = list(dict.fromkeys([*turn.internal.get("masked", []), *found.kinds]))
    name = mask_value(turn.name, kinds) if turn.name else turn.name
    metadata = mask_value(turn.metadata, kinds) if turn.metadata else turn.metadata
    internal = dict(turn.internal)
    if "media" in internal:  # the text read from images and files, their names and URIs
        internal["media"] = [masked_piece(chunk, kinds) for chunk in internal["media"]]
    if not kinds:
        return turn
    return turn.model_copy(
        update={
            "content": found.text,
            "name": name,
            "metadata": metadata,
            "internal": {**internal, "masked": kinds},
        }
    )


def _input_records(
    agent: MemoryAgent, turns: list[Turn], ctx: ExtractionContext
) -> list[MemoryBase]:
    """The agent's records of what the input held (`BaseAgent.input_records`; an agent
    written to the protocol alone may lack the hook)."""
    hook = getattr(agent, "input_records", None)
    return list(hook(turns, ctx)) if hook is not None else []


def build_process_graph(services: Services) -> ProcessGraph:
    settings = services.settings
    turn_log = services.turn_log  # stores every turn as its own record

    def context(
        state: ProcessState | AgentTask,
        readings: list[TurnReading] | None = None,
        *,
        user_name: str | None = None,
    ) -> ExtractionContext:
        return ExtractionContext(
            scope=_scope(state),
            now=utcnow(),
            user_name=user_name or state.get("user_name"),
            working_ttl=settings.agents.working_ttl,
            core_char_limit=settings.agents.core_char_limit,
            id_key=services.id_key,
            types=services.types,
            readings=readings,
        )

    async def normalize(state: ProcessState) -> dict[str, Any]:
        def validated() -> tuple[list[Turn], dict[str, Any] | None]:
            # CPU work (validation, masking): in a worker thread
            shows_images = state.get("infer", True) and vision.enabled(
                settings.media.vision, services.llm
            )
            turns = state.get("turns_in") or normalize_messages(
                state["messages"],
                session_id=state.get("session_id"),
                timestamp=state.get("timestamp"),
                now=utcnow(),
                max_message_chars=settings.input.max_message_chars,
                media=settings.media,
                vision=shows_images,
            )
            metadata = state.get("metadata")
            masked = [vision.screened(_masked(turn), settings.media.vision) for turn in turns]
            if settings.media.keep_originals:  # which parts' bytes may be kept
                masked = [originals.marked(turn, shown=shows_images) for turn in masked]
            return masked, metadata and mask_value(metadata)

        with span("node.normalize", user_id=state.get("user_id")) as current:
            # bad input fails before any write
            turns, metadata = await asyncio.to_thread(validated)
            # a forget of this scope from here on makes the call store nothing (reprocess
            # reads them before the stored turns it brings: `erasures` given)
            erasures = state.get("erasures")
            if erasures is None:
                erasures = await services.locks.erasures(
                    state.get("user_id"), state.get("agent_id")
                )
            current.set_attribute("octomem.turns", len(turns))
        return {
            "turns": turns,
            "metadata": metadata,
            "erasures": erasures,
            "started": state.get("started") or time.perf_counter(),
        }

    @contextlib.asynccontextmanager
    async def holding(state: ProcessState) -> AsyncIterator[None]:
        """The user's write lock, for a step of this call: ConflictError (nothing written)
        if the scope was forgotten since the call began."""
        user_id, agent_id = state.get("user_id"), state.get("agent_id")
        async with services.locks.hold(user_id, since={(user_id, agent_id): state["erasures"]}):
            yield

    async def store_turns(state: ProcessState) -> dict[str, Any]:
        """Persist every raw turn before any extraction: nothing said is ever lost."""
        scope = _scope(state)
        with span("node.store_turns", user_id=scope.user_id, turns=len(state["turns"])):
            ctx = ExtractionContext(
                scope=scope, now=utcnow(), id_key=services.id_key, types=services.types
            )
            turns: list[Turn] = state["turns"]

            def raw_records() -> list[MemoryBase]:
                records = turn_log.turn_records(turns, ctx)
                metadata = state.get("metadata")
                return [
                    with_caller_metadata(record, [turn], metadata)
                    for record, turn in zip(records, turns, strict=True)
                ] + [  # what the input itself held (images, files), even with infer=False
                    with_caller_metadata(record, turns, metadata)
                    for mtype in services.enabled_agents
                    if mtype in (state.get("memory_types") or services.enabled_agents)
                    for record in _input_records(services.agents[mtype], turns, ctx)
                ]

            records = await offload.cpu(len(turns), raw_records)  # CPU work: off the loop
            ids = [r.id for r in records if r.memory_type == turn_log.memory_type]
            async with holding(state):
                stored: dict[str, MemoryBase] = {}
                for mtype in dict.fromkeys(r.memory_type for r in records):
                    of_type = [r.id for r in records if r.memory_type == mtype]
                    stored |= {r.id: r for r in await services.vector.get(mtype, of_type)}
                # what the model extracted from each turn before (a turn sent again under
                # its id with other words than it read is extracted again): see `route`
                sent = {r.id: words(r) for r in records if r.id in ids}
                same = extracted.unchanged(stored, sent)
                asked_before = [] if state.get("turns_in") else extracted.asked_before(same, ids)
                fresh = [
                    Decision(
                        operation=Operation.ADD,
                        record=r,
                        reason="raw turn" if r.memory_type == turn_log.memory_type else "input",
                    )
                    for r in records
                    if r.id not in stored
                ]
                changes = await offload.cpu(len(fresh), lambda: all_changes(fresh))
                if "closing" in state:  # a new version of an input: see `versions`
                    changes += versions.reopened(records, stored, actor=INGEST_ACTOR)
                    changes += await versions.closed(
                        services,
                        (scope.user_id, scope.agent_id),
                        state.get("version_of"),
                        state["closing"],
                        records,
                        actor=INGEST_ACTOR,
                    )
                # the parts' original bytes before the records that name them: a crash
                # between the two leaves an orphan blob, never a record without its blob
                await originals.keep(services, scope.user_id, records, turns)
                await write_records(services, changes)
        inputs = [d for d in fresh if d.record.memory_type != turn_log.memory_type]
        return {
            "stored_turns": ids,
            "added_turns": [i for i in ids if i not in stored],
            "asked_before": asked_before,
            "turn_words": sent,
            "inputs": inputs,
            "pending_originals": [(r.memory_type, r.id) for r in records if originals.pending(r)],
            "candidates": [],
            "fell_back": [],
        }

    async def read_turns(state: ProcessState) -> dict[str, Any]:
        """The user's stored name and the language layer's reading of every turn."""
        scope = _scope(state)
        with span("node.read_turns", user_id=scope.user_id):
            turns = state["turns"]
            user_name = await projections.user_name(
                services, scope.user_id, ANY, utcnow(), exclude={turn.id for turn in turns}
            )
            ctx = context(state, user_name=user_name)
            # parsing is CPU work: off the event loop
            readings = await asyncio.to_thread(read_readings, turns, ctx)
        return {"user_name": user_name, "readings": readings}

    def for_model(state: ProcessState | AgentTask) -> tuple[list[Turn], ExtractionContext]:
        """The turns the model is asked about, and its context with the turns before them
        (which it extracted from before: `extracted`)."""
        turns, start = state["turns"], state.get("llm_from", 0)
        ctx = context(state).model_copy(update={"earlier": extracted.earlier(turns, start)})
        return turns[start:], ctx

    def wanted(state: ProcessState) -> list[MemoryType] | None:
        # infer=False stores the raw turns only: no agent reads them
        return state.get("memory_types") if state.get("infer", True) else []

    def prompting(types: list[MemoryType]) -> list[MemoryAgent]:
        """The agents of `types` that extract with the LLM when one is configured."""
        return [services.agents[m] for m in types if services.agents[m].prompt is not None]

    async def route(state: ProcessState) -> dict[str, Any]:
        llm, config = services.llm, settings.llm
        with span("node.route", user_id=state.get("user_id")) as current:
            reasons = routing.route(services.agents, services.enabled_agents, wanted(state))
            if llm is not None:  # a call made again: types extracted from every turn
                done = extracted.from_every_turn(state.get("asked_before", []))
                for agent in prompting(routing.selected(reasons)):  # not asked again
                    if agent.memory_type.value in done:
                        reasons[agent.memory_type] = _EXTRACTED_BEFORE
            chosen = routing.selected(reasons)
            asked = prompting(chosen)  # no LLM call without an agent that prompts it
            mode = config.extraction_mode if llm is not None and asked else "offline"
            extraction_ = Extraction(mode=mode)
            asking = [a.memory_type for a in asked] if mode != "offline" else []
            start = extracted.first_new(state.get("asked_before", []), asking)
            update: dict[str, Any] = {"llm_types": asking, "llm_from": start}
            if llm is not None and extraction_.mode == "per_agent":
                meter = UsageMeter()
                current.set_attribute("octomem.mode", extraction_.mode)
                turns, ctx = for_model({**state, "llm_from": start})
                try:
                    picked = await extraction.route(llm, turns, ctx, asked, config, meter)
                    if any(turn.images for turn in turns):  # they describe them
                        picked += [a.memory_type for a in vision.describers(asked)]
                    for agent in asked:
                        if agent.memory_type not in picked:
                            reasons[agent.memory_type] = _NOTHING_FOUND
                except LLMError as exc:
                    log.warning("llm routing failed; using offline rules", error=str(exc))
                    extraction_ = extraction_.model_copy(update={"failed": True})
                    update |= {  # which turns and types the model failed on: kept
                        "errors": [StepError(step="extraction", message=str(exc))],
                        "fell_back": chosen,
                    }
                update["llm_usage"] = [meter.usage]
        return {
            "routing": {mtype.value: why for mtype, why in reasons.items()},
            "extraction": extraction_,
            **update,
        }

    def chosen(state: ProcessState) -> list[MemoryType]:
        return [MemoryType(m) for m, why in state["routing"].items() if why == "selected"]

    async def llm_extract(state: ProcessState) -> dict[str, Any]:
        """single_call: every routed agent's candidates from one LLM call per chunk; the
        agents it found nothing for are skipped."""
        llm = services.llm
        types = chosen(state)
        asked = prompting(types)
        meter = UsageMeter()
        routing_ = dict(state["routing"])
        update: dict[str, Any] = {}
        with span("node.llm_extract", user_id=state.get("user_id")) as current:
            try:
                if llm is None:  # routed here only with an LLM
                    raise LLMError("no LLM is configured")
                turns, ctx = for_model(state)
                picked, found, withheld = await extraction.single_call(
                    llm,
                    turns,
                    ctx,
                    asked,
                    settings.llm,
                    meter,
                    max_images=settings.media.vision_max_images,
                )
                candidates = [
                    with_caller_metadata(c, state["turns"], state.get("metadata"))
                    for agent in asked
                    for c in found[agent.memory_type]
                ]
                for agent in asked:
                    if agent.memory_type not in picked:
                        routing_[agent.memory_type.value] = _NOTHING_FOUND
                update = {
                    "candidates": candidates,
                    "routing": routing_,
                    "withheld_originals": sorted(withheld),
                }
                current.set_attribute("octomem.candidates", len(candidates))
            except LLMError as exc:
                log.warning("llm extraction failed; using offline rules", error=str(exc))
                update = {
                    "extraction": state["extraction"].model_copy(update={"failed": True}),
                    "errors": [StepError(step="extraction", message=str(exc))],
                    "fell_back": types,
                    # what earlier chunks' replies read in their images still withholds them
                    "withheld_originals": extraction.withheld_by(exc),
                }
            current.set_attribute("octomem.llm_calls", meter.usage.calls)
        return {"llm_usage": [meter.usage], **update}

    def fan_out(state: ProcessState) -> list[Send] | str:
        """An agent task for each routed agent that extracts on its own: by its rules, or
        by its own LLM call in per_agent mode (single_call's call extracted the others)."""
        extraction_ = state["extraction"]
        tasks = []
        for mtype in chosen(state):
            agent = services.agents[mtype]
            by_llm = extraction_.with_llm and agent.prompt is not None
            if by_llm and extraction_.mode == "single_call":
                continue
            task = AgentTask(
                agent=mtype,
                extractor="llm" if by_llm else "rules",
                turns=state["turns"],
                llm_from=state.get("llm_from", 0),
                readings=state["readings"],
                user_id=state.get("user_id"),
                agent_id=state.get("agent_id"),
                session_id=state.get("session_id"),
                user_name=state.get("user_name"),
                metadata=state.get("metadata"),
            )
            tasks.append(Send("agent", task))
        return tasks or "commit"

    def after_route(state: ProcessState) -> list[Send] | str:
        # route sets single_call only with an LLM and an agent that prompts it
        return "llm_extract" if state["extraction"].mode == "single_call" else fan_out(state)

    async def agent(state: AgentTask) -> dict[str, Any]:
        """One memory agent's candidates: its offline rules, or its own LLM call (falling
        back to the rules if that call fails)."""
        mtype = state["agent"]
        memory_agent = services.agents[mtype]
        ctx = context(state, state["readings"])
        update: dict[str, Any] = {}
        with span(
            "agent.extract", agent=mtype.value, user_id=state["user_id"], mode=state["extractor"]
        ) as current:
            found: list[MemoryBase] | None = None
            if state["extractor"] == "llm" and services.llm is not None:
                meter = UsageMeter()
                try:
                    turns, asked_ctx = for_model(state)
                    found, withheld = await extraction.for_agent(
                        services.llm,
                        memory_agent,
                        turns,
                        asked_ctx,
                        settings.llm,
                        meter,
                        max_images=settings.media.vision_max_images,
                    )
                    update["withheld_originals"] = sorted(withheld)
                except LLMError as exc:
                    update["errors"] = [StepError(step="extraction", agent=mtype, message=str(exc))]
                    update["fell_back"] = [mtype]
                    update["withheld_originals"] = extraction.withheld_by(exc)
                update["llm_usage"] = [meter.usage]
            if found is None:  # rule-based extraction is CPU work: off the event loop
                found = await asyncio.to_thread(memory_agent.extract, state["turns"], ctx)
            candidates = await offload.cpu(
                len(found),
                lambda: [
                    with_caller_metadata(c, state["turns"], state.get("metadata")) for c in found
                ],
            )
            current.set_attribute("octomem.candidates", len(candidates))
        return {"candidates": candidates, **update}

    async def commit(state: ProcessState) -> dict[str, Any]:
        """Reconcile the candidates against what is stored and write the decisions, as one
        critical section per scope: no other write to this user (and agent) interleaves."""
        # the images shown to a vision model: withheld if its reply held a secret, else kept
        withheld = set(state.get("withheld_originals", []))
        candidates: list[MemoryBase] = list(state.get("candidates", []))
        turns = state["turns"]
        extraction_ = state["extraction"]
        errors = list(state.get("errors", []))
        use_llm = services.llm is not None and settings.llm.reconcile and extraction_.with_llm
        meter = UsageMeter()
        fell_back = bool(state.get("fell_back"))
        with span(
            "node.commit", user_id=state.get("user_id"), candidates=len(candidates)
        ) as current:
            async with holding(state):
                withheld = await originals.settle(
                    services,
                    state.get("user_id"),
                    state.get("pending_originals", []),
                    state["turns"],
                    withheld,
                )
                candidates = [originals.settled(c, withheld) for c in candidates]
                # what the model took from these turns before: a call made again (not asked
                # again, see `route`), or one of the same turns committed since this began
                replays, candidates = await extracted.replays(
                    services,
                    turns,
                    state["stored_turns"],
                    candidates,
                    skipped=[
                        MemoryType(m)
                        for m, why in state["routing"].items()
                        if why == _EXTRACTED_BEFORE
                    ],
                    asked=[] if state.get("turns_in") else state.get("llm_types", []),
                    sent=state.get("turn_words", {}),
                )
                turns = [originals.settled(t, withheld) for t in turns]
                reconciler = Reconciler(
                    services, utcnow(), llm=services.llm if use_llm else None, meter=meter
                )
                canonical = await offload.cpu(  # CPU work, as below: off the loop if large
                    len(candidates), lambda: projections.canonical_candidates(services, candidates)
                )
                decisions = [*await reconciler.decide(canonical), *replays]
                current.set_attribute("octomem.decisions", len(decisions))
                changes = await offload.cpu(len(decisions), lambda: all_changes(decisions))
                # what the model extracted from the turns: marked in the same intent as
                # what came of it, as are the turns the closed facts came from
                marked = []
                if fell_back or extraction_.with_llm:
                    marked = await extracted.marked(
                        services,
                        turns,
                        state["stored_turns"],
                        "fallback" if fell_back else "llm",
                        types=state.get("llm_types", []),
                        decisions=decisions,
                        start=state.get("llm_from", 0),
                        failed=state.get("fell_back", []),
                        sent=state.get("turn_words", {}),
                    )
                views = await commit_changes(
                    services,
                    changes,
                    now=reconciler.now,
                    closed=closed_by(decisions),
                    marked=marked,
                )
        errors += reconciler.errors
        operations: dict[MemoryType, list[Any]] = {}
        done = [*state.get("inputs", []), *decisions]
        for summary in [*(d.summary() for d in done), *views.operations()]:
            operations.setdefault(summary.memory_type, []).append(summary)
        agents = chosen(state)
        usage = _total([*state.get("llm_usage", []), meter.usage])
        result = ProcessResult(
            operations=operations,
            turns=[t.with_images([]) if t.images else t for t in turns],
            turn_memory_ids=state.get("stored_turns", []),
            added_turn_ids=state.get("added_turns", []),
            agents=agents,
            llm=usage,
            extraction=("offline_fallback" if fell_back else extraction_.mode)
            if agents
            else "none",
            errors=errors,
            elapsed_s=time.perf_counter() - state["started"],
        )
        log.info(
            "processed",
            user_id=state.get("user_id"),
            turns=len(state["turns"]),
            llm_calls=usage.calls,
            extraction=result.extraction,
            operations={k.value: len(v) for k, v in operations.items()},
        )
        return {"decisions": decisions, "result": result}

    builder = StateGraph(ProcessState)
    builder.add_node("normalize", normalize)
    builder.add_node("store_turns", store_turns)
    builder.add_node("read_turns", read_turns)
    builder.add_node("route", route)
    builder.add_node("llm_extract", llm_extract)
    builder.add_node("agent", agent)  # a Send target: its input is an AgentTask
    builder.add_node("commit", commit)
    builder.add_edge(START, "normalize")
    builder.add_edge("normalize", "store_turns")
    builder.add_edge("store_turns", "read_turns")
    builder.add_edge("read_turns", "route")
    builder.add_conditional_edges("route", after_route, ["llm_extract", "agent", "commit"])
    builder.add_conditional_edges("llm_extract", fan_out, ["agent", "commit"])
    builder.add_edge("agent", "commit")
    builder.add_edge("commit", END)
    return builder.compile(name="process")


def _total(usages: list[LLMUsage]) -> LLMUsage:
    total = LLMUsage()
    for usage in usages:
        total.calls += usage.calls
        total.prompt_tokens += usage.prompt_tokens
        total.completion_tokens += usage.completion_tokens
        total.cost_usd += usage.cost_usd
    return total
