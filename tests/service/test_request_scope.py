"""A request holds its project's Orchestrator from its route's dependency (`deps.Project`)
until its response is sent - a streamed one to its last byte - and gives it back however
it ends; a request its key's scope refuses never opens the project. A closing pool waits
for a request that holds a project (it says so in its log) and refuses new ones (503
shutting-down).

The app runs in this process under its own lifespan. Requests are ASGI calls whose
`receive` and `send` the test drives, so a request is looked at, or held, at a known
point of its life: no sleeps, no timing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.types import Message

from octomem.service.app import create_app
from octomem.service.state import State
from octomem.settings import load_settings


@dataclass
class Answer:
    status: int
    body: bytes
    held_at_start: int  # requests holding the project when the response started
    held_at_end: int  # ... when its last byte was sent

    def json(self) -> Any:
        return json.loads(self.body)


class Body:
    """A request body the test gives the app when it chooses: `asked` is set when the
    app first reads it, and it comes once `release` is set."""

    def __init__(self, data: bytes, *, held: bool = False) -> None:
        self.data = data
        self.asked, self.release = asyncio.Event(), asyncio.Event()
        if not held:
            self.release.set()
        self._given = False
        self._gone = asyncio.Event()  # never set: the client stays until the answer

    async def receive(self) -> Message:
        self.asked.set()
        if self._given:  # all of it was read: the client waits for the answer
            await self._gone.wait()
        await self.release.wait()
        self._given = True
        return {"type": "http.request", "body": self.data, "more_body": False}


@contextmanager
def logged(event: str) -> Iterator[asyncio.Event]:
    """An event set when the pool logs `event`."""
    seen = asyncio.Event()

    class Signal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith(event):
                seen.set()

    logger, handler = logging.getLogger("octomem.service.pool"), Signal()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, State]]:
    app = create_app(load_settings(data_dir=tmp_path / "om"))
    async with app.router.lifespan_context(app):
        yield app, app.state.octomem


async def key(state: State, project: str = "default", scopes: tuple[str, ...] = ("admin",)) -> str:
    _, secret = await state.keys.create(project=project, scopes=scopes)
    return secret


async def call(
    app: FastAPI,
    state: State,
    method: str,
    path: str,
    secret: str,
    *,
    body: Body | None = None,
    json_body: Any = None,
    query: dict[str, str] | None = None,
    project: str = "default",
    content_type: str = "application/json",
) -> Answer:
    if body is None:
        body = Body(b"" if json_body is None else json.dumps(json_body).encode())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query or {}).encode(),
        "headers": [
            (b"host", b"test"),
            (b"authorization", f"Token {secret}".encode()),
            (b"content-type", content_type.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    status, chunks, held = 0, [], {"start": -1, "end": -1}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status, held["start"] = message["status"], state.pool._in_use[project]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                held["end"] = state.pool._in_use[project]

    await app(scope, body.receive, send)
    return Answer(status, b"".join(chunks), held["start"], held["end"])


async def test_a_request_holds_its_projects_orchestrator_until_its_response_is_sent(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as (app, state):
        admin = await key(state)
        reader = await key(state, scopes=("read",))
        said = {"messages": "I live in Lisbon.", "user_id": "ana", "infer": False}

        refused = await call(app, state, "POST", "/v1/process", reader, json_body=said)
        assert refused.status == 403, refused.body
        assert state.pool.open_projects == 0  # refused before its project was opened

        stored = await call(app, state, "POST", "/v1/process", admin, json_body=said)
        assert stored.status == 200, stored.body
        assert (stored.held_at_start, stored.held_at_end) == (1, 1)
        assert state.pool._in_use["default"] == 0

        export = await call(app, state, "GET", "/v1/export", admin)  # a streamed response
        assert export.status == 200 and b"Lisbon" in export.body
        assert (export.held_at_start, export.held_at_end) == (1, 1)
        assert state.pool._in_use["default"] == 0

        query = {"user_id": "ana"}
        missing = await call(app, state, "GET", "/v1/records/nope", admin, query=query)
        assert missing.status == 404, missing.body
        assert state.pool._in_use["default"] == 0  # given back when the route failed


async def test_a_closing_pool_waits_for_a_request_holding_its_project(tmp_path: Path) -> None:
    """An import into project `copy` holds copy's Orchestrator while it reads its body;
    the pool, told to close meanwhile, refuses new requests and waits (rather than
    closing the Orchestrator under the import): the import completes, then the pool
    closes."""
    async with serving(tmp_path) as (app, state):
        admin, copy_admin = await key(state), await key(state, project="copy")
        said = {"messages": "I live in Lisbon.", "user_id": "ana", "infer": False}
        assert (await call(app, state, "POST", "/v1/process", admin, json_body=said)).status == 200
        export = await call(app, state, "GET", "/v1/export", admin)
        assert export.status == 200

        body = Body(export.body, held=True)
        importing = asyncio.create_task(
            call(
                app,
                state,
                "POST",
                "/v1/import",
                copy_admin,
                body=body,
                project="copy",
                content_type="application/x-ndjson",
            )
        )
        await body.asked.wait()  # the route reads its body: its dependency holds `copy`
        assert state.pool._in_use["copy"] == 1

        with logged("closing: waiting for the requests holding a project") as waits:
            closing = asyncio.create_task(state.pool.close(grace_s=60))
            await asyncio.wait(
                {closing, asyncio.create_task(waits.wait())},
                return_when=asyncio.FIRST_COMPLETED,
            )
        assert waits.is_set() and not closing.done()  # it waits, rather than closing `copy`
        late = await call(app, state, "GET", "/v1/stats", admin)
        assert late.status == 503 and late.json()["type"].endswith("/shutting-down")

        body.release.set()
        imported = await importing
        assert imported.status == 200, imported.body
        assert imported.json()["memories"] == 1  # the one turn stored (infer off)
        await closing
        assert state.pool._in_use["copy"] == 0 and state.pool.open_projects == 0
