"""Current facts outrank stale evidence.

When a fact is closed (superseded, retracted, rewritten or deleted), the raw turns it was
taken from still say the old value ("user: I love coffee."), and a raw turn often matches
a question better than the short fact that replaced it. So:

- writing: the raw turns a closed fact came from get an `internal["outdated"]` mark per
  closed fact (`{"memory_id", "by", "at"}`), written in the same journaled intent as the
  decision that closed it (`outdated_turn_changes`), with a history UPDATE event each;
- recall: a raw turn (or an episodic event taken from one) whose marks name a closed
  fact the query is about is demoted, the current fact that replaced it is placed above
  it, and the hit carries that fact in `RecallHit.replaced_by` (`demote_stale`).

Marks are evidence about the past, never deletions: `include_superseded` and `history`
still show everything as it was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from octomem import filters
from octomem.agents.registry import Roles
from octomem.language import content_stems
from octomem.models import HistoryEvent, MemoryBase, Operation, Provenance, stable_hash
from octomem.orchestrator.events import history_event
from octomem.orchestrator.fusion import Fused
from octomem.orchestrator.retrieval import by_ids, holds_at, scoped_filter
from octomem.orchestrator.services import Services
from octomem.plans import Decision, RecallPlan

OUTDATED = "outdated"  # raw-turn internal: the closed facts this turn was evidence for
MAX_MARKS = 32  # per turn; the latest closures are kept
MAX_CHAIN = 16  # superseded_by steps followed to the current fact


def closed_by(decisions: Iterable[Decision]) -> list[tuple[MemoryBase, MemoryBase | None]]:
    """(closed record, its successor or None) for every record the decisions close: the
    previous records of a SUPERSEDE, the record a DELETE (retraction) closes."""
    closed: list[tuple[MemoryBase, MemoryBase | None]] = []
    for decision in decisions:
        if decision.operation is Operation.SUPERSEDE:
            closed += [(old, decision.record) for old in decision.previous]
        elif decision.operation is Operation.DELETE:
            closed.append((decision.record, None))
    return closed


def raw_turn_id(services: Services, record: MemoryBase, turn_id: str) -> str:
    """The id of the raw turn `turn_id` of the record's scope (the turn keeper's id)."""
    return services.turn_log.turn_record_id(record, turn_id, services.id_key)


def _marks_turns(services: Services, record: MemoryBase) -> bool:
    """Whether closing `record` marks its turns (its agent plays `MarksStaleTurns`)."""
    return record.memory_type in services.roles.stale and record.internal.get("raw") is not True


def _mark(old: MemoryBase, successor: MemoryBase | None, at: datetime | None) -> dict[str, Any]:
    when = old.valid_to or at or (successor.valid_from if successor is not None else old.updated_at)
    return {
        "memory_id": old.id,
        "by": successor.id if successor is not None else None,
        "at": when.isoformat(),
    }


def merged_marks(existing: Any, new: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turn's marks with `new` added: one per closed fact (a new mark for a fact
    replaces its old one), oldest first, at most MAX_MARKS (the latest kept)."""
    by_id: dict[str, dict[str, Any]] = {}
    for mark in [*(existing if isinstance(existing, list) else []), *new]:
        if isinstance(mark, dict) and isinstance(mark.get("memory_id"), str):
            by_id[mark["memory_id"]] = mark
    ordered = sorted(by_id.values(), key=lambda m: (str(m.get("at")), m["memory_id"]))
    return ordered[-MAX_MARKS:]


async def stored_turns(
    services: Services, ids: Iterable[str], turns: Sequence[MemoryBase]
) -> list[MemoryBase]:
    """The raw turns of `ids` in id order: those among `turns` (this call's, not stored
    yet) as they are, the others read from the vector store in one get; unknown ids left
    out."""
    given = {turn.id: turn for turn in turns}
    wanted = sorted(set(ids))
    unread = [turn_id for turn_id in wanted if turn_id not in given]
    turn_type = services.turn_log.memory_type
    read = {t.id: t for t in await services.vector.get(turn_type, unread)} if unread else {}
    return [found for i in wanted if (found := given.get(i) or read.get(i))]


async def outdated_turn_changes(
    services: Services,
    closed: Sequence[tuple[MemoryBase, MemoryBase | None]],
    *,
    actor: str = "octomem",
    at: datetime | None = None,
    turns: Sequence[MemoryBase] = (),
) -> list[tuple[MemoryBase, HistoryEvent]]:
    """The raw turns the closed facts came from, each with its new `outdated` marks and a
    history UPDATE event, for the caller to write with the decision that closed them.

    `closed` holds (closed fact, successor or None; a fact rewritten in place: (old
    version, new version), its mark `by` itself). A turn the successor itself came from
    says the new value too ("I lived in Paris, now Berlin") and is not marked. `at` dates
    the closure of records without `valid_to`. Event ids depend only on the marks, so a
    retried write changes nothing. `turns`: raw turns as the same write leaves them,
    marked from those rather than from what is stored."""
    wanted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for old, successor in closed:
        if not _marks_turns(services, old):
            continue
        new = successor is not None and successor.id != old.id  # not a rewrite in place
        keep = set(successor.source.turn_ids) if successor is not None and new else set()
        for turn_id in dict.fromkeys(old.source.turn_ids):
            if turn_id not in keep:
                wanted[raw_turn_id(services, old, turn_id)].append(_mark(old, successor, at))
    if not wanted:
        return []
    changes = []
    for turn in await stored_turns(services, wanted, turns):
        marks = merged_marks(turn.internal.get(OUTDATED), wanted[turn.id])
        if marks == turn.internal.get(OUTDATED):
            continue
        marked = turn.model_copy(update={"internal": {**turn.internal, OUTDATED: marks}})
        event = history_event(marked, Operation.UPDATE, old=turn, actor=actor)
        update = {
            "id": f"evt_{stable_hash(turn.id, OUTDATED, marks)[:32]}",
            "at": max(datetime.fromisoformat(m["at"]) for m in wanted[turn.id]),
        }
        changes.append((marked, event.model_copy(update=update)))
    return changes


def about(roles: Roles, query_stems: set[str], *records: MemoryBase | None) -> bool:
    """Whether the query shares a content word with what any of the records says
    (`MarksStaleTurns.said`, without whom it is about: a question naming Alice is not about
    every fact of Alice's): a turn that said several things is stale only for questions
    about what changed."""
    return any(r is not None and query_stems & roles.said(r) for r in records)


def asks_for(
    roles: Roles, query_stems: set[str], old: MemoryBase, successor: MemoryBase | None
) -> bool:
    """Whether the query names the value the closed fact held and not its successor's
    ("Who worked at Studio Lumen?" after the job changed): it asks about the past, and the
    turn that said that value is its evidence, stale for no other fact it said."""

    def names(record: MemoryBase | None) -> bool:  # a value that is a name, not "likes"
        value = roles.held_name(record)
        stems = content_stems(value) if value is not None else set()
        return bool(stems) and stems <= query_stems

    return names(old) and not names(successor)


def more_than(
    roles: Roles, query_stems: set[str], turn: MemoryBase | None, closed: list[MemoryBase]
) -> bool:
    """Whether the query matches words of the turn that none of its closed facts said
    ("Studio Lumen" in "I work as a designer at Studio Lumen", whose job fact closed): the
    turn is evidence of something that did not change."""
    if turn is None:
        return False
    facts = set().union(*(content_stems(r.content) | roles.said(r) for r in closed))
    return bool(query_stems & content_stems(turn.content) - facts)


def marks_of(record: MemoryBase, at: datetime | None) -> list[dict[str, Any]]:
    """The turn's marks (of facts closed at or before `at`, when given)."""
    marks = record.internal.get(OUTDATED)
    if not isinstance(marks, list):
        return []
    found = []
    for mark in marks:
        if not isinstance(mark, dict) or not isinstance(mark.get("memory_id"), str):
            continue
        when = filters.parse_datetime(mark.get("at"))
        if at is None or (when is not None and when <= at):
            found.append(mark)
    return found


async def _fetch(services: Services, ids: Iterable[str]) -> dict[str, MemoryBase]:
    typed = ((services.types.type_of(i), i) for i in ids)
    return await by_ids(services, ((t, i) for t, i in typed if t is not None))


async def _successors(
    services: Services,
    olds: Iterable[MemoryBase],
    holds: Callable[[MemoryBase], bool],
    known: dict[str, MemoryBase],
) -> dict[str, MemoryBase | None]:
    """Per closed fact (by id), the record that holds its place: `superseded_by` followed
    to the one the recall may return (`holds`); None when the chain ends in a retraction
    or leaves the store. The chains are followed side by side, one read per step."""
    found: dict[str, MemoryBase | None] = {}
    at: dict[str, MemoryBase | None] = {old.id: old for old in olds}  # each chain's place
    for _ in range(MAX_CHAIN):
        if missing := [
            r.superseded_by
            for r in at.values()
            if r is not None and r.superseded_by and r.superseded_by not in known
        ]:
            known.update(await _fetch(services, missing))
        following: dict[str, MemoryBase | None] = {}
        for start, record in at.items():
            if record is None or not record.superseded_by:
                found[start] = None
                continue
            successor = known.get(record.superseded_by)
            if successor is not None and holds(successor):
                found[start] = successor
            else:
                following[start] = successor
        at = following
        if not at:
            break
    return found | dict.fromkeys(at)


def _evidence_turns(
    services: Services, records: Mapping[str, MemoryBase], ids: Iterable[str]
) -> dict[str, str]:
    """hit id -> id of the raw turn whose marks speak for it: itself, or the turn an
    episodic event was taken from."""
    out: dict[str, str] = {}
    turn_type = services.turn_log.memory_type
    for memory_id in ids:
        record = records[memory_id]
        if record.memory_type != turn_type:
            continue
        if record.internal.get("raw") is True:
            out[memory_id] = memory_id
        elif record.source.turn_ids:
            out[memory_id] = raw_turn_id(services, record, record.source.turn_ids[0])
    return out


def _scope_test(plan: RecallPlan) -> Callable[[MemoryBase], bool]:
    """Whether a record is in the recall's scope, filters and memory types."""
    tests = {a: filters.predicate(scoped_filter(plan, a, valid=False)) for a in plan.agents}
    return lambda record: record.memory_type in tests and tests[record.memory_type](record)


async def _stale_marks(
    services: Services, plan: RecallPlan, fused: Fused, records: Mapping[str, MemoryBase]
) -> dict[str, list[dict[str, Any]]]:
    """hit id -> the marks (closed at or before `as_of`, if given) of its evidence turn."""
    evidence = _evidence_turns(services, records, (memory_id for memory_id, _, _ in fused))
    turns = {i: records[i] for i in evidence.values() if i in records}
    turns.update(await _fetch(services, (i for i in evidence.values() if i not in turns)))
    found = {}
    for hit, turn_id in evidence.items():
        if turn_id in turns and (marks := marks_of(turns[turn_id], plan.as_of)):
            found[hit] = marks
    return found


def _named(marks: Iterable[dict[str, Any]]) -> list[str]:
    """The ids marks name: the facts closed, and what replaced each when it was marked
    (`by`: read with them, a chain of one change needs no read of its own)."""
    marks = list(marks)
    by = [m["by"] for m in marks if isinstance(m.get("by"), str)]
    return list(dict.fromkeys([*(m["memory_id"] for m in marks), *by]))


async def marked_facts(
    services: Services, plan: RecallPlan, hits: Iterable[MemoryBase]
) -> dict[str, MemoryBase]:
    """What `demote_stale` reads for the raw turns among `hits` (a recall's vector hits,
    whose records came with them): read beside the records of the other searches' hits,
    not in a round trip of its own after the ranking."""
    if plan.include_superseded or plan.turns not in plan.agents:
        return {}
    turn_type = services.turn_log.memory_type
    turns = [r for r in hits if r.memory_type == turn_type and r.internal.get("raw") is True]
    return await _fetch(services, _named(m for r in turns for m in marks_of(r, plan.as_of)))


async def demote_stale(
    services: Services,
    plan: RecallPlan,
    fused: Fused,
    records: dict[str, MemoryBase],
    query: str,
    weight: float,
    read: Mapping[str, MemoryBase] | None = None,
) -> tuple[Fused, dict[str, list[MemoryBase]]]:
    """Demote stale evidence and put the current fact above it (`rerank`).

    A hit is stale evidence when it is a raw turn with `outdated` marks, or an episodic
    event taken from such a turn, and a marked fact closed (at or before `as_of`) is about
    the query (`about`). Returns the new ranking and, per stale hit, the current records
    (in the recall's scope) that replace what it said; `records` gains the successors
    fetched (`read`: those read before, `marked_facts`). With `include_superseded`
    nothing changes: the caller asked for the past."""
    if not fused or plan.include_superseded or plan.turns not in plan.agents:
        return fused, {}
    marks = await _stale_marks(services, plan, fused, records)
    if not marks:
        return fused, {}
    named = list(dict.fromkeys(m["memory_id"] for ms in marks.values() for m in ms))
    wanted, read = _named(m for ms in marks.values() for m in ms), read or {}
    known = {i: read[i] for i in wanted if i in read}
    known |= await _fetch(services, [i for i in wanted if i not in read])
    stems, in_scope, roles = content_stems(query), _scope_test(plan), services.roles
    closed = [known[i] for i in named if i in known and _closed(known[i], plan.as_of)]
    successors = await _successors(services, closed, holds_at(plan), known)
    replaced: dict[str, list[MemoryBase]] = {}
    for hit, hit_marks in marks.items():
        found = [_replacement(roles, plan, mark, known, successors, stems) for mark in hit_marks]
        if not any(stale for stale, _ in found):
            continue
        olds = [known.get(mark["memory_id"]) for mark in hit_marks]
        if any(asks_for(roles, stems, o, r) for o, (_, r) in zip(olds, found, strict=True) if o):
            continue
        if more_than(roles, stems, records.get(hit), [o for o in olds if o]):
            continue
        current = {r.id: r for _, r in found if r is not None and in_scope(r)}
        replaced[hit] = list(current.values())
    records.update({r.id: r for rs in replaced.values() for r in rs if r.id not in records})
    return rerank(fused, replaced, weight), replaced


def _closed(old: MemoryBase, as_of: datetime | None) -> bool:
    return old.valid_to is not None and (as_of is None or old.valid_to <= as_of)


def _replacement(
    roles: Roles,
    plan: RecallPlan,
    mark: dict[str, Any],
    known: dict[str, MemoryBase],
    successors: Mapping[str, MemoryBase | None],
    stems: set[str],
) -> tuple[bool, MemoryBase | None]:
    """(whether the mark makes its turn stale for this query, the record current in the
    closed fact's place or None)."""
    old = known.get(mark["memory_id"])
    if old is None:  # deleted: nothing says what it was about
        return False, None
    successor: MemoryBase | None
    if mark.get("by") == old.id:  # rewritten in place: the record is its own successor
        successor = old if holds_at(plan)(old) else None
    elif not _closed(old, plan.as_of):
        return False, None  # not closed (yet, at as_of)
    else:
        successor = successors.get(old.id)
    return about(roles, stems, old, successor), successor


def rerank(fused: Fused, replaced: Mapping[str, list[MemoryBase]], weight: float) -> Fused:
    """Each stale hit keeps `weight` of its score above the floor; the records replacing
    it take its score when higher than their own, with a "current" provenance."""
    if not replaced:
        return fused
    floor = min(score for _, score, _ in fused)
    scores = {memory_id: score for memory_id, score, _ in fused}
    provenance = {memory_id: list(prov) for memory_id, _, prov in fused}
    for rank, (memory_id, score, _) in enumerate(fused, 1):
        if memory_id not in replaced:
            continue
        scores[memory_id] = floor + (score - floor) * weight
        for successor in replaced[memory_id]:
            scores[successor.id] = max(scores.get(successor.id, floor), score)
            provenance.setdefault(successor.id, []).append(
                Provenance(agent=successor.memory_type, retriever="current", rank=rank, score=score)
            )
    # on a tie (a stale hit at the floor keeps its score) the stale hit goes below
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0] in replaced, item[0]))
    return [(i, s, provenance[i]) for i, s in ordered]
