"""How `OctomemStore.search` ranks items for a query: octomem's hybrid recall among those
items alone, one recall per scope (user, agent), best first. Each recall is given the memo
of the store's reads (`Orchestrator.arecall`'s `memo`), so it parses no item again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from octomem.models import MemoryBase, MemoryType, RecallResult
from octomem.orchestrator.engine import Orchestrator
from octomem.stores.parsed import Memo

MARK = "langgraph_store"  # internal key: True on every item of the store
MARK_FILTER = {f"internal.{MARK}": True}
RANK_CHUNK = 1_000  # ids in one recall's filter (it is bounded in size)
RANK_PARALLEL = 4  # recalls of one search (one per scope) running at once

Scope = tuple[str | None, str | None]  # (user_id, agent_id)
Scored = list[tuple[MemoryBase, float]]


def indexed(record: MemoryBase) -> bool:
    """Whether a query ranks the item (not put with index=False, or without text)."""
    return bool(record.internal.get("langgraph_indexed", True))


async def rank(
    orchestrator: Orchestrator,
    query: str,
    records: list[MemoryBase],
    memo: Memo | None = None,
) -> Scored:
    """The ranked ones of `records` with their scores, best first (`memo`: what read them,
    which the recalls read them with)."""
    groups: dict[Scope, list[MemoryBase]] = {}
    for record in records:
        if indexed(record):
            groups.setdefault((record.user_id, record.agent_id), []).append(record)
    chunks = [
        (scope, group[start : start + RANK_CHUNK])
        for scope, group in sorted(groups.items(), key=lambda g: str(g[0]))
        for start in range(0, len(group), RANK_CHUNK)
    ]
    slots = asyncio.Semaphore(RANK_PARALLEL)  # each scope's recall is its own: a few at once

    async def ranked(scope: Scope, chunk: list[MemoryBase]) -> Scored:
        async with slots:
            found = await orchestrator.arecall(
                query,
                user_id=scope[0],
                agent_id=scope[1],
                memory_types=[MemoryType.SEMANTIC],
                filters={"AND": [MARK_FILTER, {"id": {"in": [r.id for r in chunk]}}]},
                limit=len(chunk),
                memo=memo,
            )
            return scores(found, chunk)

    parts = await asyncio.gather(*(ranked(scope, chunk) for scope, chunk in chunks))
    return sorted((pair for part in parts for pair in part), key=lambda p: p[1], reverse=True)


def scores(result: RecallResult, records: Sequence[MemoryBase]) -> Scored:
    """The score of each of `records` that `result` ranks. Recall shows one hit per
    distinct text: items with the same text each get the score of that hit, whichever of
    their ids recall kept."""
    best: dict[str, float] = {}
    for hit in result.hits:
        best.setdefault(hit.memory.content_hash, hit.score)
    return [(r, best[r.content_hash]) for r in records if r.content_hash in best]
