"""rank_hits: the agents' ranked lists fused into one ranking, and the scope's core blocks."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from octomem.models import MemoryBase, RecallHit, RecallResult
from octomem.orchestrator import learned_rank, projections
from octomem.orchestrator.fusion import Applied, boost_named_actors, fuse
from octomem.orchestrator.recall.state import RankUpdate, RecallState
from octomem.orchestrator.retrieval import add_context
from octomem.orchestrator.services import Services
from octomem.orchestrator.staleness import demote_stale
from octomem.orchestrator.time_cues import boost_in_period
from octomem.telemetry import span


async def rank_hits(state: RecallState, deps: Services) -> RankUpdate:
    """The agents' ranked lists fused into one ranking, with neighbouring turns of the
    best turns, people the query names and current facts over stale evidence raised;
    one hit per text, up to the limit, and the scope's core blocks (`search_shared`'s)."""
    query, plan = state["query"], state["plan"]
    with span("recall.rank", user_id=plan.user_id) as current:
        hits = await _ranked_hits(state, deps)
        current.set_attribute("octomem.hits", len(hits))
    elapsed = time.perf_counter() - state["started"]
    core = deps.roles.core_blocks(state["shared"].core)
    result = RecallResult(query=query, hits=hits, core=core, elapsed_s=elapsed)
    return {"result": result}


async def _ranked_hits(state: RecallState, deps: Services) -> list[RecallHit]:
    query, plan = state["query"], state["plan"]
    config = deps.settings.recall
    fused = fuse(
        state.get("ranked", []),
        k=config.rrf_k,
        retriever_weights=(
            config.rrf_weights if config.fusion == "rrf" else config.weights
        ).model_dump(),
        agent_weights=plan.agent_weights,
        method=config.fusion,
    )
    records = dict(state.get("records", {}))
    fused = await add_context(
        deps, plan, fused, records, hits=config.context_hits, weight=config.context_weight
    )
    keyed = deps.settings.agents.fact_keys
    boosts: Applied = {}
    fused = boost_named_actors(
        fused, records, query, config.actor_boost, keyed=keyed, applied=boosts
    )
    fused = boost_in_period(fused, records, plan.periods, config.time_boost, boosts)
    marked = state["shared"].marked
    fused, replaced = await demote_stale(
        deps, plan, fused, records, query, config.stale_weight, marked
    )
    if config.stale_weight != 1.0:
        for memory_id in replaced:
            boosts.setdefault(memory_id, {})["stale"] = config.stale_weight
    limit = plan.limit or config.limit
    learned = config.ranker == "learned"
    hits = _collapse_same_text(
        records, fused, replaced, boosts, max(limit, config.ranker_pool if learned else 0)
    )
    if learned:
        hits = learned_rank.shipped().rerank(query, hits, config.ranker_pool)
    return hits[:limit]


@dataclass(slots=True)
class _Collapsed:
    """A hit while `_collapse_same_text` gathers it (a `RecallHit` is built for the kept)."""

    memory: MemoryBase
    score: float
    provenance: list[Any]
    replaced_by: list[MemoryBase]
    boosts: dict[str, float]


def _collapse_same_text(
    records: dict[str, MemoryBase],
    fused: list[tuple[str, float, list[Any]]],
    replaced: dict[str, list[MemoryBase]],
    boosts: Applied,
    keep: int,
) -> list[RecallHit]:
    """One hit per distinct text, the first `keep`: the same sentence held by two agents (a
    semantic fact and its knowledge edge) is shown once, at its best rank, with both
    agents' provenance, as the fact the edge was rendered from (whichever of the two ranked
    first). A stale hit carries the current records that replace it (`replaced`), one per
    text, as shown above it; each hit the factors its score was boosted by (`boosts`)."""
    hits: dict[str, _Collapsed] = {}
    for memory_id, score, provenance in fused:
        record = records[memory_id]
        kept = hits.get(record.content_hash)
        if kept is None:
            current = {r.content_hash: r for r in replaced.get(memory_id, [])}
            shown = [hits[h].memory if h in hits else r for h, r in current.items()]
            boosted = dict(boosts.get(memory_id, {}))
            hits[record.content_hash] = _Collapsed(record, score, list(provenance), shown, boosted)
        else:
            kept.provenance.extend(provenance)
            if projections.projected_from(kept.memory) == record.id:
                # the fact an edge was rendered from is the memory shown (and changed)
                kept.memory = record
    return [
        RecallHit(
            memory=hit.memory,
            memory_type=hit.memory.memory_type,
            score=hit.score,
            provenance=hit.provenance,
            replaced_by=hit.replaced_by,
            boosts=hit.boosts,
        )
        for hit in itertools.islice(hits.values(), keep)
    ]
