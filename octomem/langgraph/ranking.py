"""How `OctomemStore.search` scores and ranks items for a query.

Every ranked item's score is LangGraph's (`best_fields`): the cosine similarity of the
query to the best of the item's indexed texts, as InMemoryStore scores with the same
embedder. ``ranking="vector"`` orders by it; ``ranking="hybrid"`` orders by
octomem's fused recall among those items alone (`rank`), one recall per scope (user,
agent), each given the memo of the store's reads so it parses no item again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from octomem.embeddings import cosines, embed_for
from octomem.langgraph.index import field_texts
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


def texts_of(record: MemoryBase) -> list[str]:
    """The indexed texts of an item: those at the paths its put read (each embedded on its
    own, as LangGraph embeds them), else its one text."""
    paths = record.internal.get("langgraph_fields")
    texts = field_texts(record.internal["langgraph_value"], paths) if paths else []
    return texts or [record.content]


async def best_fields(
    orchestrator: Orchestrator,
    vector: Sequence[float],
    records: list[MemoryBase],
    memo: Memo | None = None,
    *,
    known: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """The score of each indexed one of `records`, by id: the cosine similarity of the
    query's `vector` to the best of its texts. An item of one text is scored by its stored
    vector (`known`: those cosines already computed for this vector, by id); the texts of
    an item of several are embedded (the embedder's cache has them from the put, unless
    evicted or the process restarted since)."""
    ranked = [r for r in records if indexed(r)]
    if not ranked:
        return {}
    embedder = orchestrator.embedder
    several = {r.id: texts for r in ranked if len(texts := texts_of(r)) > 1}
    known = known or {}
    scores = {r.id: known[r.id] for r in ranked if r.id not in several and r.id in known}
    single = [r for r in ranked if r.id not in several and r.id not in scores]
    if single:
        scores |= await stored_similarities(orchestrator, vector, single, memo)
    # several texts, or one Chroma did not return: embedded here (each user's cache)
    todo = [(r, several.get(r.id) or [r.content]) for r in ranked if r.id not in scores]
    if todo:
        texts = [text for _, its in todo for text in its]
        users = [r.user_id for r, its in todo for _ in its]
        matrix = await embed_for(embedder, texts, users)
        similar = iter(cosines(vector, matrix).tolist())
        for record, its in todo:
            scores[record.id] = max(next(similar) for _ in its)
    return scores


async def stored_similarities(
    orchestrator: Orchestrator,
    vector: Sequence[float],
    records: Sequence[MemoryBase],
    memo: Memo | None = None,
) -> dict[str, float]:
    """The cosine similarity of `vector` to each record's stored vector (of its whole
    text), by id: no embedding."""
    scores: dict[str, float] = {}
    ids = [r.id for r in records]
    for start in range(0, len(ids), RANK_CHUNK):
        chunk = ids[start : start + RANK_CHUNK]
        found = await orchestrator.records.similarities(
            MemoryType.SEMANTIC, vector, chunk, memo=memo
        )
        scores.update(found)
    return scores


async def rank(
    orchestrator: Orchestrator,
    query: str,
    records: list[MemoryBase],
    memo: Memo | None = None,
    *,
    cosines: dict[str, float] | None = None,
) -> Scored:
    """The ranked ones of `records` with their scores, best first (`memo`: what read them,
    which the recalls read them with). `cosines`, if given, gets the cosine similarity of
    the query to the stored vector of each hit recall's vector search scored, by id."""
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
            if cosines is not None:
                cosines.update(vector_cosines(found))
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


def vector_cosines(result: RecallResult) -> dict[str, float]:
    """The cosine similarity of the query to the stored vector of each hit that recall's
    vector search scored (its raw score there), by the hit's id: the id, not its text, since
    a hit stands for the items of its text and only its own vector was compared."""
    return {
        hit.memory.id: p.score
        for hit in result.hits
        for p in hit.provenance
        if p.retriever == "vector" and p.agent is MemoryType.SEMANTIC and p.score is not None
    }
