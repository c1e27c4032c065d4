"""The stores the settings configure, and what they tell the code above them: whether
other hosts share them, and where the id key lives. Nothing is reached: stores open
lazily."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from octomem.memory_types import BUILTIN_REGISTRY
from octomem.settings import load_settings
from octomem.stores.open import Capabilities, Stores, graph_server, open_stores

CHROMA_SERVER = {"vector": {"provider": "chroma", "mode": "http", "port": 9}}
GRAPH_SERVER = {"graph": {"provider": "neo4j", "uri": "bolt://127.0.0.1:9"}}


def _open(tmp_path: Path, **overrides: Any) -> Stores:
    return open_stores(load_settings(data_dir=tmp_path, **overrides), BUILTIN_REGISTRY, "m")


def _close(stores: Stores) -> None:
    async def close() -> None:
        for store in (stores.vector, stores.graph, stores.history, stores.journal):
            await store.close()
        await stores.keyword.close()

    asyncio.run(close())


@pytest.mark.parametrize(
    ("overrides", "shared", "key_on_server"),
    [
        ({}, False, False),
        (CHROMA_SERVER, True, False),  # a Chroma server cannot keep the id key
        (GRAPH_SERVER, True, True),
        ({**CHROMA_SERVER, **GRAPH_SERVER}, True, True),
    ],
)
def test_the_stores_say_whether_other_hosts_share_them_and_where_the_key_is(
    tmp_path: Path, overrides: dict[str, Any], shared: bool, key_on_server: bool
) -> None:
    stores = _open(tmp_path, **overrides)
    try:
        assert stores.capabilities == Capabilities(shared=shared)
        assert (stores.id_keys is not None) is key_on_server
        settings = load_settings(data_dir=tmp_path, **overrides)
        assert (settings.vector.shared or settings.graph.shared) is shared  # before any store
        client = graph_server(settings)  # the service's API keys are kept there too
        assert (client is not None) is key_on_server
        if client is not None:
            asyncio.run(client.close())
    finally:
        _close(stores)
