"""What the graph backends compute alike, whatever their query language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from octomem.models import MemoryType


def nearest_mentions(
    mentions: Iterable[tuple[str, str, str]], distance: Mapping[str, int], limit: int
) -> list[tuple[str, MemoryType, int]]:
    """(memory_id, memory_type, distance) from (memory_id, memory_type, entity_id) mention
    rows: each memory at the distance of its nearest mentioned entity, nearest first."""
    best: dict[str, tuple[MemoryType, int]] = {}
    for memory_id, memory_type, entity_id in mentions:
        d = distance[entity_id]
        if memory_id not in best or d < best[memory_id][1]:
            best[memory_id] = (MemoryType(memory_type), d)
    ranked = sorted(best.items(), key=lambda item: (item[1][1], item[0]))
    return [(mid, mtype, d) for mid, (mtype, d) in ranked[:limit]]
