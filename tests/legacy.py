"""Records and Chroma entries in the layout of octomem versions before `internal`.

Those versions kept octomem's own keys in a record's `metadata` (over the caller's keys of
the same name), named the extraction flag `octomem_extraction`, and flattened every scalar
of that metadata into the Chroma entry as ``md.<key>``; entries had no ``_layout`` key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings

from octomem.models import MemoryType

_OLD_NAMES = {"extraction": "octomem_extraction"}
# added since: never written by those versions
NEWER = frozenset({"outdated", "kept_by", "llm_types", "llm_memories", "llm_words"})


def legacy_payload(record: dict[str, Any]) -> dict[str, Any]:
    """A record's JSON form as an older version wrote it."""
    data = dict(record)
    internal = data.pop("internal")
    data["metadata"] = {
        **data["metadata"],
        **{_OLD_NAMES.get(k, k): v for k, v in internal.items() if k not in NEWER},
    }
    return data


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool | int | float)


def make_legacy_store(chroma_path: Path, prefix: str = "octomem") -> dict[str, int]:
    """Rewrite every entry of the embedded Chroma at `chroma_path` (no octomem store may be
    open on it) in the old layout, keeping ids and embeddings. Returns entries per type."""
    client = chromadb.PersistentClient(
        path=str(chroma_path), settings=Settings(anonymized_telemetry=False)
    )
    counts = {}
    for memory_type in MemoryType:
        collection = client.get_collection(f"{prefix}_{memory_type.value}")
        entries = collection.get(include=["metadatas", "embeddings"])
        counts[memory_type.value] = len(entries["ids"])
        if not entries["ids"]:
            continue
        metadatas = []
        for meta in entries["metadatas"]:
            data = legacy_payload(json.loads(meta["_record"]))
            old = {
                key: value
                for key, value in meta.items()
                if key != "_layout" and not key.startswith(("md.", "in."))
            }
            old["_record"] = json.dumps(data)
            old.update({f"md.{k}": v for k, v in data["metadata"].items() if _scalar(v)})
            metadatas.append(old)
        # Chroma's upsert would keep the new layout's keys: delete and add again
        collection.delete(ids=entries["ids"])
        collection.add(ids=entries["ids"], embeddings=entries["embeddings"], metadatas=metadatas)
    return counts


def chroma_entries(chroma_path: Path, prefix: str = "octomem") -> dict[str, dict[str, Any]]:
    """Every entry of every collection: id -> {"meta": entry metadata, "embedding": list}."""
    client = chromadb.PersistentClient(
        path=str(chroma_path), settings=Settings(anonymized_telemetry=False)
    )
    found: dict[str, dict[str, Any]] = {}
    for memory_type in MemoryType:
        collection = client.get_collection(f"{prefix}_{memory_type.value}")
        entries = collection.get(include=["metadatas", "embeddings"])
        for entry_id, meta, embedding in zip(
            entries["ids"], entries["metadatas"], entries["embeddings"], strict=True
        ):
            found[entry_id] = {"meta": dict(meta), "embedding": [float(x) for x in embedding]}
    return found
