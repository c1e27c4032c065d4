"""Fusion of the agents' retriever lists into one ranking.

Every agent contributes one list per retriever (vector, keyword, graph). Scores of one
retriever are comparable across agents (one embedder, one BM25 index, one graph), so a
retriever's per-agent lists are first merged into one global ranking by raw score. Two
ways to combine the retrievers:

- ``score`` (the default): a weighted sum of normalised scores,
  ``score(d) = w_agent(d) * (w_vector * cos(d) + w_keyword * bm25(d) / best_bm25 +
  w_graph / (1 + hops(d)))``. A hit the vector search did not return is given the lowest
  similarity its agent's vector list holds (its own is lower still). Unlike rank fusion
  this keeps how much better the best hit is than the tenth.
- ``rrf``: weighted reciprocal rank fusion,
  ``score(d) = sum over retrievers r that found d of w_r * w_agent(d) / (k + rank_r(d))``.

Merging per retriever first keeps a weak agent's best hit from tying with a strong agent's
best hit, which is what plain per-agent fusion does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

from octomem.language.stems import content_stems
from octomem.models import MemoryBase, MemoryType, Provenance
from octomem.plans import RankedList, Retriever

Fused = list[tuple[str, float, list[Provenance]]]
FusionMethod = Literal["score", "rrf"]


def fuse(
    lists: Sequence[RankedList],
    *,
    k: int = 60,
    retriever_weights: Mapping[str, float] | None = None,
    agent_weights: Mapping[MemoryType, float] | None = None,
    method: FusionMethod = "rrf",
) -> Fused:
    """Returns (memory_id, score, provenance) best first; ties broken by id.

    Provenance ranks are 1-based positions in the retriever's global ranking.
    """
    retriever_weights = retriever_weights or {}
    agent_weights = agent_weights or {}
    by_retriever: dict[Retriever, list[tuple[float, str, MemoryType]]] = defaultdict(list)
    for ranked in lists:
        for memory_id, raw in zip(ranked.ids, ranked.scores, strict=True):
            by_retriever[ranked.retriever].append((raw, memory_id, ranked.agent))

    scores: dict[str, float] = defaultdict(float)
    provenance: dict[str, list[Provenance]] = defaultdict(list)
    agent_of: dict[str, MemoryType] = {}
    found_by_vector: set[str] = set()
    for retriever, entries in by_retriever.items():
        entries.sort(key=lambda entry: (-entry[0], entry[1]))
        weight = retriever_weights.get(retriever, 1.0)
        best = entries[0][0] if entries else 0.0
        for rank, (raw, memory_id, agent) in enumerate(entries, 1):
            agent_of[memory_id] = agent
            if method == "rrf":
                scores[memory_id] += weight * agent_weights.get(agent, 1.0) / (k + rank)
            else:
                # BM25 has no fixed scale: relative to the query's best hit
                norm = (raw / best if best > 0 else 0.0) if retriever == "keyword" else raw
                scores[memory_id] += weight * norm
                if retriever == "vector":
                    found_by_vector.add(memory_id)
            provenance[memory_id].append(
                Provenance(agent=agent, retriever=retriever, rank=rank, score=raw)
            )
    if method != "rrf":
        floors = vector_floors(lists)
        vector_weight = retriever_weights.get("vector", 1.0)
        for memory_id, agent in agent_of.items():
            if memory_id not in found_by_vector:
                scores[memory_id] += vector_weight * floors.get(agent, 0.0)
            scores[memory_id] *= agent_weights.get(agent, 1.0)
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(memory_id, score, provenance[memory_id]) for memory_id, score in ordered]


def vector_floors(lists: Iterable[RankedList]) -> dict[MemoryType, float]:
    """Per agent, the lowest similarity its vector list returned (0 if it returned none)."""
    floors: dict[MemoryType, float] = {}
    for ranked in lists:
        if ranked.retriever == "vector" and ranked.scores:
            low = min(ranked.scores)
            floors[ranked.agent] = min(low, floors.get(ranked.agent, low))
    return floors


def named_in(text: str) -> Callable[[str | None], bool]:
    """A test: is this name (a speaker, "Alice") named in `text`? Case and possessives
    ("Alice's") do not matter; names must match whole words."""
    plain = re.sub(r"['’]s\b", "", text.lower())

    def test(name: str | None) -> bool:
        if not name or not name.strip():
            return False
        return re.search(rf"(?<!\w){re.escape(name.strip().lower())}(?!\w)", plain) is not None

    return test


# a memory read from turns this near the query (its rank among every agent's vector hits,
# fused) matches it beyond the name of whom it is about (`boost_named_actors`)
NEAR_RANK = 8
FIRST_PERSON = re.compile(r"(?<!\w)(?:i|me|my|mine|myself)(?!\w)", re.IGNORECASE)
SECOND_PERSON = re.compile(r"(?<!\w)(?:you|your|yours|yourself)(?!\w)", re.IGNORECASE)


def boost_named_actors(
    fused: Fused,
    records: Mapping[str, MemoryBase],
    query: str,
    boost: float,
    *,
    keyed: bool = False,
    applied: Applied | None = None,
) -> Fused:
    """Raise hits said or done by someone the query names ("what did Maria say about..."),
    as `rescaled` does. A memory read from turns (an event, a fact) is raised only if one
    of its turns is among the fused candidates too: a person's many events, matched on the
    name they share with the question, otherwise crowd out the other turns it needs
    (LoCoMo with offline extraction; docs/benchmarks.md). With `keyed` (the turns carry
    what was read from them as search keys, `turn_keys`) that turn must also be said by
    the memory's actor: a key holding the name of whom it is about ("Maya moved to
    Berlin", read from "user: I moved to Berlin") makes a question naming them find
    every such turn, which would raise every memory read from them. And it must match
    the question beyond the name: share a word with it other than the name, or be among
    the `NEAR_RANK` nearest of the vector searches' hits, every agent's together (near in
    meaning, in other words). A person's events all hold their name, so "Melanie took
    their kids to a park" would otherwise be raised for "When did Melanie's friend adopt
    a child?".

    A question in the first person that does not address the assistant ("what did I
    buy?"; not "what did you tell me?") is about the user: the assistant's replies, which
    often repeat the user's words at greater length, are divided by `boost`, so the user's
    own turns and the memories extracted from them rank above them."""
    if boost == 1.0 or not fused:
        return fused
    test = named_in(query)
    about_user = FIRST_PERSON.search(query) is not None and not SECOND_PERSON.search(query)
    cache: dict[str | None, bool] = {}

    def said_by(record: MemoryBase) -> str | None:
        actor = getattr(record, "actor", None)
        return actor.strip().casefold() if keyed and isinstance(actor, str) else None

    found_turns = {
        (turn, said_by(record))
        for memory_id, _, _ in fused
        if (record := records.get(memory_id)) is not None and record.internal.get("raw")
        for turn in record.source.turn_ids
    }

    asked = content_stems(query)
    near = {
        memory_id
        for memory_id, _, provenance in fused
        if any(p.retriever == "vector" and p.rank <= NEAR_RANK for p in provenance)
    }

    def raised(record: MemoryBase | None) -> bool:
        """Not a memory read from turns, or one whose turns include a hit (with `keyed`:
        one said by its actor) and that matches the query beyond its actor's name (a word
        in common, or near in meaning)."""
        if record is None or record.internal.get("raw") or not record.source.turn_ids:
            return True
        actor = said_by(record)
        if found_turns.isdisjoint((turn, actor) for turn in record.source.turn_ids):
            return False
        if record.id in near:
            return True
        name = content_stems(getattr(record, "actor", None) or "")
        return bool(content_stems(record.content) & asked - name)

    def factor(memory_id: str) -> float:
        record = records.get(memory_id)
        actor = getattr(record, "actor", None)
        if actor not in cache:
            cache[actor] = test(actor)
        if cache[actor]:
            return boost if raised(record) else 1.0
        return 1 / boost if about_user and _said_by_assistant(record) else 1.0

    return rescaled(fused, factor, "actor", applied)


Applied = dict[str, dict[str, float]]  # memory id -> {boost name: factor}


def rescaled(
    fused: Fused,
    factor: Callable[[str], float],
    name: str = "",
    applied: Applied | None = None,
) -> Fused:
    """The ranking with each hit's score above the floor (the lowest fused score)
    multiplied by `factor(memory_id)`, re-sorted (ties by id): a factor never lifts a hit
    that no retriever liked, nor drops one below it. `applied` notes each factor other
    than 1 under `name`."""
    if not fused:
        return fused
    floor = min(score for _, score, _ in fused)
    out = []
    for memory_id, score, provenance in fused:
        times = factor(memory_id)
        if times != 1.0:  # an unscaled score stays exactly what it was
            score = floor + (score - floor) * times
            if applied is not None:
                applied.setdefault(memory_id, {})[name] = times
        out.append((memory_id, score, provenance))
    out.sort(key=lambda item: (-item[1], item[0]))
    return out


def _said_by_assistant(record: MemoryBase | None) -> bool:
    """A turn of the assistant: sent in the `assistant` role, or by a speaker named
    "assistant" (a transcript passed in as user messages with speaker names)."""
    if record is None or not record.internal.get("raw"):
        return False
    actor = getattr(record, "actor", None)
    named = isinstance(actor, str) and actor.strip().lower() == "assistant"
    return named or record.internal.get("role") == "assistant"
