"""An import's body and an export's copy leave nothing on disk that a crash or a forget
could miss: the body is read as it arrives and masked as it is parsed (never written as
sent), the export waits in a file with no name (the kernel frees it with its last
descriptor, however the process ends).

Both are looked at while the request is in flight - the import between two chunks of its
body, the export as its first chunk goes out - by calling the app as a server would, so
nothing depends on timing. Before, both were named files in `data_dir/service/tmp/`: a
kill -9 mid-request left them there, the import's holding the body's secrets as sent, and
a later forget did not look there.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from octomem import Orchestrator
from octomem.service.app import create_app
from octomem.settings import load_settings

SECRET = b"Orchid4455Lake"
WORDS = b"Zanzibarquux"


def _named_files_holding(data_dir: Path, needle: bytes) -> list[str]:
    return [str(p) for p in data_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _export_with_a_secret(tmp_path: Path) -> bytes:
    """An export of another store whose text, edited, holds a password."""
    with Orchestrator(load_settings(data_dir=tmp_path / "source")) as source:
        source.process("I visited Zanzibarquux in May.", user_id="zoe")
        out = io.StringIO()
        source.export_jsonl(out)
    edited = out.getvalue().replace("Zanzibarquux", "Zanzibarquux (my password is Orchid4455Lake)")
    assert SECRET.decode() in edited
    return edited.encode()


async def _call(
    data_dir: Path,
    method: str,
    path: str,
    query: bytes,
    body: list[bytes],
    between: Callable[[], Any],
) -> tuple[int, bytes, list[Any]]:
    """`method path?query` with `body` sent in its chunks; `between()` is called (and its
    results returned) before the second chunk is given and as the first chunk of the
    answer goes out, while the handler waits."""
    app = create_app(load_settings(data_dir=data_dir))
    seen: list[Any] = []
    status, answer = 0, b""
    async with app.router.lifespan_context(app):
        _, key = await app.state.octomem.keys.create(project="default", scopes=["admin"])
        chunks, given, answered = body or [b""], 0, asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given == len(chunks):  # the body is all given: the client stays
                await answered.wait()
                return {"type": "http.disconnect"}
            if given:
                seen.append(between())
            given += 1
            return {
                "type": "http.request",
                "body": chunks[given - 1],
                "more_body": given < len(chunks),
            }

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, answer
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if not answer and message.get("body"):
                    seen.append(between())
                answer += message.get("body", b"")
                if not message.get("more_body"):
                    answered.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [
                (b"authorization", f"Token {key}".encode()),
                (b"content-type", b"application/x-ndjson"),
                (b"host", b"test"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("test", 80),
        }
        await app(scope, receive, send)
    return status, answer, seen


def _run(call: Awaitable[tuple[int, bytes, list[Any]]]) -> tuple[int, bytes, list[Any]]:
    return asyncio.run(call)  # type: ignore[arg-type]


def test_an_import_never_writes_its_body_as_sent(tmp_path: Path) -> None:
    body = _export_with_a_secret(tmp_path)
    middle = body.index(b"\n", body.index(SECRET)) + 1  # the secret's line first
    first = body[:middle] + b"\n" * 100_000  # (blank lines, skipped) past any write buffer
    data_dir = tmp_path / "service"

    def scan() -> list[str]:
        return _named_files_holding(data_dir, SECRET)

    status, answer, seen = _run(
        _call(data_dir, "POST", "/v1/import", b"", [first, body[middle:]], scan)
    )
    assert status == 200, answer
    assert seen and all(found == [] for found in seen), seen  # while the body arrived
    assert scan() == []  # and once it is stored (masked)
    assert _named_files_holding(data_dir, WORDS)  # the scan sees what the import stored


def test_an_export_in_flight_has_no_file_a_crash_would_leave(tmp_path: Path) -> None:
    data_dir = tmp_path / "service"
    with Orchestrator(load_settings(data_dir=data_dir)) as orch:
        orch.process("I visited Zanzibarquux in May.", user_id="zoe")
    scratch = data_dir / "service" / "tmp"

    def listed() -> list[str]:
        return sorted(p.name for p in scratch.glob("*")) if scratch.exists() else []

    status, answer, seen = _run(_call(data_dir, "GET", "/v1/export", b"user_id=zoe", [], listed))
    assert status == 200 and WORDS in answer
    assert seen == [[]]  # as its first chunk went out, nothing named held the export
