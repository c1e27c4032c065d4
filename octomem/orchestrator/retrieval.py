"""What recall's searches share: the keyword query, the plan's scope, filters and validity,
the vector and keyword searches within them (`PlanSearch`, the port an agent's own
retrieval step searches through), and the neighbouring turns that join a ranking."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from octomem import filters
from octomem.agents.base import TurnPosition
from octomem.at_once import at_once
from octomem.embeddings import embed_for
from octomem.language import STOPWORDS, WORD, content_words
from octomem.models import MemoryBase, MemoryType, Provenance
from octomem.orchestrator.fusion import Fused
from octomem.plans import RecallPlan
from octomem.scopes import ANY, given, scope_filter
from octomem.stores.base import Filter
from octomem.telemetry import span

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services


USER = "user"  # how a memory about the user names them until their name is known
_NAME_LIKE = re.compile(r"[^\W\d_][^\W\d_'’.-]*(?:[.'’-][^\W\d_]+)*")  # "ana", "mary-jane"


def names_user(query: str, user_id: str | None) -> bool:
    """Whether the query names the user by an id that reads as a name ("where does ana
    live?" for user "ana"): what the agents stored about them says "the user" until the
    user tells their name, so such a query is a query about "the user" too."""
    if not user_id or user_id.lower() in STOPWORDS or not _NAME_LIKE.fullmatch(user_id):
        return False
    return any(w.strip("'’-").casefold() == user_id.casefold() for w in WORD.findall(query))


def keyword_query(query: str) -> str:
    """The query's content words for BM25 (question and function words only add noise);
    the query itself if it has nothing else."""
    words = content_words(query)
    return " ".join(words) if words else query


def query_names(query: str, user_id: str | None = None, *, max_words: int = 3) -> list[str]:
    """Word n-grams of the query without stop words: the names graph lookup tries (and
    the user's entity, "user", if the query names the user by their id)."""
    words = [w.strip("'’-") for w in WORD.findall(query)]
    names: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word and word.lower() not in STOPWORDS and len(word) > 1:
            run.append(word)
            continue
        for size in range(1, max_words + 1):
            names += [" ".join(run[i : i + size]) for i in range(len(run) - size + 1)]
        run = []
    if names_user(query, user_id):
        names.append(USER)
    return list(dict.fromkeys(names))


def valid_at(record: MemoryBase, at: datetime) -> bool:
    """True at `at` and known by then: valid_from <= at < valid_to, created_at <= at, and
    (working memory) not expired at `at`."""
    expires = record.expiry()
    return (
        record.valid_from <= at
        and record.created_at <= at
        and (record.valid_to is None or record.valid_to > at)
        and (expires is None or expires > at)
    )


def as_of_filter(as_of: datetime) -> Filter:
    """`valid_at` as a filter, so the stores select what was current at `as_of`."""
    return filters.validate(
        {
            "AND": [
                {"valid_from": {"lte": as_of}},
                {"created_at": {"lte": as_of}},
                {"OR": [{"valid_to": None}, {"valid_to": {"gt": as_of}}]},
                {"OR": [{"expires_at": None}, {"expires_at": {"gt": as_of}}]},
            ]
        }
    )


def holds_at(plan: RecallPlan) -> Callable[[MemoryBase], bool]:
    """What a recall may return: everything with `include_superseded`, what was valid at
    `as_of` when given, else what is live `now`."""
    as_of, now = plan.as_of, plan.now
    if plan.include_superseded:
        return lambda record: True
    if as_of is not None:
        return lambda record: valid_at(record, as_of)
    return lambda record: record.is_live(now)


def validity(plan: RecallPlan) -> tuple[Filter | None, datetime | None]:
    """(extra filter, live_at) that make a store return what `holds_at` allows."""
    if plan.include_superseded:
        return None, None
    if plan.as_of is not None:
        return as_of_filter(plan.as_of), None
    return None, plan.now


def scoped_filter(plan: RecallPlan, memory_type: MemoryType, *, valid: bool = True) -> Filter:
    """Scope of a recall: the user's memories (of one agent_id when given; a session id
    narrows only the memories of session-scoped agents: working memory) that match the
    plan's filters, narrowed to `as_of` when given (and `valid`)."""
    session = given(plan.session_id) if memory_type in plan.session_scoped else ANY
    extra = validity(plan)[0] if valid else None
    return scope_filter(plan.user_id, given(plan.agent_id), session, plan.filters, extra)


def within_plan(plan: RecallPlan, memory_type: MemoryType) -> Callable[[MemoryBase], bool]:
    """Whether a record of `memory_type` is within the plan's scope, filters and validity:
    what every retriever's hits must be (a keyword or graph hit is checked after the
    search; a vector search asks the store for these records only)."""
    check, holds = filters.predicate(scoped_filter(plan, memory_type)), holds_at(plan)
    return lambda record: check(record) and holds(record)


async def by_ids(
    services: Services, ids: Iterable[tuple[MemoryType, str]]
) -> dict[str, MemoryBase]:
    """The stored records of these (type, id) pairs, by id: a read per type, side by side;
    ids not stored are left out."""
    by_type: dict[MemoryType, list[str]] = defaultdict(list)
    for memory_type, memory_id in dict.fromkeys(ids):
        by_type[memory_type].append(memory_id)
    read = await at_once(services.vector.get(t, wanted) for t, wanted in by_type.items())
    return {r.id: r for of_type in read for r in of_type}


async def every_record(
    services: Services,
    where: Filter | None,
    *,
    live_at: datetime | None = None,
    types: Iterable[MemoryType] | None = None,
) -> list[MemoryBase]:
    """Every stored record of `types` (default: this Orchestrator's) that `where` matches,
    type by type (live at `live_at`, when given)."""
    found: list[MemoryBase] = []
    for memory_type in services.types if types is None else types:
        found += await services.vector.list(memory_type, where=where, live_at=live_at)
    return found


async def nearest(
    services: Services,
    plan: RecallPlan,
    memory_type: MemoryType,
    vector: Sequence[float],
    limit: int,
) -> list[tuple[MemoryBase, float]]:
    """The plan's memories of a type nearest the vector, best first."""
    _, live_at = validity(plan)
    where = scoped_filter(plan, memory_type)
    return await services.vector.query(
        memory_type, list(vector), where=where, live_at=live_at, limit=limit, memo=plan.memo
    )


async def keyword_hits(
    services: Services,
    query: str,
    plan: RecallPlan,
    memory_types: Sequence[MemoryType],
    limit: int,
) -> list[tuple[str, MemoryType, float]]:
    """BM25 over the plan's user's memories of these types: (id, type, score), best first.
    The index knows users and validity, not agents, sessions or filters: check the records
    (`within_plan`)."""
    return await services.keyword.search(
        keyword_query(query),
        user_id=plan.user_id,
        memory_types=list(memory_types),
        limit=limit,
        include_superseded=plan.include_superseded or plan.as_of is not None,
        now=plan.now,
    )


class PlanSearch:
    """The searches an agent's own retrieval step may make (`agents.base.RecallPort`),
    bound to one recall's plan: every record they return is within its scope, filters
    and validity, as the default retrieval's are."""

    def __init__(self, services: Services, plan: RecallPlan) -> None:
        self._services = services
        self._plan = plan

    async def embed(self, text: str) -> list[float]:
        [vector] = await embed_for(self._services.embedder, [text], [self._plan.user_id])
        return vector

    async def nearest(
        self, memory_type: MemoryType, vector: Sequence[float], limit: int
    ) -> list[tuple[MemoryBase, float]]:
        hits = await nearest(self._services, self._plan, memory_type, vector, limit)
        return self._allowed(memory_type, hits)

    async def keyword(
        self, memory_type: MemoryType, query: str, limit: int
    ) -> list[tuple[MemoryBase, float]]:
        found = await keyword_hits(self._services, query, self._plan, [memory_type], limit)
        scores = {memory_id: score for memory_id, _, score in found}
        records = await self._services.vector.get(memory_type, list(scores), memo=self._plan.memo)
        hits = sorted(((r, scores[r.id]) for r in records), key=lambda hit: -hit[1])
        return self._allowed(memory_type, hits)

    async def get(self, memory_type: MemoryType, ids: Sequence[str]) -> list[MemoryBase]:
        within = within_plan(self._plan, memory_type)
        found = await self._services.vector.get(memory_type, list(ids), memo=self._plan.memo)
        return [r for r in found if within(r)]

    def _allowed(
        self, memory_type: MemoryType, hits: list[tuple[MemoryBase, float]]
    ) -> list[tuple[MemoryBase, float]]:
        within = within_plan(self._plan, memory_type)
        return [(record, score) for record, score in hits if within(record)]


async def add_context(
    services: Services,
    plan: RecallPlan,
    fused: Fused,
    records: dict[str, MemoryBase],
    *,
    hits: int,
    weight: float,
) -> Fused:
    """Neighbouring turns of the best raw-turn hits join the ranking (`records` gains them).

    An answer often sits in the turn after a matching question ("what did you do last
    weekend?" - "went hiking with Sam"), and a statement often continues a topic the turn
    before it named. So the turn after each of the `hits` best turns that asks something
    gains `weight` times that turn's score above the floor (the lowest fused score), and
    the turn before each of them half as much. Neighbours are turns of the same `process`
    call (`TurnLog.turn_position`) within the recall's scope, filters and validity.
    """
    turns, turn_log = plan.turns, services.turn_log
    if hits <= 0 or weight <= 0 or not fused or turns is None or turns not in plan.agents:
        return fused
    floor = min(score for _, score, _ in fused)
    top: list[tuple[int, str, float, TurnPosition]] = []
    for rank, (memory_id, score, _) in enumerate(fused[:hits], 1):
        key = turn_log.turn_position(records[memory_id])
        if key is not None and score > floor:
            top.append((rank, memory_id, score, key))
    if not top:
        return fused
    keys = dict.fromkeys(key for *_, key in top)
    near = turn_log.turns_at((s, b, i + step) for s, b, i in keys for step in (-1, 1))
    where = scoped_filter(plan, turns)
    _, live_at = validity(plan)
    with span("recall.context", user_id=plan.user_id, hits=len(top)):
        found = await services.vector.list(turns, where={"AND": [where, near]}, live_at=live_at)
    by_key = {key: r for r in found if (key := turn_log.turn_position(r)) is not None}
    gained: dict[str, float] = defaultdict(float)
    sources: dict[str, list[Provenance]] = defaultdict(list)
    for rank, memory_id, score, (session, batch, index) in top:
        asks = "?" in records[memory_id].content  # its answer is likely the next turn
        for step, share in ((1, weight if asks else 0.0), (-1, weight / 2)):
            neighbour = by_key.get((session, batch, index + step))
            if neighbour is None or not share:
                continue
            records.setdefault(neighbour.id, neighbour)
            gained[neighbour.id] += share * (score - floor)
            sources[neighbour.id].append(
                Provenance(
                    agent=turns,
                    retriever="context",
                    rank=rank,
                    score=share * (score - floor),
                )
            )
    scores = {memory_id: score for memory_id, score, _ in fused}
    provenance = {memory_id: list(prov) for memory_id, _, prov in fused}
    for memory_id, extra in gained.items():
        scores[memory_id] = scores.get(memory_id, floor) + extra
        provenance.setdefault(memory_id, []).extend(sources[memory_id])
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(memory_id, score, provenance[memory_id]) for memory_id, score in ordered]
