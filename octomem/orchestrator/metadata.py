"""The caller's metadata on the records a `process` call writes: the call's `metadata`,
overridden by the per-message metadata of the record's source turns (later turns winning).
What octomem noted about those turns (`Turn.internal`) joins the record's `internal`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from octomem.models import MemoryBase, Turn

R = TypeVar("R", bound=MemoryBase)


def with_caller_metadata(
    record: R, turns: Sequence[Turn], call_metadata: Mapping[str, Any] | None
) -> R:
    """`record` with the metadata of the call and of its source turns; keys the record
    already has win (they were set for it alone)."""
    sources = set(record.source.turn_ids)
    metadata: dict[str, Any] = dict(call_metadata or {})
    internal: dict[str, Any] = {}
    for turn in turns:
        if turn.id in sources:
            metadata.update(turn.metadata)
            for key, value in turn.internal.items():
                before = internal.get(key)
                if isinstance(before, list) and isinstance(value, list):  # e.g. masked kinds
                    value = [*before, *(v for v in value if v not in before)]
                internal[key] = value
    if not metadata and not internal:
        return record
    return record.model_copy(
        update={
            "metadata": {**metadata, **record.metadata},
            "internal": {**internal, **record.internal},
        }
    )
