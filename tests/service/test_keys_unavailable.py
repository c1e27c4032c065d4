"""A key store that cannot answer (server mode, the graph server unreachable) makes a
request 503 with Retry-After - a store outage, not a bad key (401) or a crash (500)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from octomem.service.app import create_app
from octomem.settings import load_settings
from tests.servers import free_port


def test_an_unreachable_key_store_answers_503(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        graph={"provider": "neo4j", "uri": f"bolt://127.0.0.1:{free_port()}", "password": "x"},
    )
    app = create_app(settings)  # no lifespan: the key store opens on the first request

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(
                "/v1/records",
                params={"user_id": "ana"},
                headers={"Authorization": "Token om_0123456789abcdef_" + "a" * 43},
            )

    answer = asyncio.run(ask())
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "127.0.0.1" not in answer.text  # the store's address stays in the log
