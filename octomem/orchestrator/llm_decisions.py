"""The batched LLM reconcile call: one decision per candidate that has related memories.

Candidates whose exact copy is stored never reach the LLM, nor do candidates with nothing
related (they are plain ADDs). Related memories - conflict-key rivals, nearest vectors
and BM25 hits of the same scope and type - are shown under integer aliases; a decision
naming an alias that was not shown for it is rejected and the rules decide instead. Raw
turns and views are never shown (`decidable`): no verdict may act on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from octomem import filters
from octomem.agents.base import PROJECTION_OF
from octomem.embeddings import embed_for
from octomem.llm import LLMClient, UsageMeter
from octomem.logs import get_logger
from octomem.models import MemoryBase, Operation
from octomem.orchestrator.services import Services
from octomem.prompts.reconcile import DecisionOutput, decision_messages
from octomem.scopes import equals
from octomem.sensitive import mask
from octomem.stores.base import Filter

log = get_logger(__name__)


@dataclass(frozen=True)
class Verdict:
    operation: Operation
    target: MemoryBase | None
    text: str | None


async def related_memories(
    services: Services, candidate: MemoryBase, where: Filter, now: datetime
) -> list[MemoryBase]:
    """Stored, current memories of the candidate's scope and type it may repeat or contradict."""
    config = services.settings.llm
    found: dict[str, MemoryBase] = {}
    if candidate.conflict_key is not None:
        rivals = await services.vector.list(
            candidate.memory_type,
            where={"AND": [where, equals("conflict_key", candidate.conflict_key)]},
            live_at=now,
        )
        found.update({r.id: r for r in rivals})
    [embedding] = await embed_for(services.embedder, [candidate.content], [candidate.user_id])
    near = await services.vector.query(
        candidate.memory_type, embedding, where=where, live_at=now, limit=config.related_limit
    )
    found.update({r.id: r for r, sim in near if sim >= config.related_min_similarity})
    keyword = await services.keyword.search(
        candidate.content,
        user_id=candidate.user_id,
        memory_types=[candidate.memory_type],
        limit=config.related_limit,
        now=now,
    )
    missing = [i for i, _, _ in keyword if i not in found]
    if missing:
        # the keyword index knows users only: the rest of the scope (agent, and session for
        # session-scoped memories) is checked here, as the vector store checks `where`
        in_scope = filters.predicate(where)
        for record in await services.vector.get(candidate.memory_type, missing):
            if record.is_live(now) and in_scope(record):
                found[record.id] = record
    found.pop(candidate.id, None)
    return [r for r in found.values() if decidable(r)][: config.related_limit * 2]


def decidable(record: MemoryBase) -> bool:
    """Whether a verdict may act on `record`: not a raw turn (what was said is kept as it
    was said: an episodic candidate is nearest to the very turn it was taken from, and a
    model shown that turn could rewrite, close or NOOP it) nor a view (a knowledge edge or
    the core human block, rendered from the facts it projects, never decided on its own).
    The model's reply is the conversation's: shown one, it may name it."""
    return record.internal.get("raw") is not True and not record.internal.get(PROJECTION_OF)


async def ask(
    llm: LLMClient,
    meter: UsageMeter,
    candidates: Sequence[MemoryBase],
    related: Sequence[Sequence[MemoryBase]],
) -> dict[int, Verdict]:
    """One LLM call for every candidate that has related memories; {candidate index: verdict}."""
    open_ = [i for i, rel in enumerate(related) if rel]
    if not open_:
        return {}
    first: dict[str, MemoryBase] = {}  # each related memory once, aliased by its position
    for index in open_:
        for record in related[index]:
            first.setdefault(record.id, record)
    stored = list(first.values())
    aliases = {memory_id: alias for alias, memory_id in enumerate(first)}
    shown = [[aliases[record.id] for record in related[index]] for index in open_]
    messages = decision_messages([candidates[i] for i in open_], shown, stored)
    output = await llm.structured(messages, DecisionOutput, purpose="reconcile", meter=meter)

    verdicts: dict[int, Verdict] = {}
    for decision in output.decisions:
        if not 0 <= decision.candidate < len(open_):
            log.warning(
                "llm decided on a candidate that does not exist; ignored",
                candidate=decision.candidate,
            )
            continue
        operation = Operation(decision.operation)
        target = None
        if decision.target is not None:
            if decision.target not in shown[decision.candidate]:
                log.warning(
                    "llm named an alias it was not shown; decision rejected",
                    alias=decision.target,
                    candidate=decision.candidate,
                )
                continue
            target = stored[decision.target]
        if operation in (Operation.UPDATE, Operation.SUPERSEDE, Operation.DELETE) and not target:
            log.warning(
                "llm decision needs a target and has none; rejected", operation=operation.value
            )
            continue
        # the rewritten text is the model's: masked like any text before it is stored
        text = mask(decision.text).text if decision.text else decision.text
        verdicts[open_[decision.candidate]] = Verdict(operation, target, text)
    return verdicts
