"""search_shared and search_agent: what each agent found for the query."""

from __future__ import annotations

import asyncio
from typing import Any

from octomem.at_once import at_once, together
from octomem.embeddings import embed_for
from octomem.models import MemoryBase, MemoryType
from octomem.orchestrator import projections
from octomem.orchestrator.recall.state import (
    AgentHits,
    Planned,
    RetrieveTask,
    Searched,
    SharedSearches,
    SharedUpdate,
)
from octomem.orchestrator.recall.unnamed import search_unnamed, speakers_named
from octomem.orchestrator.retrieval import (
    PlanSearch,
    every_record,
    keyword_hits,
    nearest,
    query_names,
    within_plan,
)
from octomem.orchestrator.services import Services
from octomem.orchestrator.staleness import marked_facts
from octomem.plans import RankedList, RecallPlan, Retriever
from octomem.scopes import given, scope_filter
from octomem.telemetry import span

Hits = dict[MemoryType, list[tuple[str, float]]]
Found = list[tuple[MemoryBase, float]]


async def search_shared(state: Planned, deps: Services) -> SharedUpdate:
    """The searches every agent would repeat, run once for all of them, side by side: the
    query's embedding then each agent's vector search; one BM25 search and the graph
    expansion of the names the query holds, then the records of their hits that the
    vector searches did not return (read once those are done: fewer requests, at the
    cost of a wait when some are missing), with the facts the vector hits' stale marks
    name; the scope's core blocks; if the query names speakers of the vector hits, a
    search of the turns without their names (`unnamed`), made again at the end only if
    the other hits' speakers change the names."""
    query, plan = state["query"], state["plan"]
    config = deps.settings.recall
    agents = plan.agents
    keyword: Hits = {a: [] for a in agents}
    graph: Hits = {a: [] for a in agents}
    if not agents:
        shared = SharedSearches(
            embedding=[],
            vector={},
            keyword=keyword,
            graph=graph,
            entity_ids=[],
            records={},
            core=await core_records(deps, plan),
        )
        return {"shared": shared}

    async def bm25() -> None:
        pool = plan.keyword_pool or config.candidates * len(agents)
        if len(agents) == 1:
            # one agent keeps its best `candidates` hits: ranking more would be wasted (and
            # a short list lets the index skip rows that hold only common words)
            pool = min(pool, config.candidates)
        found = await keyword_hits(deps, query, plan, agents, pool)
        for memory_id, memory_type, score in found:
            if len(kept := keyword[memory_type]) < config.candidates:
                kept.append((memory_id, score))

    async def expand() -> list[str]:
        entity_ids, near = await deps.graph.memories_for_names(
            plan.user_id,
            query_names(query, plan.user_id),
            hops=config.graph_hops,
            limit=config.candidates * 4,
        )
        for memory_id, memory_type, distance in near:
            if memory_type in graph and len(graph[memory_type]) < config.candidates:
                graph[memory_type].append((memory_id, 1.0 / (1 + distance)))
        return entity_ids

    async def vectors() -> tuple[list[float], list[list[tuple[MemoryBase, float]]]]:
        [embedding] = await embed_for(deps.embedder, [query], [plan.user_id])
        return embedding, await asyncio.gather(
            *(nearest(deps, plan, agent, embedding, config.candidates) for agent in agents)
        )

    async def others(
        nearby: asyncio.Future[tuple[list[float], list[list[tuple[MemoryBase, float]]]]],
    ) -> tuple[list[str], list[list[MemoryBase]], dict[str, MemoryBase]]:
        _, entity_ids = await asyncio.gather(bm25(), expand())
        # the records the vector searches returned are not read again
        hits = [r for found in (await nearby)[1] for r, _ in found]
        known = {r.id for r in hits}

        async def fetch(agent: MemoryType) -> list[MemoryBase]:
            found = (i for i, _ in [*keyword[agent], *graph[agent]] if i not in known)
            wanted = list(dict.fromkeys(found))
            return await deps.vector.get(agent, wanted, memo=plan.memo) if wanted else []

        fetched, marked = await together(
            at_once(fetch(agent) for agent in agents), marked_facts(deps, plan, hits)
        )
        return entity_ids, fetched, marked

    weights = config.rrf_weights if config.fusion == "rrf" else config.weights
    unnamed_on = weights.unnamed > 0 and plan.turns is not None

    async def unnamed_ahead(nearby: asyncio.Future[Any]) -> tuple[list[str], Found]:
        """The search without the speakers the query names among the vector hits, begun
        with the records' reads: if the other hits name no other, it is the one."""
        hits = [r for found in (await nearby)[1] for r, _ in found]
        names = speakers_named(query, hits) if unnamed_on else []
        return names, await search_unnamed(deps, plan, query, names, config.candidates)

    with span("recall.search", user_id=plan.user_id, agents=len(agents)):
        nearby = asyncio.ensure_future(vectors())
        (
            (embedding, nearest_hits),
            (entity_ids, fetched, marked),
            core,
            (named, found),
        ) = await asyncio.gather(
            nearby, others(nearby), core_records(deps, plan), unnamed_ahead(nearby)
        )
    records = {r.id: r for found in fetched for r in found}
    records |= {r.id: r for hits in nearest_hits for r, _ in hits}
    vector = {
        agent: [(r.id, score) for r, score in hits]
        for agent, hits in zip(agents, nearest_hits, strict=True)
    }
    unnamed: Hits = {}
    if unnamed_on and plan.turns is not None:
        # the speakers the query names are those of the first searches' hits
        if (names := speakers_named(query, records.values())) != named:
            found = await search_unnamed(deps, plan, query, names, config.candidates)
        records |= {r.id: r for r, _ in found if r.id not in records}
        unnamed[plan.turns] = [(r.id, score) for r, score in found]
    shared = SharedSearches(
        embedding=embedding,
        vector=vector,
        keyword=keyword,
        graph=graph,
        entity_ids=entity_ids,
        records=records,
        unnamed=unnamed,
        core=core,
        marked=marked,
    )
    return {"shared": shared}


async def core_records(deps: Services, plan: RecallPlan) -> list[MemoryBase]:
    """The scope's core blocks, returned whole with every recall. With `as_of`, the views
    rendered from the facts valid then (the human block); the persona, rewritten in place
    without validity, has no stored past version."""
    if plan.as_of is not None:  # the human block as its facts read then
        return await projections.scope_views_at(deps, plan.user_id, plan.agent_id, plan.as_of)
    where = scope_filter(plan.user_id, given(plan.agent_id))
    return await every_record(deps, where, live_at=plan.now, types=deps.roles.blocks)


def agent_searches(state: Searched, deps: Services) -> list[RetrieveTask]:
    """One search_agent task per agent the plan searches."""
    return [RetrieveTask(**state, agent=a) for a in state["plan"].agents]


async def search_agent(task: RetrieveTask, deps: Services) -> AgentHits:
    """Ranked lists (vector, keyword, graph) of one agent's memories for the query, and
    their records: the agent's own retrieval step (`MemoryAgent.retrieve`), or its share
    of the shared searches, held to the plan's scope, filters and validity."""
    agent, plan, shared = task["agent"], task["plan"], task["shared"]
    own = await deps.agents[agent].retrieve(PlanSearch(deps, plan), task["query"], plan)
    if own is not None:
        return {"ranked": own[0], "records": own[1]}
    with span("agent.retrieve", agent=agent.value, user_id=plan.user_id) as current:
        found: dict[Retriever, list[tuple[str, float]]] = {
            "vector": shared.vector.get(agent, []),
            "keyword": shared.keyword.get(agent, []),
        }
        if shared.entity_ids:
            found["graph"] = shared.graph.get(agent, [])
        if shared.unnamed.get(agent):
            found["unnamed"] = shared.unnamed[agent]
        within = within_plan(plan, agent)
        records = {
            i: record
            for pairs in found.values()
            for i, _ in pairs
            if (record := shared.records.get(i)) is not None and within(record)
        }
        lists = [
            _ranked(agent, r, [p for p in hits if p[0] in records]) for r, hits in found.items()
        ]
        current.set_attribute("octomem.hits", sum(len(r.ids) for r in lists))
    return {"ranked": [ranked for ranked in lists if ranked.ids], "records": records}


def _ranked(agent: MemoryType, retriever: Retriever, pairs: list[tuple[str, float]]) -> RankedList:
    return RankedList(
        agent=agent,
        retriever=retriever,
        ids=[p[0] for p in pairs],
        scores=[float(p[1]) for p in pairs],
    )
