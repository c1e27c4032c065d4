"""Build the process and recall LangGraph StateGraphs over injected services.

process:  normalize -> store_turns -> extract -> route -> agent (Send per agent) -> reconcile
          -> write (built in process_graph.py)
recall:   plan -> retrieve (one Send per agent) -> fuse
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send

from octomem.errors import InvalidInputError
from octomem.logs import get_logger
from octomem.models import (
    CoreMemory,
    MemoryBase,
    MemoryType,
    RecallHit,
    RecallResult,
    utcnow,
)
from octomem.orchestrator import projections, routing
from octomem.orchestrator.fusion import boost_named_actors, fuse
from octomem.orchestrator.process_graph import build_process_graph
from octomem.orchestrator.retrieval import (
    add_context,
    retrieve,
    shared_searches,
)
from octomem.orchestrator.services import Services
from octomem.orchestrator.staleness import demote_stale
from octomem.orchestrator.state import (
    RecallState,
    RetrieveTask,
)
from octomem.scopes import given, scope_filter
from octomem.telemetry import span

log = get_logger(__name__)
__all__ = ["build_process_graph", "build_recall_graph"]


def build_recall_graph(services: Services) -> CompiledStateGraph:
    config = services.settings.recall

    async def plan(state: RecallState) -> dict[str, Any]:
        started = state.get("started") or time.perf_counter()
        query = state.get("query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("recall needs a non-empty query string")
        with span("node.plan", user_id=state.get("user_id")):
            await services.init()
            requested = state.get("memory_types")
            # core blocks are always returned whole (result.core); they rank only when asked.
            # Agents without any memory have nothing to search (the BM25 pool stays sized
            # for every asked agent, so results do not depend on which types are empty).
            asked = [
                m
                for m in services.enabled_agents
                if (m in requested if requested is not None else m is not MemoryType.CORE)
                and not (m is MemoryType.CORE and state.get("as_of") is not None)
            ]
            agents = [m for m in asked if not services.vector.known_empty(m)]
            plan_: dict[str, Any] = {
                "agents": agents,
                "keyword_pool": config.candidates * len(asked),
                "now": state.get("now") or utcnow(),
                "user_id": state.get("user_id"),
                "agent_id": state.get("agent_id"),
                "session_id": state.get("session_id"),
                "filters": state.get("filters"),
                "include_superseded": bool(state.get("include_superseded", False)),
                "as_of": state.get("as_of"),
                "agent_weights": routing.query_agent_weights(
                    query, config.agent_weights, config.cue_boost, services.agents
                ),
            }

            # the query embedding (model inference) overlaps BM25 and graph expansion,
            # run once for every agent (each agent's retrieve takes its share)
            [plan_["embedding"]], plan_["shared"] = await asyncio.gather(
                services.embedder.embed([query]), shared_searches(services, query, plan_)
            )
        return {"started": started, "plan": plan_}

    def fan_out(state: RecallState) -> list[Send]:
        return [
            Send("retrieve", RetrieveTask(agent=mtype, query=state["query"], plan=state["plan"]))
            for mtype in state["plan"]["agents"]
        ] or [Send("fuse", state)]

    async def retrieve_node(task: RetrieveTask) -> dict[str, Any]:
        agent = services.agents[task["agent"]]
        own = await agent.retrieve(services, task["query"], task["plan"])
        lists, records = own or await retrieve(services, task["agent"], task["query"], task["plan"])
        return {"ranked": lists, "records": records}

    async def fuse_node(state: RecallState) -> dict[str, Any]:
        plan_ = state["plan"]
        with span("node.fuse", user_id=plan_["user_id"]) as current:
            fused = fuse(
                state.get("ranked", []),
                k=config.rrf_k,
                retriever_weights=config.weights.model_dump(),
                agent_weights=plan_["agent_weights"],
                method=config.fusion,
            )
            records: dict[str, MemoryBase] = dict(state.get("records", {}))
            fused = await add_context(
                services,
                plan_,
                fused,
                records,
                hits=config.context_hits,
                weight=config.context_weight,
            )
            fused = boost_named_actors(fused, records, state["query"], config.actor_boost)
            fused, replaced = await demote_stale(
                services, plan_, fused, records, state["query"], config.stale_weight
            )
            limit = state.get("limit") or config.limit
            hits = _collapse_same_text(records, fused, replaced)[:limit]
            core = await _core_blocks(services, plan_)
            current.set_attribute("octomem.hits", len(hits))
        result = RecallResult(
            query=state["query"],
            hits=hits,
            core=core,
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


async def _core_blocks(services: Services, plan: dict[str, Any]) -> list[CoreMemory]:
    """The scope's core blocks, returned whole with every recall. With `as_of`, the human
    block rendered from the facts valid then; the persona, rewritten in place without
    validity, has no stored past version (`history` has its versions)."""
    if plan["as_of"] is not None:  # the human block as its facts read then
        block = await projections.human_block_at(
            services, plan["user_id"], plan["agent_id"], plan["as_of"]
        )
        return [block] if block is not None else []
    core = await services.vector.list(
        MemoryType.CORE,
        where=scope_filter(plan["user_id"], given(plan["agent_id"])),
        live_at=plan["now"],
    )
    return [c for c in core if isinstance(c, CoreMemory)]


def _collapse_same_text(
    records: dict[str, MemoryBase],
    fused: list[tuple[str, float, list[Any]]],
    replaced: dict[str, list[MemoryBase]],
) -> list[RecallHit]:
    """One hit per distinct text: the same sentence held by two agents (a semantic fact and
    its knowledge edge) is shown once, at its best rank, with both agents' provenance.
    A stale hit carries the current records that replace it (`replaced`), one per text,
    as shown above it."""
    hits: dict[str, RecallHit] = {}
    for memory_id, score, provenance in fused:
        record = records[memory_id]
        kept = hits.get(record.content_hash)
        if kept is None:
            current = {r.content_hash: r for r in replaced.get(memory_id, [])}
            shown = [hits[h].memory if h in hits else r for h, r in current.items()]
            hits[record.content_hash] = RecallHit(
                memory=record,
                memory_type=record.memory_type,
                score=score,
                provenance=list(provenance),
                replaced_by=shown,
            )
        else:
            kept.provenance.extend(provenance)
    return list(hits.values())
