"""Fact-augmented keys: what the agents read from a raw turn is a search key of that turn.

A question often shares neither words nor much meaning with the turn that answers it, but
does with what an agent read from it: "What activities does Melanie partake in?" and
"I'm off to go swimming with the kids" meet through the episodic agent's activity
"swimming" (the LongMemEval paper's fact-augmented key expansion, Wu et al., ICLR 2025).
So each raw turn keeps, in `internal[FACT_KEYS]`, the text of every current memory read
from it ({memory id: text}); the turn is embedded from its text followed by them, and
the keyword index holds them beside its content (`models.embedding_text`,
`models.keyword_context`). The turn stays the hit; its key is the turn and its facts.

The keys are written with the memories they come from, in the same journaled write
(`commit.commit`): masked there like every record, erased with the turn by `forget`. A
memory closed (superseded, retracted, deleted) leaves its turns' keys in that write: a
past value does not raise its turn as if it were current (the turn's own words still
say it; `staleness` demotes the turn for questions about what changed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from octomem.models import FACT_KEYS, HistoryEvent, MemoryBase, Operation, stable_hash
from octomem.orchestrator.events import history_event
from octomem.orchestrator.projections import projected_from
from octomem.orchestrator.staleness import stored_turns

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

MAX_KEYS = 16  # per turn: the first read from it are kept
MAX_KEY_CHARS = 300  # per key


def _reads(services: Services, record: MemoryBase) -> bool:
    """Whether `record` is a key of the turns it was read from: a memory read from turns
    (not a turn itself), not a view rendered from another (a core block, a knowledge edge
    of a fact: the fact is the key)."""
    return (
        bool(record.source.turn_ids)
        and record.internal.get("raw") is not True
        and record.memory_type not in services.roles.blocks
        and projected_from(record) is None
    )


async def keyed_turn_changes(
    services: Services,
    written: Iterable[MemoryBase],
    removed: Iterable[MemoryBase] = (),
    *,
    actor: str = "octomem",
    at: datetime | None = None,
    turns: Sequence[MemoryBase] = (),
    skip: Iterable[str] = (),
) -> list[tuple[MemoryBase, HistoryEvent]]:
    """The raw turns whose keys change with this write, each with its new keys and a
    history UPDATE event: a current memory of `written` becomes (or stays) a key of the
    turns it was read from, a closed one of `written` and one `removed` stop being one.
    `turns`: raw turns as the same write leaves them, keyed from those rather than from
    what is stored; turns of `skip` (written otherwise by the same write) are left as
    they are. Event ids depend only on the keys, so a retried write changes nothing."""
    if not services.settings.agents.fact_keys:
        return []
    wanted: dict[str, dict[str, str | None]] = defaultdict(dict)
    for record, current in [*((r, r.is_current) for r in written), *((r, False) for r in removed)]:
        if not _reads(services, record):
            continue
        text = record.content.strip()[:MAX_KEY_CHARS] if current else None
        for turn_id in dict.fromkeys(record.source.turn_ids):
            key_of = services.turn_log.turn_record_id(record, turn_id, services.id_key)
            wanted[key_of][record.id] = text
    for turn_id in skip:
        wanted.pop(turn_id, None)
    if not wanted:
        return []
    changes = []
    for turn in await stored_turns(services, wanted, turns):
        if turn.internal.get("raw") is not True:
            continue
        stored = turn.internal.get(FACT_KEYS)
        before: dict[str, Any] = stored if isinstance(stored, dict) else {}
        keys = {k: v for k, v in before.items() if isinstance(v, str)}
        for memory_id, text in wanted[turn.id].items():
            if text is None:
                keys.pop(memory_id, None)
            elif memory_id in keys or len(keys) < MAX_KEYS:
                keys[memory_id] = text
        if keys == before:
            continue
        internal = {k: v for k, v in turn.internal.items() if k != FACT_KEYS}
        if keys:
            internal[FACT_KEYS] = keys
        keyed = turn.model_copy(update={"internal": internal})
        event = history_event(keyed, Operation.UPDATE, old=turn, actor=actor, at=at)
        update = {"id": f"evt_{stable_hash(turn.id, FACT_KEYS, keys)[:32]}"}
        changes.append((keyed, event.model_copy(update=update)))
    return changes
