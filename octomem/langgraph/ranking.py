"""How `OctomemStore.search` ranks items for a query: octomem's hybrid recall (vector + BM25
+ graph, fused) among those items alone, one recall per scope (user, agent), best first.

A recall names the items it may rank by id. When a search's namespace prefix decides its
scope and has no filter, the store starts the recall of that whole scope (every item of
the store in it) while it reads the items (`scope_recall`); once read, if they are exactly
the scope's items and every one is ranked by a query (`covers`), that recall is the one
the ids would have made, and is used; otherwise it is dropped, the ids are asked, and the
prefix's next searches start no such recall (`Prefixes`): it would be dropped again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from octomem.models import MemoryBase, MemoryType, RecallResult
from octomem.orchestrator.engine import Orchestrator

MARK = "langgraph_store"  # internal key: True on every item of the store
MARK_FILTER = {f"internal.{MARK}": True}
RANK_CHUNK = 1_000  # ids in one recall's filter (it is bounded in size)
RANK_PARALLEL = 4  # recalls of one search (one per scope) running at once

PARTIAL_MAX = 4_096  # prefixes remembered not to cover their scope
Scope = tuple[str | None, str | None]  # (user_id, agent_id)
Scored = list[tuple[MemoryBase, float]]


class Prefixes:
    """The namespace prefixes whose last search did not `cover` their scope: their searches
    do not start a `scope_recall`, which would be dropped (bounded: at most `PARTIAL_MAX`,
    then forgotten together, so a prefix may be tried again)."""

    def __init__(self) -> None:
        self._prefixes: set[tuple[str, ...]] = set()

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._prefixes

    def add(self, prefix: tuple[str, ...]) -> None:
        if len(self._prefixes) >= PARTIAL_MAX:
            self._prefixes.clear()
        self._prefixes.add(prefix)


def indexed(record: MemoryBase) -> bool:
    """Whether a query ranks the item (not put with index=False, or without text)."""
    return bool(record.internal.get("langgraph_indexed", True))


async def scope_recall(orchestrator: Orchestrator, query: str, scope: Scope) -> RecallResult:
    """The recall of every item of the store in `scope`."""
    return await _recall(orchestrator, query, scope, dict(MARK_FILTER), RANK_CHUNK)


def covers(scope: Scope, in_scope: Sequence[MemoryBase], records: Sequence[MemoryBase]) -> bool:
    """Whether `records`, the items a search ranks, are all of the store's items in
    `scope` (`in_scope`), every one ranked by a query: then `scope_recall` ranks them."""
    return (
        len(records) == len(in_scope)
        and len(records) <= RANK_CHUNK
        and all((r.user_id, r.agent_id) == scope and indexed(r) for r in records)
    )


async def rank(
    orchestrator: Orchestrator,
    query: str,
    records: list[MemoryBase],
    *,
    recalled: RecallResult | None = None,
) -> Scored:
    """The ranked ones of `records` with their scores, best first; `recalled`: their
    `scope_recall`, when it `covers` them."""
    if recalled is not None:
        return _sorted(scores(recalled, records))
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
            return scores(await _recall_among(orchestrator, query, scope, chunk), chunk)

    parts = await asyncio.gather(*(ranked(scope, chunk) for scope, chunk in chunks))
    return _sorted([pair for part in parts for pair in part])


async def _recall_among(
    orchestrator: Orchestrator, query: str, scope: Scope, chunk: list[MemoryBase]
) -> RecallResult:
    among = {"AND": [MARK_FILTER, {"id": {"in": [r.id for r in chunk]}}]}
    return await _recall(orchestrator, query, scope, among, len(chunk))


async def _recall(
    orchestrator: Orchestrator, query: str, scope: Scope, filters: dict[str, Any], limit: int
) -> RecallResult:
    """The recall of the store's items (semantic memories) in `scope` that `filters` allow."""
    user_id, agent_id = scope
    return await orchestrator.arecall(
        query,
        user_id=user_id,
        agent_id=agent_id,
        memory_types=[MemoryType.SEMANTIC],
        filters=filters,
        limit=limit,
    )


def scores(result: RecallResult, records: Sequence[MemoryBase]) -> Scored:
    """The score of each of `records` that `result` ranks. Recall shows one hit per
    distinct text: items with the same text each get the score of that hit, whichever of
    their ids recall kept."""
    best: dict[str, float] = {}
    for hit in result.hits:
        best.setdefault(hit.memory.content_hash, hit.score)
    return [(r, best[r.content_hash]) for r in records if r.content_hash in best]


def _sorted(scored: Scored) -> Scored:
    return sorted(scored, key=lambda pair: pair[1], reverse=True)


def forget(task: asyncio.Future[Any] | None) -> None:
    """Drop a recall started early that is not used (its outcome, an error too, unseen)."""
    if task is not None:
        task.cancel()
        if task.done() and not task.cancelled():
            task.exception()
