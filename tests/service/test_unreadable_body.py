"""A JSON body the service cannot read is a 400 that says why, whatever broke the parse:
a syntax error, bytes that are not UTF-8, a number Python refuses to convert (more than
4,300 digits) or nesting deeper than the parser recurses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from octomem.service.app import create_app
from octomem.settings import load_settings

JSON = "application/json"
BODIES = {
    b'{"query": "jazz", ': "the body is not valid JSON",
    b'{"query": "\xff\xfe", "user_id": "ana"}': "the body is not UTF-8",
    b'{"query": "jazz", "user_id": "ana", "limit": ' + b"7" * 5000 + b"}": "4,300 digits",
    b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": "nested too deeply",
}


@pytest.mark.parametrize("body", BODIES, ids=["syntax", "not-utf8", "long-number", "deep"])
def test_an_unreadable_body_is_a_400_saying_why(tmp_path: Path, body: bytes) -> None:
    app = create_app(load_settings(data_dir=tmp_path))

    async def send() -> httpx.Response:
        async with app.router.lifespan_context(app):
            _, secret = await app.state.octomem.keys.create(project="default", scopes=["read"])
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.post(
                    "/v1/recall",
                    content=body,
                    headers={"Authorization": f"Token {secret}", "Content-Type": JSON},
                )

    answer = asyncio.run(send())
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert BODIES[body] in problem["detail"], problem
    assert problem["request_id"] and answer.headers["x-request-id"] == problem["request_id"]
