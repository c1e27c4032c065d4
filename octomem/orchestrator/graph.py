"""The recall steps, and the recall LangGraph StateGraph over injected services.

process:  normalize -> store_turns -> read_turns -> route -> [llm_extract] -> agent (Send per
          agent) -> commit (built in process_graph.py)
recall:   plan_recall -> search_shared -> search_agent (one Send per agent) -> rank_hits

`recall` runs the recall steps directly (the agents' searches side by side with
asyncio.gather); the recall graph wires the same steps as nodes, for LangGraph Studio.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
from octomem.orchestrator.retrieval import add_context, embed_query, retrieve, shared_searches
from octomem.orchestrator.services import Services
from octomem.orchestrator.staleness import demote_stale
from octomem.orchestrator.state import RecallState, RetrieveTask
from octomem.orchestrator.time_cues import boost_in_period, query_periods
from octomem.plans import RankedList, RecallPlan
from octomem.scopes import given, scope_filter
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.state import RecallGraph

log = get_logger(__name__)
__all__ = [
    "build_recall_graph",
    "plan_recall",
    "rank_hits",
    "recall",
]


async def plan_recall(
    services: Services,
    query: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    limit: int | None = None,
    memory_types: Sequence[MemoryType] | None = None,
    filters: dict[str, Any] | None = None,
    include_superseded: bool = False,
    now: datetime | None = None,
    as_of: datetime | None = None,
) -> RecallPlan:
    """Which agents to search, in which scope, valid when, and with which weights."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("recall needs a non-empty query string")
    config = services.settings.recall
    with span("recall.plan", user_id=user_id):
        # the records of `always_recalled` agents (core blocks) are returned whole
        # (result.core); they rank only when asked for, and have no past versions to rank
        # as of a time. Agents without any memory have nothing to search (the BM25 pool
        # stays sized for every asked agent, so results do not depend on which types are
        # empty).
        agents = services.agents
        asked = [
            m
            for m in services.enabled_agents
            if (m in memory_types if memory_types is not None else not agents[m].always_recalled)
            and not (agents[m].always_recalled and as_of is not None)
        ]
        now = now or utcnow()
        return RecallPlan(
            agents=tuple(m for m in asked if not services.vector.known_empty(m)),
            keyword_pool=config.candidates * len(asked),
            now=now,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            filters=filters,
            include_superseded=bool(include_superseded),
            as_of=as_of,
            agent_weights=routing.query_agent_weights(
                query, config.agent_weights, config.cue_boost, services.agents
            ),
            limit=limit,
            session_scoped=frozenset(m for m, agent in agents.items() if agent.session_scoped),
            turns=services.turn_log.memory_type,
            periods=query_periods(query, as_of or now) if config.time_boost > 1 else (),
        )


async def rank_hits(
    services: Services,
    query: str,
    plan: RecallPlan,
    ranked: Sequence[RankedList],
    records: dict[str, MemoryBase],
    *,
    started: float,
) -> RecallResult:
    """The agents' ranked lists fused into one ranking, with neighbouring turns of the
    best turns, people the query names and current facts over stale evidence raised;
    one hit per text, up to the limit, and the scope's core blocks."""
    config = services.settings.recall
    with span("recall.rank", user_id=plan.user_id) as current:
        fused = fuse(
            ranked,
            k=config.rrf_k,
            retriever_weights=(
                config.rrf_weights if config.fusion == "rrf" else config.weights
            ).model_dump(),
            agent_weights=plan.agent_weights,
            method=config.fusion,
        )
        records = dict(records)
        fused = await add_context(
            services,
            plan,
            fused,
            records,
            hits=config.context_hits,
            weight=config.context_weight,
        )
        fused = boost_named_actors(fused, records, query, config.actor_boost)
        fused = boost_in_period(fused, records, plan.periods, config.time_boost)
        fused, replaced = await demote_stale(
            services, plan, fused, records, query, config.stale_weight
        )
        hits = _collapse_same_text(records, fused, replaced)[: plan.limit or config.limit]
        core = await _core_blocks(services, plan)
        current.set_attribute("octomem.hits", len(hits))
    return RecallResult(query=query, hits=hits, core=core, elapsed_s=time.perf_counter() - started)


async def recall(
    services: Services, query: str, plan: RecallPlan, *, started: float | None = None
) -> RecallResult:
    """Recall for `query` by `plan` (`plan_recall`): the steps of the recall graph after
    the plan, called directly. `started`: when the call began (for `elapsed_s`)."""
    started = time.perf_counter() if started is None else started
    # the agents' vector searches start once the query's embedding is known, while the
    # keyword and graph searches they share are still running
    embedding = asyncio.ensure_future(embed_query(services, query)) if plan.agents else None
    shared = asyncio.ensure_future(shared_searches(services, query, plan, embedding=embedding))
    try:
        found = await asyncio.gather(
            *(
                retrieve(services, agent, query, plan, shared, embedding=embedding)
                for agent in plan.agents
            )
        )
        await shared
    finally:
        for task in (shared, embedding):
            if task is not None and not task.done():
                task.cancel()
    ranked = [lists for agent_lists, _ in found for lists in agent_lists]
    records = {i: r for _, agent_records in found for i, r in agent_records.items()}
    return await rank_hits(services, query, plan, ranked, records, started=started)


def build_recall_graph(services: Services) -> RecallGraph:
    """The recall steps as a graph, for LangGraph Studio: each agent's search is one Send,
    and the state shows the plan, every retriever's ranked list and the result."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    async def plan_node(state: RecallState) -> dict[str, Any]:
        started = state.get("started") or time.perf_counter()
        plan = await plan_recall(
            services,
            state.get("query", ""),
            user_id=state.get("user_id"),
            agent_id=state.get("agent_id"),
            session_id=state.get("session_id"),
            limit=state.get("limit"),
            memory_types=state.get("memory_types"),
            filters=state.get("filters"),
            include_superseded=state.get("include_superseded", False),
            now=state.get("now"),
            as_of=state.get("as_of"),
        )
        return {"started": started, "plan": plan}

    async def shared_node(state: RecallState) -> dict[str, Any]:
        return {"shared": await shared_searches(services, state["query"], state["plan"])}

    def fan_out(state: RecallState) -> list[Any]:  # Sends; LangGraph resolves these hints
        tasks = [
            RetrieveTask(
                agent=agent, query=state["query"], plan=state["plan"], shared=state["shared"]
            )
            for agent in state["plan"].agents
        ]
        return [Send("search_agent", task) for task in tasks] or [Send("rank_hits", state)]

    async def agent_node(state: RetrieveTask) -> dict[str, Any]:
        lists, records = await retrieve(
            services, state["agent"], state["query"], state["plan"], state["shared"]
        )
        return {"ranked": lists, "records": records}

    async def rank_node(state: RecallState) -> dict[str, Any]:
        result = await rank_hits(
            services,
            state["query"],
            state["plan"],
            state.get("ranked", []),
            state.get("records", {}),
            started=state["started"],
        )
        return {"result": result}

    builder = StateGraph(RecallState)
    builder.add_node("plan_recall", plan_node)
    builder.add_node("search_shared", shared_node)
    builder.add_node("search_agent", agent_node, input_schema=RetrieveTask)
    builder.add_node("rank_hits", rank_node)
    builder.add_edge(START, "plan_recall")
    builder.add_edge("plan_recall", "search_shared")
    builder.add_conditional_edges("search_shared", fan_out, ["search_agent", "rank_hits"])
    builder.add_edge("search_agent", "rank_hits")
    builder.add_edge("rank_hits", END)
    return builder.compile(name="recall")


async def _core_blocks(services: Services, plan: RecallPlan) -> list[CoreMemory]:
    """The scope's core blocks, returned whole with every recall. With `as_of`, the human
    block rendered from the facts valid then; the persona, rewritten in place without
    validity, has no stored past version (`history` has its versions)."""
    if plan.as_of is not None:  # the human block as its facts read then
        views = await projections.scope_views_at(services, plan.user_id, plan.agent_id, plan.as_of)
        return [view for view in views if isinstance(view, CoreMemory)]
    where = scope_filter(plan.user_id, given(plan.agent_id))
    core: list[MemoryBase] = []
    for memory_type, agent in services.agents.items():
        if agent.always_recalled:
            core += await services.vector.list(memory_type, where=where, live_at=plan.now)
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
