"""A new version of an input (an ingested file) written in the turns' journaled write of
`process`: what it reopens and what it closes, decided under the scope's write lock.

- reopened: the version's records that exist already but are closed (a file edited, then
  reverted: its ids derive from its content) are made current again, with an UPDATE
  history event, so the content the folder holds is never left without a current record;
- closed: every current record of the input (`version_of`, a filter naming it) that is
  not one of this version's, and what the caller read before the lock (`closing`, for
  records written before `version_of` existed), if still current: what another run
  wrote since is closed too, so one version stays current however many runs overlap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from octomem.models import HistoryEvent, MemoryBase, MemoryType, Operation
from octomem.orchestrator.events import history_event
from octomem.orchestrator.retrieval import by_ids, every_record
from octomem.scopes import ANY, equals, scope_filter

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

Change = tuple[MemoryBase, HistoryEvent]


def reopened(
    records: Sequence[MemoryBase], stored: Mapping[str, MemoryBase], *, actor: str, at: datetime
) -> list[Change]:
    """This version's `records` stored before and closed since (`stored`, by id), current
    again: the new record's fields (validity from this version on, its metadata), the
    stored one's creation time, the next version number (`at`: now, on the one clock)."""
    changes = []
    for record in records:
        old = stored.get(record.id)
        if old is None or old.is_current:
            continue
        back = record.model_copy(
            update={
                "created_at": old.created_at,
                "updated_at": at,
                "valid_to": None,
                "superseded_by": None,
                "version": old.version + 1,
            }
        )
        changes.append((back, history_event(back, Operation.UPDATE, old=old, actor=actor, at=at)))
    return changes


async def closed(
    services: Services,
    scope: tuple[str | None, str | None],
    version_of: Mapping[str, Any] | None,
    closing: Sequence[MemoryBase],
    records: Sequence[MemoryBase],
    *,
    actor: str,
) -> list[Change]:
    """The changes closing every record of the input, current now, that is not one of
    this version's `records` (call it under the scope's write lock): each superseded by the
    new version's first record of its type, so history keeps both."""
    mine = {r.id for r in records}
    found = await by_ids(services, ((r.memory_type, r.id) for r in closing))
    current = {i: r for i, r in found.items() if r.is_current}
    if version_of:
        user_id, agent_id = scope
        named = {"AND": [equals(f"metadata.{k}", v) for k, v in version_of.items()]}
        where = scope_filter(user_id, ANY if agent_id is None else agent_id, ANY, named)
        current |= {r.id: r for r in await every_record(services, where) if r.is_current}
    successors: dict[MemoryType, MemoryBase] = {}
    for record in records:
        successors.setdefault(record.memory_type, record)
    changes = []
    for record in (r for i, r in current.items() if i not in mine):
        successor = successors.get(record.memory_type)
        at = max(successor.valid_from if successor else services.clock.now(), record.valid_from)
        update: dict[str, Any] = {
            "valid_to": at,
            "superseded_by": successor.id if successor else None,
            "updated_at": at,
        }
        if (agent := services.agents.get(record.memory_type)) is not None:
            update.update(agent.closing(record, at))
        closed = record.model_copy(update=update)
        changes.append(
            (closed, history_event(closed, Operation.SUPERSEDE, old=record, actor=actor))
        )
    return changes
