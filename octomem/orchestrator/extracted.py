"""What the model already extracted from stored raw turns, so that a `process` call made
again is not sent to it again.

A model rewords: asked twice about the same turns it may answer "chess" and then "chess
games", two facts where there is one. So each raw turn of a call extracted through the
model records (`internal`, in the journaled write of those memories: a crash leaves both
or neither) `EXTRACTION_FLAG` ("llm", or "fallback" if it failed on some type:
`reprocess` retries it), the types extracted (`LLM_TYPES`), the ids of the memories
decided from it (`LLM_MEMORIES`) and a hash of the words it read (`LLM_WORDS`). A call
whose every turn is stored with those marks (a retry) is not asked again for those types:
it answers NOOP for the memories recorded. A retry that raced the first call finds the
marks under the scope's lock, before reconcile, and keeps its own candidates of those
types out. A call with new turns after marked ones asks about the new turns only, the
earlier ones shown as context (`ExtractionContext.earlier`).

An edited message (sent again under its id with other words) is a turn the model has not
read: the raw turn keeps its first words, so `LLM_WORDS` tells the edit; the call that
reads the new words replaces the turn's marks. Words of an earlier version than the model
last read (`edits.stale`: a client retrying a version it held) count as read for every
type: not asked again, their marks left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from octomem.models import MemoryBase, MemoryType, Operation, Turn
from octomem.orchestrator.edits import stale
from octomem.orchestrator.reconcile import RETRACTED_TURNS
from octomem.orchestrator.reprocess import EXTRACTION_FLAG, LLM_WORDS, read_words
from octomem.orchestrator.retrieval import by_ids
from octomem.orchestrator.services import Services
from octomem.plans import Decision

LLM_TYPES = "llm_types"  # raw-turn internal: the types the model was asked for
LLM_MEMORIES = "llm_memories"  # raw-turn internal: the memories decided from the turn
REASON = "extracted from these turns by the model before"
EARLIER_TURNS = 8  # turns extracted before, shown as context ahead of the new ones
EARLIER_CHARS = 4000  # ... and at most this many characters of them


@dataclass(frozen=True)
class Extracted:
    """The types the model was asked for about every turn, the memories decided from any."""

    types: frozenset[str]
    memories: tuple[str, ...]


def before(
    stored: Mapping[str, MemoryBase], read: Mapping[str, Sequence[str]], turn_ids: Sequence[str]
) -> Extracted | None:
    """What the model extracted from the raw turns `turn_ids` (of `stored`) before, if it
    read every one in the words sent (`read`: from `read_types`); else None."""
    if not turn_ids or any(i not in read for i in turn_ids):
        return None
    types = frozenset.intersection(*(frozenset(read[i]) for i in turn_ids))
    memories = {m: None for i in turn_ids for m in _strings(stored[i], LLM_MEMORIES)}
    return Extracted(types=types, memories=tuple(memories))


def read_types(
    stored: Mapping[str, MemoryBase], sent: Mapping[str, str], every: Iterable[str]
) -> dict[str, list[str]]:
    """The types the model extracted before from each `stored` raw turn that this call
    sends (`sent`: record id -> `reprocess.words`) in words it read: the words it last
    read (the types of its marks), or those of an earlier version (every type of `every`:
    none is asked of a stale retry)."""
    read = {i: _strings(r, LLM_TYPES) for i, r in stored.items() if sent.get(i) == read_words(r)}
    return read | {i: list(every) for i, r in stored.items() if stale(r, sent.get(i))}


def asked_before(read: Mapping[str, Sequence[str]], turn_ids: Sequence[str]) -> list[list[str]]:
    """For each raw turn of `turn_ids`, the types the model extracted from it before
    (`read`: from `read_types`)."""
    return [list(read.get(i, [])) for i in turn_ids]


def from_every_turn(asked: Sequence[Sequence[str]]) -> set[str]:
    """The types the model extracted from every turn before (`asked`: from `asked_before`)."""
    return set.intersection(*(set(of_turn) for of_turn in asked)) if asked else set()


def first_new(asked: Sequence[Sequence[str]], types: Iterable[MemoryType]) -> int:
    """The index of the first turn the model has not extracted every one of `types` from;
    0 (every turn) if there is none."""
    wanted = {t.value for t in types}
    for at, of_turn in enumerate(asked):
        if not wanted <= set(of_turn):
            return at
    return 0


def earlier(turns: Sequence[Turn], start: int) -> tuple[Turn, ...]:
    """The turns before `start` shown to the model as context."""
    shown: list[Turn] = []
    size = 0
    for turn in reversed(turns[max(0, start - EARLIER_TURNS) : start]):
        size += len(turn.content)
        if size > EARLIER_CHARS:
            break
        shown.append(turn)
    return tuple(reversed(shown))


async def replays(
    services: Services,
    turns: Sequence[Turn],
    turn_ids: Sequence[str],
    candidates: Sequence[MemoryBase],
    *,
    skipped: Iterable[MemoryType],
    asked: Iterable[MemoryType],
    sent: Mapping[str, str],
) -> tuple[list[Decision], list[MemoryBase]]:
    """Under the scope's lock, before reconcile: NOOPs for the memories the model extracted
    from the raw turns `turn_ids` (of `turns`, in order) before, of the types this call
    `skipped` and of those it `asked` for that a racing call of the same turns committed
    since; and the `candidates` left to reconcile, none of those types. A candidate of a
    type asked is also left out if the model extracted that type from every turn it came
    from (a racing call with fewer turns). A turn whose marks are of other words than
    `sent` (record id -> `reprocess.words`) counts as unread."""
    wanted = {*skipped, *asked}
    if not wanted:
        return [], list(candidates)
    records = await services.vector.get(services.turn_log.memory_type, list(turn_ids))
    stored = {r.id: r for r in records}
    read = read_types(stored, sent, (t.value for t in services.agents))
    of_turn = dict(zip((t.id for t in turns), asked_before(read, turn_ids), strict=False))
    done = before(stored, read, turn_ids)
    if done is None:
        return [], [c for c in candidates if not _extracted(c, of_turn, wanted)]
    settled = {t for t in wanted if t.value in done.types}
    typed = [(services.types.type_of(i), i) for i in done.memories]
    found = (await by_ids(services, [(t, i) for t, i in typed if t in settled])).values()
    noops = [
        Decision(operation=Operation.NOOP, record=r, previous=[r], reason=REASON) for r in found
    ]
    left = [c for c in candidates if c.memory_type not in settled]
    return noops, [c for c in left if not _extracted(c, of_turn, wanted)]


async def marked(
    services: Services,
    turns: Sequence[Turn],
    turn_ids: Sequence[str],
    status: str,
    *,
    types: Iterable[MemoryType] = (),
    decisions: Sequence[Decision] = (),
    start: int = 0,
    failed: Iterable[MemoryType] = (),
    sent: Mapping[str, str] | None = None,
) -> list[MemoryBase]:
    """The raw turns `turn_ids` (of `turns`, in order) whose marks change, for the caller to
    write in the journaled write of the `decisions` (`commit.commit`). `status` "fallback":
    the model failed on the types `failed` and `reprocess` should retry; "llm": it did not.
    The model extracted the other `types`, and `decisions` came of it (added to what
    earlier calls recorded). It was asked about the turns from `start` on: a failure leaves
    the marks of those before as they are. `sent` (record id -> `reprocess.words`) is
    recorded (`LLM_WORDS`); a turn whose marks are of other words has them replaced, but
    for a stale retry (`edits.stale`), whose marks stay those of the later words."""
    read = {t.value for t in types} - {t.value for t in failed}
    produced: dict[str, dict[str, None]] = {turn.id: {} for turn in turns}
    for decision in decisions:
        memory = decision.record
        if memory.memory_type.value not in read:  # the rules' (or not asked of the model)
            continue
        said = [*memory.source.turn_ids, *_strings(memory, RETRACTED_TURNS)]
        # a decision about a memory of other turns (a NOOP, a retraction): the call's first
        for turn_id in [t for t in said if t in produced] or [turn.id for turn in turns[:1]]:
            produced[turn_id][memory.id] = None
    raw = dict(zip(turn_ids, (turn.id for turn in turns), strict=False))  # turns first
    turn_type = services.turn_log.memory_type
    read_before = set(turn_ids[:start]) if status == "fallback" else set()
    changed = []
    for record in await services.vector.get(turn_type, list(turn_ids)):
        if record.id in read_before:
            continue
        sends = (sent or {}).get(record.id)
        if stale(record, sends):
            continue
        kept = dict(record.internal)
        if sends is not None:
            if sends != read_words(record):  # the marks of the words it read before: not these
                kept = {k: v for k, v in kept.items() if k not in (LLM_TYPES, LLM_MEMORIES)}
            kept[LLM_WORDS] = sends
        internal = {**kept, EXTRACTION_FLAG: status}
        if read:
            internal[LLM_TYPES] = sorted({*_listed(kept, LLM_TYPES), *read})
            recorded = dict.fromkeys(_listed(kept, LLM_MEMORIES))
            internal[LLM_MEMORIES] = list({**recorded, **produced.get(raw.get(record.id, ""), {})})
        if internal != record.internal:
            changed.append(record.model_copy(update={"internal": internal}))
    return changed  # the embedded text is the same: no embedding again


def _extracted(
    candidate: MemoryBase, of_turn: Mapping[str, Sequence[str]], types: set[MemoryType]
) -> bool:
    said = candidate.source.turn_ids
    kind = candidate.memory_type
    return bool(said) and kind in types and all(kind.value in of_turn.get(t, ()) for t in said)


def _strings(record: MemoryBase, key: str) -> list[str]:
    return _listed(record.internal, key)


def _listed(internal: Mapping[str, object], key: str) -> list[str]:
    value = internal.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
