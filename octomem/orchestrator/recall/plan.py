"""plan_recall: which agents to search, in which scope, valid when, with which weights."""

from __future__ import annotations

import time
from collections.abc import Mapping

from octomem.agents.base import MemoryAgent
from octomem.errors import InvalidInputError
from octomem.models import MemoryType
from octomem.orchestrator.recall.state import PlanUpdate, RecallInput
from octomem.orchestrator.services import Services
from octomem.orchestrator.time_cues import query_periods
from octomem.plans import RecallPlan
from octomem.telemetry import span


async def plan_recall(state: RecallInput, deps: Services) -> PlanUpdate:
    """The typed, frozen `RecallPlan` of a query: the agents to search (enabled, asked
    for, not known to be empty; core only when asked), scope, filters, validity, limit,
    and the per-agent weights from the query's wording."""
    started = state.get("started") or time.perf_counter()
    query, user_id, as_of = state.get("query", ""), state.get("user_id"), state.get("as_of")
    memory_types = state.get("memory_types")
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("recall needs a non-empty query string")
    config = deps.settings.recall
    with span("recall.plan", user_id=user_id):
        # the records of `AlwaysRecalled` agents (core blocks) are returned whole
        # (result.core); they rank only when asked for, and have no past versions to rank
        # as of a time. Agents without any memory have nothing to search (the BM25 pool
        # stays sized for every asked agent, so results do not depend on which types are
        # empty).
        agents, whole = deps.agents, deps.roles.blocks
        asked = [
            m
            for m in deps.enabled_agents
            if (m in memory_types if memory_types is not None else m not in whole)
            and not (m in whole and as_of is not None)
        ]
        now = state.get("now") or deps.clock.now()
        plan = RecallPlan(
            agents=tuple(m for m in asked if not deps.vector.known_empty(m)),
            keyword_pool=config.candidates * len(asked),
            now=now,
            user_id=user_id,
            agent_id=state.get("agent_id"),
            session_id=state.get("session_id"),
            filters=state.get("filters"),
            include_superseded=bool(state.get("include_superseded", False)),
            as_of=as_of,
            agent_weights=query_agent_weights(
                query, config.agent_weights, config.cue_boost, deps.agents
            ),
            limit=state.get("limit"),
            session_scoped=frozenset(m for m, agent in agents.items() if agent.session_scoped),
            turns=deps.turn_log.memory_type,
            periods=query_periods(query, as_of or now) if config.time_boost > 1 else (),
            memo=state.get("memo"),
        )
    return {"started": started, "plan": plan}


def query_agent_weights(
    query: str,
    base: Mapping[MemoryType, float],
    boost: float,
    agents: Mapping[MemoryType, MemoryAgent],
) -> dict[MemoryType, float]:
    """Configured agent weights, multiplied by `boost` for the agents whose query cue
    (`MemoryAgent.query_cue`) the query matches."""
    weights = dict(base)
    for memory_type, agent in agents.items():
        if agent.query_cue is not None and agent.query_cue.search(query):
            weights[memory_type] = weights.get(memory_type, 1.0) * boost
    return weights
