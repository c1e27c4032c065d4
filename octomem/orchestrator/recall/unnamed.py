"""The search without names (`recall.weights.unnamed`): a question that names a speaker of
the turns ("What books has Tim read?") also searches the turns with the question's names
left out ("What books has read?").

A short question's embedding is dominated by the name it holds: every turn beside the
name (and the name is a speaker's, so it is beside many) is near it, and the turns that
answer it ("I just finished The Alchemist, one of my favorites") are not nearer than the
rest. Without the name, the question's embedding is what it asks about. The person still
counts: the first search keeps the name, the keyword search matches it, and their turns
are raised for it (`recall.actor_boost`). Issue 47 measured this against a second hop
through the knowledge graph (from the memories that mention the person to the turns they
were read from), which gained nothing: docs/decisions.md, Recall.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from octomem.embeddings import embed_for
from octomem.language import has_content
from octomem.models import MemoryBase
from octomem.orchestrator.fusion import named_in
from octomem.orchestrator.retrieval import nearest
from octomem.orchestrator.services import Services
from octomem.plans import RecallPlan


def speakers_named(query: str, records: Iterable[MemoryBase]) -> list[str]:
    """The speakers of the raw turns among the records whom the query names (not whom a
    memory read from turns is about: "Maya moved to Berlin", read from the user's "I moved
    to Berlin", names no speaker)."""
    named = named_in(query)
    actors = {getattr(r, "actor", None) for r in records if r.internal.get("raw")}
    return sorted(a for a in actors if isinstance(a, str) and a.strip() and named(a))


def without_names(query: str, names: Iterable[str]) -> str:
    """The query with each name (and its possessive "'s") left out."""
    for name in sorted(names, key=len, reverse=True):
        query = re.sub(rf"(?i)(?<!\w){re.escape(name.strip())}(?:['’]s)?(?!\w)", "", query)
    return " ".join(query.split())


async def search_unnamed(
    deps: Services, plan: RecallPlan, query: str, names: list[str], limit: int
) -> list[tuple[MemoryBase, float]]:
    """The turns nearest the query without `names` (the speakers it names:
    `speakers_named` of the first searches' hits), best first; none if it names none or
    nothing but them."""
    turns = plan.turns
    if turns is None or turns not in plan.agents or not names:
        return []
    rest = without_names(query, names)
    if not has_content(rest):
        return []
    [embedding] = await embed_for(deps.embedder, [rest], [plan.user_id])
    return await nearest(deps, plan, turns, embedding, limit)
