"""A vector store records the embedding model its vectors come from and refuses another's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from octomem.errors import ConfigurationError


def test_a_store_refuses_vectors_of_another_model(tmp_path: Path) -> None:
    from octomem.models import MemoryType, SemanticMemory
    from octomem.stores.chroma import ChromaVectorStore

    async def scenario() -> None:
        first = ChromaVectorStore.embedded(tmp_path, embedder="local/all-MiniLM-L6-v2")
        record = SemanticMemory(
            id="m1",
            content="Caroline lives in Sweden",
            user_id="u",
            subject="Caroline",
            attribute="lives in",
            value="Sweden",
        )
        await first.upsert(MemoryType.SEMANTIC, [record], [[1.0] + [0.0] * 383])
        await first.close()
        again = ChromaVectorStore.embedded(tmp_path, embedder="local/all-MiniLM-L6-v2")
        assert await again.count(MemoryType.SEMANTIC) == 1
        await again.close()
        other = ChromaVectorStore.embedded(tmp_path, embedder="local/bge-small-en-v1.5")
        with pytest.raises(ConfigurationError, match="new data_dir or vector.collection_prefix"):
            await other.count(MemoryType.SEMANTIC)
        await other.close()
        # an empty collection is taken over by the new model
        old = ChromaVectorStore.embedded(tmp_path, embedder="local/all-MiniLM-L6-v2")
        await old.reset()
        await old.close()
        fresh = ChromaVectorStore.embedded(tmp_path, embedder="local/bge-small-en-v1.5")
        assert await fresh.count(MemoryType.SEMANTIC) == 0
        await fresh.close()

    asyncio.run(scenario())
