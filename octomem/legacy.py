"""Reading records written by older versions of octomem.

Older versions kept octomem's own bookkeeping (a raw turn's role, position and context,
an extractor's notes, the LangGraph store's item) in a record's `metadata`, next to the
caller's keys. It now lives in `internal`. `migrate_legacy_payload` moves it when such a
record is read (`MemoryBase` calls it before validation), so every store, export and
history entry of an older version reads as the current model. It uses plain names only:
`octomem.models` imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_Marker = Callable[[dict[str, Any]], bool]


def _always(metadata: dict[str, Any]) -> bool:
    return True


def _raw_turn(metadata: dict[str, Any]) -> bool:
    return metadata.get("raw") is True


def _offline_event(metadata: dict[str, Any]) -> bool:
    return isinstance(metadata.get("granularity"), str)


def _langgraph_item(metadata: dict[str, Any]) -> bool:
    return metadata.get("langgraph_store") is True


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


# Per memory type: (marker, keys) - the keys (old name -> name in `internal`) that move
# out of the metadata of records that pass the marker test. Markers are values only
# octomem wrote (a raw turn's `raw: True`, an offline event's `granularity`, a LangGraph
# item's `langgraph_store: True`), so a caller's key of the same name elsewhere stays put.
LEGACY_KEYS: dict[str, list[tuple[_Marker, dict[str, str]]]] = {
    "episodic": [
        (
            _raw_turn,
            {
                **_same("role", "turn_index", "raw", "batch", "previous_turn"),
                "octomem_extraction": "extraction",
            },
        ),
        (_offline_event, _same("time_expression", "granularity", "date")),
    ],
    "procedural": [(_always, _same("role"))],
    "resource": [(_always, _same("resource_key", "shared_by"))],
    "knowledge": [(_always, _same("subject_key", "projection_of"))],
    "core": [(_always, _same("projection_of"))],
    "working": [(_always, _same("deadline"))],
    "semantic": [
        (_always, _same("relation")),
        (
            _langgraph_item,
            _same(
                "langgraph_store",
                "langgraph_namespace",
                "langgraph_key",
                "langgraph_value",
                "langgraph_indexed",
            ),
        ),
    ],
}


def is_legacy_payload(data: Any) -> bool:
    """A record serialised by an older version: it has `content_hash` (every serialised
    record has) but no `internal`."""
    return isinstance(data, dict) and "content_hash" in data and "internal" not in data


def migrate_legacy_payload(data: Any, default_type: Any = None) -> Any:
    """A legacy record payload with octomem's keys moved from `metadata` to `internal`
    (`default_type`: its memory type when the payload does not name one); any other
    value is returned unchanged."""
    if not is_legacy_payload(data) or not isinstance(data.get("metadata"), dict):
        return data
    kind = data.get("memory_type", default_type)
    metadata, internal = dict(data["metadata"]), {}
    for marker, keys in LEGACY_KEYS.get(str(getattr(kind, "value", kind)), []):
        if marker(metadata):
            for old, new in keys.items():
                if old in metadata:
                    internal[new] = metadata.pop(old)
    return {**data, "metadata": metadata, "internal": internal}
