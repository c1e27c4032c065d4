"""What the inspector's pages show, shaped from the Orchestrator's records: pages of a
list, a memory's status and validity, the raw turns and graph edges of a memory, and the
graph around a person. Pure functions of records; no store is read here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from octomem.models import MemoryBase

T = TypeVar("T")
PAGE_SIZE = 50
GRAPH_EDGES = 300  # the most a picture shows; the page says when there are more
PROJECTION_OF = "projection_of"  # a knowledge edge's fact (orchestrator.projections)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int  # 1-based
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.number * self.size)


def page_of(items: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page `number` (1-based; past the end: the last page) of `items`."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    return Page(list(items[start : start + size]), number, len(items), size)


def status(record: MemoryBase, now: datetime) -> str:
    """current, superseded (replaced or closed), or expired (working memory past its time)."""
    if record.valid_to is not None or record.superseded_by:
        return "superseded"
    expiry = record.expiry()
    if expiry is not None and expiry <= now:
        return "expired"
    return "current"


def fields(record: MemoryBase) -> dict[str, Any]:
    """A record's own fields (its agent's: subject, steps, expires_at...), for the story."""
    common = set(MemoryBase.model_fields)
    return {
        name: value
        for name, value in record.model_dump(mode="json").items()
        if name not in common and value not in (None, "", [], {})
    }


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def edges_of(record: MemoryBase, knowledge: Iterable[MemoryBase]) -> list[MemoryBase]:
    """The knowledge edges that belong to `record`: itself (an edge), its projection (a
    fact's edge), and edges said in the same turns."""
    turns = set(record.source.turn_ids)
    return [
        edge
        for edge in knowledge
        if edge.id == record.id
        or edge.internal.get(PROJECTION_OF) == record.id
        or (turns and turns & set(edge.source.turn_ids) and not record.internal.get("raw"))
    ]


def _ends(edge: MemoryBase) -> tuple[str, str, str]:
    return (
        str(getattr(edge, "subject", "")),
        str(getattr(edge, "predicate", "")),
        str(getattr(edge, "object", "")),
    )


def around(edges: Sequence[MemoryBase], name: str | None, hops: int = 2) -> list[MemoryBase]:
    """The edges within `hops` of the entity `name` (case-insensitive); all without one."""
    if not name:
        return list(edges)
    reached = {name.strip().casefold()}
    chosen: dict[str, MemoryBase] = {}
    for _ in range(hops):
        for edge in edges:
            subject, _, obj = _ends(edge)
            if subject.casefold() in reached or obj.casefold() in reached:
                chosen[edge.id] = edge
        reached |= {e.casefold() for edge in chosen.values() for e in _ends(edge)[::2]}
    return [e for e in edges if e.id in chosen]


def graph_data(edges: Sequence[MemoryBase], now: datetime) -> dict[str, Any]:
    """Cytoscape's elements for `edges` (newest `GRAPH_EDGES`): an entity per node, an
    edge per relation, `invalid` for one that is invalidated or superseded."""
    shown = sorted(edges, key=lambda e: (e.created_at, e.id), reverse=True)[:GRAPH_EDGES]
    nodes: dict[str, dict[str, Any]] = {}
    links = []
    for edge in shown:
        subject, predicate, obj = _ends(edge)
        for name in (subject, obj):
            nodes.setdefault(name, {"data": {"id": "n:" + name, "label": name}})
        invalid = status(edge, now) != "current" or getattr(edge, "invalid_at", None) is not None
        links.append(
            {
                "data": {
                    "id": "e:" + edge.id,
                    "source": "n:" + subject,
                    "target": "n:" + obj,
                    "label": predicate,
                    "memory": edge.id,
                },
                "classes": "invalid" if invalid else "current",
            }
        )
    return {"elements": [*nodes.values(), *links], "total": len(edges), "shown": len(shown)}
