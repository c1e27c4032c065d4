"""Messages sent again under their ids: a retry, or an edit to read.

A raw turn keeps the words it was first stored with. A call that sends it again with
other words, never sent before, is an edit: what it says is read anew, not taken for a
replay of what the turn gave (`reconcile.replayed`), and its words are recorded on the
raw turn (`SENT_WORDS`, in the journaled write of what came of them). Words the turn was
sent with before - its first words, an earlier edit - are a stale retry: a replay, which
changes nothing and does not bring back a memory deleted since. So an edit back to
words sent before is taken for a retry too. A raw turn whose text `update()` changes
records its words before (`rewritten`): the message sent again with them is a retry, not
an edit that would undo the change. `reprocess` leaves a turn with recorded edits alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from octomem.models import MemoryBase
from octomem.orchestrator.reprocess import SENT_WORDS, read_words, words
from octomem.orchestrator.services import Services

KEPT = 64  # at most this many: an older edit sent again is read as a new one


def seen(record: MemoryBase) -> set[str]:
    """The hashes of the words the stored raw turn `record` was sent with and read."""
    return {words(record), read_words(record), *_edits(record)}


def stale(record: MemoryBase, said: str | None) -> bool:
    """Whether `said` (`reprocess.words`) are the words of an earlier version of the stored
    raw turn `record` than the model last read in it: a client retrying a version it held.
    No model reads such a turn again, and its marks stay those of the later words
    (`extracted`): a model wording a fact otherwise this time cannot undo the last edit."""
    versions = [words(record), *_edits(record)]  # in the order they were sent
    last = read_words(record)
    return said in versions and last in versions and versions.index(said) < versions.index(last)


def _edits(record: MemoryBase) -> list[str]:
    edits = record.internal.get(SENT_WORDS)
    return [h for h in edits if isinstance(h, str)] if isinstance(edits, list) else []


def rewritten(services: Services, old: MemoryBase, new: MemoryBase) -> MemoryBase:
    """`new`, the record `old` becomes by `update()`: if a raw turn with other words, with
    the words of `old` recorded as sent."""
    if services.turn_log.stored_turn(old) is None or words(old) == words(new):
        return new
    return _with_sent(new, words(old))


def _with_sent(record: MemoryBase, said: str) -> MemoryBase:
    kept = [*_edits(record), said][-KEPT:]
    return record.model_copy(update={"internal": {**record.internal, SENT_WORDS: kept}})


async def remembered(
    services: Services,
    marked: Sequence[MemoryBase],
    edited: Mapping[str, str],
    sent: Mapping[str, str],
) -> list[MemoryBase]:
    """The raw turns a commit rewrites (`marked`), with the words of each turn it read as
    an edit (`edited`: turn id -> raw turn id; `sent`: raw turn id -> `reprocess.words`)
    recorded as sent; a turn not among `marked` is read from the store."""
    by_id = {record.id: record for record in marked}
    ids = set(edited.values())
    missing = [i for i in ids if i not in by_id]
    fetched = await services.vector.get(services.turn_log.memory_type, missing) if missing else []
    changed = []
    for record in [*marked, *fetched]:
        said = sent.get(record.id)
        # (not `seen`: the model's marks of this commit may name the words already)
        if record.id in ids and said is not None and said not in {words(record), *_edits(record)}:
            record = _with_sent(record, said)
        elif record.id not in by_id:
            continue  # read for nothing: sent by a call that committed meanwhile
        changed.append(record)
    return changed
