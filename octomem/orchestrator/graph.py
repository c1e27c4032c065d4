"""Build the process and recall LangGraph StateGraphs over injected services.

process:  normalize -> store_turns -> route -> agent (one Send per agent) -> reconcile -> write
recall:   plan -> retrieve (one Send per agent) -> fuse
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send

from octomem.agents.base import ExtractionContext
from octomem.agents.episodic import EpisodicAgent
from octomem.errors import InvalidInputError
from octomem.messages import normalize_messages
from octomem.models import (
    CoreMemory,
    MemoryBase,
    MemoryType,
    Operation,
    ProcessResult,
    RecallHit,
    RecallResult,
    Scope,
    utcnow,
)
from octomem.orchestrator import routing
from octomem.orchestrator.fusion import fuse
from octomem.orchestrator.reconcile import Reconciler
from octomem.orchestrator.retrieval import find_query_entities, retrieve
from octomem.orchestrator.services import Services
from octomem.orchestrator.state import (
    AgentTask,
    Decision,
    ProcessState,
    RecallState,
    RetrieveTask,
)
from octomem.orchestrator.writer import changes_for, write_records
from octomem.telemetry import span

log = structlog.get_logger(__name__)


def _scope(state: ProcessState | AgentTask) -> Scope:
    return Scope(
        user_id=state.get("user_id"),
        agent_id=state.get("agent_id"),
        session_id=state.get("session_id"),
    )


def build_process_graph(services: Services) -> CompiledStateGraph:
    settings = services.settings
    raw_log = EpisodicAgent()

    async def normalize(state: ProcessState) -> dict[str, Any]:
        with span("node.normalize", user_id=state.get("user_id")) as current:
            await services.init()
            turns = normalize_messages(
                state["messages"],
                session_id=state.get("session_id"),
                timestamp=state.get("timestamp"),
                now=utcnow(),
                max_message_chars=settings.input.max_message_chars,
            )
            current.set_attribute("octomem.turns", len(turns))
        return {"turns": turns, "started": state.get("started") or time.perf_counter()}

    async def store_turns(state: ProcessState) -> dict[str, Any]:
        """Persist every raw turn before any extraction: nothing said is ever lost."""
        scope = _scope(state)
        with span("node.store_turns", user_id=scope.user_id, turns=len(state["turns"])):
            ctx = ExtractionContext(scope=scope, now=utcnow())
            records = [
                _with_metadata(raw_log.raw_turn_record(turn, ctx), state.get("metadata"))
                for turn in state["turns"]
            ]
            stored = {
                r.id
                for r in await services.vector.get(MemoryType.EPISODIC, [r.id for r in records])
            }
            fresh = [r for r in records if r.id not in stored]
            decisions = [
                Decision(operation=Operation.ADD, record=r, reason="raw turn") for r in fresh
            ]
            await write_records(services, [c for d in decisions for c in changes_for(d)])
            user_name = await _user_name(services, scope)
        return {"stored_turns": [r.id for r in records], "user_name": user_name, "candidates": []}

    async def route(state: ProcessState) -> dict[str, Any]:
        with span("node.route", user_id=state.get("user_id")):
            # infer=False stores the raw turns only: no agent reads them
            requested = state.get("memory_types") if state.get("infer", True) else []
            reasons = routing.route(services.enabled_agents, requested)
        return {"routing": {mtype.value: why for mtype, why in reasons.items()}}

    def fan_out(state: ProcessState) -> list[Send] | str:
        chosen = [MemoryType(m) for m, why in state["routing"].items() if why == "selected"]
        if not chosen:
            return "reconcile"
        return [
            Send(
                "agent",
                AgentTask(
                    agent=mtype,
                    turns=state["turns"],
                    user_id=state.get("user_id"),
                    agent_id=state.get("agent_id"),
                    session_id=state.get("session_id"),
                    user_name=state.get("user_name"),
                    metadata=state.get("metadata"),
                ),
            )
            for mtype in chosen
        ]

    async def agent(task: AgentTask) -> dict[str, Any]:
        """One memory agent extracts its candidates from the conversation."""
        memory_agent = services.agents[task["agent"]]
        with span("agent.extract", agent=task["agent"].value, user_id=task["user_id"]) as current:
            ctx = ExtractionContext(
                scope=_scope(task),
                now=utcnow(),
                user_name=task.get("user_name"),
                working_ttl=settings.agents.working_ttl,
                core_char_limit=settings.agents.core_char_limit,
            )
            candidates = [
                _with_metadata(c, task.get("metadata"))
                for c in memory_agent.extract(task["turns"], ctx)
            ]
            current.set_attribute("octomem.candidates", len(candidates))
        return {"candidates": candidates}

    async def reconcile(state: ProcessState) -> dict[str, Any]:
        with span(
            "node.reconcile",
            user_id=state.get("user_id"),
            candidates=len(state.get("candidates", [])),
        ) as current:
            decisions = await Reconciler(services, utcnow()).decide(state.get("candidates", []))
            current.set_attribute("octomem.decisions", len(decisions))
        return {"decisions": decisions}

    async def write(state: ProcessState) -> dict[str, Any]:
        decisions: list[Decision] = state.get("decisions", [])
        with span("node.write", user_id=state.get("user_id"), decisions=len(decisions)):
            await write_records(services, [c for d in decisions for c in changes_for(d)])
        operations: dict[MemoryType, list] = {}
        for decision in decisions:
            operations.setdefault(decision.record.memory_type, []).append(decision.summary())
        chosen = [MemoryType(m) for m, why in state["routing"].items() if why == "selected"]
        result = ProcessResult(
            operations=operations,
            turns=state["turns"],
            turn_memory_ids=state.get("stored_turns", []),
            agents=chosen,
            extraction="offline" if chosen else "none",
            elapsed_s=time.perf_counter() - state["started"],
        )
        log.info(
            "processed",
            user_id=state.get("user_id"),
            turns=len(state["turns"]),
            operations={k.value: len(v) for k, v in operations.items()},
        )
        return {"result": result}

    builder = StateGraph(ProcessState)
    builder.add_node("normalize", normalize)
    builder.add_node("store_turns", store_turns)
    builder.add_node("route", route)
    builder.add_node("agent", agent)  # type: ignore[arg-type]  # a Send target takes its task
    builder.add_node("reconcile", reconcile)
    builder.add_node("write", write)
    builder.add_edge(START, "normalize")
    builder.add_edge("normalize", "store_turns")
    builder.add_edge("store_turns", "route")
    builder.add_conditional_edges("route", fan_out, ["agent", "reconcile"])
    builder.add_edge("agent", "reconcile")
    builder.add_edge("reconcile", "write")
    builder.add_edge("write", END)
    return builder.compile(name="process")


def build_recall_graph(services: Services) -> CompiledStateGraph:
    config = services.settings.recall

    async def plan(state: RecallState) -> dict[str, Any]:
        query = state.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("recall needs a non-empty query string")
        with span("node.plan", user_id=state.get("user_id")):
            await services.init()
            requested = state.get("memory_types")
            # core blocks are always returned whole (result.core); they rank only when asked
            agents = [
                m
                for m in services.enabled_agents
                if (m in requested if requested is not None else m is not MemoryType.CORE)
            ]
            [embedding] = await services.embedder.embed([query])
            entity_ids = await find_query_entities(services, state.get("user_id"), query)
        return {
            "started": state.get("started") or time.perf_counter(),
            "plan": {
                "agents": agents,
                "now": state.get("now") or utcnow(),
                "user_id": state.get("user_id"),
                "agent_id": state.get("agent_id"),
                "session_id": state.get("session_id"),
                "filters": state.get("filters"),
                "include_superseded": bool(state.get("include_superseded", False)),
                "embedding": embedding,
                "entity_ids": entity_ids,
                "agent_weights": routing.query_agent_weights(
                    query, config.agent_weights, config.cue_boost
                ),
            },
        }

    def fan_out(state: RecallState) -> list[Send]:
        return [
            Send("retrieve", RetrieveTask(agent=mtype, query=state["query"], plan=state["plan"]))
            for mtype in state["plan"]["agents"]
        ] or [Send("fuse", state)]

    async def retrieve_node(task: RetrieveTask) -> dict[str, Any]:
        lists, records = await retrieve(services, task["agent"], task["query"], task["plan"])
        return {"ranked": lists, "records": records}

    async def fuse_node(state: RecallState) -> dict[str, Any]:
        plan_ = state["plan"]
        with span("node.fuse", user_id=plan_["user_id"]) as current:
            fused = fuse(
                state.get("ranked", []),
                k=config.rrf_k,
                retriever_weights=config.weights.model_dump(),
                agent_weights=plan_["agent_weights"],
            )
            records: dict[str, MemoryBase] = state.get("records", {})
            limit = state.get("limit") or config.limit
            hits = _collapse_same_text(records, fused)[:limit]
            core = await services.vector.list(
                MemoryType.CORE,
                where={"AND": [{"user_id": plan_["user_id"]}, {"agent_id": plan_["agent_id"]}]}
                if plan_["agent_id"] is not None
                else {"user_id": plan_["user_id"]},
                live_at=plan_["now"],
            )
            current.set_attribute("octomem.hits", len(hits))
        result = RecallResult(
            query=state["query"],
            hits=hits,
            core=[c for c in core if isinstance(c, CoreMemory)],
            elapsed_s=time.perf_counter() - state["started"],
        )
        return {"result": result}

    builder = StateGraph(RecallState)
    builder.add_node("plan", plan)
    builder.add_node("retrieve", retrieve_node)  # type: ignore[arg-type]  # a Send target
    builder.add_node("fuse", fuse_node)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", fan_out, ["retrieve", "fuse"])
    builder.add_edge("retrieve", "fuse")
    builder.add_edge("fuse", END)
    return builder.compile(name="recall")


def _collapse_same_text(
    records: dict[str, MemoryBase], fused: list[tuple[str, float, list[Any]]]
) -> list[RecallHit]:
    """One hit per distinct text: the same sentence held by two agents (a semantic fact and
    its knowledge edge) is shown once, at its best rank, with both agents' provenance."""
    hits: dict[str, RecallHit] = {}
    for memory_id, score, provenance in fused:
        record = records[memory_id]
        kept = hits.get(record.content_hash)
        if kept is None:
            hits[record.content_hash] = RecallHit(
                memory=record,
                memory_type=record.memory_type,
                score=score,
                provenance=list(provenance),
            )
        else:
            kept.provenance.extend(provenance)
    return list(hits.values())


def _with_metadata(record: MemoryBase, metadata: dict[str, Any] | None) -> MemoryBase:
    if not metadata:
        return record
    return record.model_copy(update={"metadata": {**metadata, **record.metadata}})


async def _user_name(services: Services, scope: Scope) -> str | None:
    """The user's current name, if a semantic memory knows it."""
    where = {"AND": [{"user_id": scope.user_id}, {"subject": "user"}, {"attribute": "name"}]}
    found = await services.vector.list(MemoryType.SEMANTIC, where=where, live_at=utcnow())
    return getattr(found[-1], "value", None) if found else None
