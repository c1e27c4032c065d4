"""One agent's retrievers: vector search, BM25 keyword search and graph expansion."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from octomem import filters
from octomem.models import MemoryBase, MemoryType
from octomem.orchestrator.services import Services
from octomem.orchestrator.state import RankedList
from octomem.stores.base import Filter
from octomem.telemetry import span

_WORD = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
STOPWORDS = frozenset(
    """a about after again all am an and any are as at be been before being both but by can
    could did do does doing done for from had has have having he her here hers him his how i
    if in into is it its just know me my myself no nor not now of off on once only or other
    our out over own same she should so some such than that the their them then there these
    they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours tell said say says remember""".split()
)


def query_names(query: str, *, max_words: int = 3) -> list[str]:
    """Word n-grams of the query without stop words: the names graph lookup tries."""
    words = [w.strip("'’-") for w in _WORD.findall(query)]
    names: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word and word.lower() not in STOPWORDS and len(word) > 1:
            run.append(word)
            continue
        for size in range(1, max_words + 1):
            names += [" ".join(run[i : i + size]) for i in range(len(run) - size + 1)]
        run = []
    return list(dict.fromkeys(names))


def recall_filter(
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    memory_type: MemoryType,
    extra: Filter | None,
) -> Filter:
    """Scope of a recall: the user's memories (of one agent_id when given); a session id
    narrows only working memory, which belongs to its session."""
    clauses: list[Filter] = [{"user_id": user_id}]
    if agent_id is not None:
        clauses.append({"agent_id": agent_id})
    if session_id is not None and memory_type is MemoryType.WORKING:
        clauses.append({"session_id": session_id})
    if extra:
        clauses.append(extra)
    return {"AND": clauses}


async def find_query_entities(services: Services, user_id: str | None, query: str) -> list[str]:
    names = query_names(query)
    if not names:
        return []
    entities = await services.graph.find_entities(user_id, names)
    return [entity.id for entity in entities]


async def retrieve(
    services: Services,
    agent: MemoryType,
    query: str,
    plan: dict[str, Any],
) -> tuple[list[RankedList], dict[str, MemoryBase]]:
    """Ranked lists (vector, keyword, graph) of one agent's memories for the query."""
    config = services.settings.recall
    now: datetime = plan["now"]
    include_superseded: bool = plan["include_superseded"]
    live_at = None if include_superseded else now
    where = recall_filter(
        user_id=plan["user_id"],
        agent_id=plan["agent_id"],
        session_id=plan["session_id"],
        memory_type=agent,
        extra=plan.get("filters"),
    )
    limit = config.candidates
    records: dict[str, MemoryBase] = {}
    lists: list[RankedList] = []
    with span("agent.retrieve", agent=agent.value, user_id=plan["user_id"]) as current:
        hits = await services.vector.query(
            agent, plan["embedding"], where=where, live_at=live_at, limit=limit
        )
        records.update({record.id: record for record, _ in hits})
        lists.append(_ranked(agent, "vector", [(r.id, s) for r, s in hits]))

        keyword = await services.keyword.search(
            query,
            user_id=plan["user_id"],
            memory_types=[agent],
            limit=limit,
            include_superseded=include_superseded,
            now=now,
        )
        lists.append(_ranked(agent, "keyword", [(i, s) for i, _, s in keyword]))

        if plan["entity_ids"]:
            found = await services.graph.memories_for_entities(
                plan["user_id"], plan["entity_ids"], hops=config.graph_hops, limit=limit * 4
            )
            graph_hits = [(i, 1.0 / (1 + d)) for i, t, d in found if t is agent][:limit]
            lists.append(_ranked(agent, "graph", graph_hits))

        missing = [i for ranked in lists for i in ranked.ids if i not in records]
        if missing:
            fetched = await services.vector.get(agent, list(dict.fromkeys(missing)))
            records.update({r.id: r for r in fetched})
        # keyword and graph hits obey the same scope, filters and validity as vector hits
        allowed = {
            i
            for i, r in records.items()
            if filters.matches(where, r) and (include_superseded or r.is_live(now))
        }
        lists = [_only(ranked, allowed) for ranked in lists]
        current.set_attribute("octomem.hits", sum(len(r.ids) for r in lists))
    return [ranked for ranked in lists if ranked.ids], {i: records[i] for i in allowed}


def _ranked(agent: MemoryType, retriever: str, pairs: list[tuple[str, float]]) -> RankedList:
    return RankedList(
        agent=agent,
        retriever=retriever,
        ids=[p[0] for p in pairs],
        scores=[float(p[1]) for p in pairs],
    )


def _only(ranked: RankedList, allowed: set[str]) -> RankedList:
    keep = [(i, s) for i, s in zip(ranked.ids, ranked.scores, strict=True) if i in allowed]
    return _ranked(ranked.agent, ranked.retriever, keep)
