"""Embedded Chroma's files as octomem reads and maintains them: a store of another layout
is refused when it opens, and the Chroma internals the file maintenance relies on fail
with a clear error when they are not what octomem knows - never by leaving deleted text
in the files."""

from __future__ import annotations

from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings

from octomem.errors import StoreError
from octomem.models import MemoryType, SemanticMemory, make_memory_id
from octomem.stores.chroma import ChromaVectorStore
from octomem.stores.chroma_layout import LAYOUT, LAYOUT_KEY

SEM = MemoryType.SEMANTIC
EMB = [1.0, 0.0, 0.0, 0.0]


def fact(n: int) -> SemanticMemory:
    return SemanticMemory(
        id=make_memory_id(SEM, "alice", n),
        user_id="alice",
        content=f"alice's attr{n} is quuxberry {n}",
        subject="alice",
        attribute=f"attr{n}",
        value=f"quuxberry {n}",
    )


async def test_a_collection_of_another_layout_is_refused_when_the_store_opens(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chroma"
    store = ChromaVectorStore.embedded(path)
    await store.init()
    await store.upsert(SEM, [fact(1)], [EMB])
    await store.close()
    # what an older version would have left: entries of another layout (public API only)
    client = chromadb.PersistentClient(str(path), Settings(anonymized_telemetry=False))
    collection = client.get_collection(store.collection_name(SEM), embedding_function=None)
    collection.update(ids=[fact(1).id], metadatas=[{LAYOUT_KEY: LAYOUT - 1}])
    client.close()

    again = ChromaVectorStore.embedded(path)
    with pytest.raises(StoreError, match=f"layout {LAYOUT - 1}, not layout {LAYOUT}.*Export"):
        await again.init()
    await again.close()
