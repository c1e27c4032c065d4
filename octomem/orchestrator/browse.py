"""`Orchestrator.browse`: a page of one user's memories of one type, newest first, for a
browser that pages through a user of 100k memories (the inspector). The keyword index,
which holds a row per memory with its user, type, status and creation time, says which
ids are on the page and how many there are; the records are read by id from the
canonical store. A page costs the index's sort and the read of its records, not a read
of every record of the user (`get_all`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast, get_args

from octomem.errors import InvalidInputError
from octomem.models import ListStatus, MemoryPage, StatusCounts
from octomem.orchestrator.arguments import parse_memory_types
from octomem.orchestrator.write import heal_late
from octomem.validation import MAX_INT, shown, validate_scope_id

if TYPE_CHECKING:
    from octomem.orchestrator.services import Services

MAX_PAGE = 1000  # records on one page at most
STATUSES: tuple[str, ...] = get_args(ListStatus)


def _offset(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidInputError(f"offset must be an integer of at least 0, got {shown(value)}")
    return value


def _limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be an integer from 1 to {MAX_PAGE}, got {shown(value)}"
        )
    return value


async def browse(
    services: Services,
    *,
    user_id: Any,
    memory_type: Any,
    status: Any,
    offset: Any,
    limit: Any,
) -> MemoryPage:
    """See `Orchestrator.browse`."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidInputError("browse needs a user_id: whose memories?")
    validate_scope_id("user_id", user_id, existing=True)
    if not isinstance(memory_type, str):  # MemoryType is a str too
        raise InvalidInputError(
            f"memory_type must be one memory type name, got {shown(memory_type)}"
        )
    [kind] = parse_memory_types(memory_type, services.types) or []
    if status not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}, got {shown(status)}")
    offset, limit = _offset(offset), _limit(limit)
    await heal_late(services, [user_id])
    now = services.clock.now()
    keyword = services.keyword
    tallies = await keyword.tallies(user_id, now=now)
    counts = {
        t.value: StatusCounts(current=live, past=past)
        for t in services.types
        for live, past in [tallies.get(t, (0, 0))]
    }
    mine = counts[kind.value]
    total = {"current": mine.current, "past": mine.past}.get(status, mine.current + mine.past)
    ids = await keyword.listing(
        user_id, kind, status=cast(ListStatus, status), now=now, offset=offset, limit=limit
    )
    found = {r.id: r for r in await services.vector.get(kind, ids) if r.user_id == user_id}
    return MemoryPage(
        user_id=user_id,
        memory_type=kind,
        status=status,
        offset=offset,
        total=total,
        records=[found[i] for i in ids if i in found],
        counts=counts,
    )
