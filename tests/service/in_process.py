"""One request to an octomem app served in this process (no server, no port), with a key
of `scopes` made for it: for answers that need no running service around them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from octomem.service.app import create_app
from octomem.settings import load_settings


def request(
    data_dir: Path, method: str, path: str, *, scopes: tuple[str, ...] = ("read",), **kwargs: Any
) -> httpx.Response:
    app = create_app(load_settings(data_dir=data_dir))

    async def send() -> httpx.Response:
        async with app.router.lifespan_context(app):
            _, secret = await app.state.octomem.keys.create(project="default", scopes=[*scopes])
            headers = {"Authorization": f"Token {secret}", **kwargs.pop("headers", {})}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, path, headers=headers, **kwargs)

    return asyncio.run(send())
