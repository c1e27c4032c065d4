"""What the offline rules read in each raw turn: the memory types whose extraction a
commit wrote from it, and the words they read (`RULES_READ`, set in that commit's
journaled write). A turn sent again with those words - a retried call, a thread sent
again whole - gives those types nothing new: what they take from it again is a NOOP
(`reconcile`), even where it would now be worded otherwise (the user's name learned
since) or a fact said in it was superseded or deleted since. A turn stored without its
extraction (`infer=False`, other `memory_types`, an extraction that raised) has no mark
for the types that did not read it, so a later call reads it in full. With a model the
marks of `extracted` do this instead; a call that asks one neither reads nor sets these.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from octomem.models import HistoryEvent, MemoryBase, MemoryType
from octomem.orchestrator.commit import as_left
from octomem.orchestrator.services import Services

RULES_READ = "rules_read"  # raw-turn internal: {`reprocess.words` of what was read: types}
KEPT = 64  # the words of at most this many readings (those of a message's edits)


def read(record: MemoryBase, said: str) -> list[str]:
    """The types the rules read in the stored raw turn `record` when it had the words
    `said` (a hash, `reprocess.words`)."""
    types = _marks(record).get(said)
    return [t for t in types if isinstance(t, str)] if isinstance(types, list) else []


def _marks(record: MemoryBase) -> dict[str, object]:
    marks = record.internal.get(RULES_READ)
    return dict(marks) if isinstance(marks, dict) else {}


def _with_read(record: MemoryBase, said: str, types: Collection[str]) -> MemoryBase | None:
    """`record` marked as read by the rules of `types` with the words `said` (beside the
    marks of its other words: an edit's, its first); None if it already is."""
    before = read(record, said)
    if set(types) <= set(before):
        return None
    marks = _marks(record)
    marks.pop(said, None)
    marks[said] = sorted({*before, *types})
    kept = dict(list(marks.items())[-KEPT:])
    return record.model_copy(update={"internal": {**record.internal, RULES_READ: kept}})


def marked_added(
    types: Sequence[MemoryType],
    sent: Mapping[str, str],
    added: Sequence[tuple[MemoryBase, HistoryEvent]],
) -> list[tuple[MemoryBase, HistoryEvent]]:
    """The raw turns a commit adds (`added`, with their events; `sent`: raw turn id -> the
    words of this call) marked as read by the rules of `types`, each event naming the
    record it writes."""
    names = [t.value for t in types]
    adding = []
    for record, event in added:
        said = sent.get(record.id)
        new = None if said is None or not names else _with_read(record, said, names)
        adding.append(as_left(record, event, new))
    return adding


async def marked_stored(
    services: Services,
    types: Sequence[MemoryType],
    sent: Mapping[str, str],
    known: Mapping[str, Sequence[str]],
    added: Collection[str],
    rewritten: Sequence[MemoryBase],
) -> list[MemoryBase]:
    """The raw turns a commit rewrites: `rewritten`, and those of `sent` stored before (not
    among `added`, the ids it adds) whose marks (`known`: raw turn id -> the types read
    with these words) lack one of `types`, read from the store unless among `rewritten`;
    each marked as read by the rules of `types`."""
    names = [t.value for t in types]
    by_id = {record.id: record for record in rewritten}
    unread = [i for i in sent if i not in added and not set(names) <= set(known.get(i, ()))]
    missing = [i for i in unread if i not in by_id]
    fetched = await services.vector.get(services.turn_log.memory_type, missing) if missing else []
    by_id |= {record.id: record for record in fetched}
    rewriting = {r.id for r in rewritten}
    for record_id in unread:
        stored = by_id.get(record_id)  # (None: forgotten since)
        new = None if stored is None else _with_read(stored, sent[record_id], names)
        if new is not None:
            by_id[record_id] = new
        elif stored is not None and record_id not in rewriting:
            del by_id[record_id]  # read for nothing: marked already
    return list(by_id.values())
