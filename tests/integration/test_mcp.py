"""`octomem mcp` driven by the official MCP client SDK: over stdio, as Claude Desktop does,
and over streamable HTTP with its API key; a server pinned to one user (--user) never
reaches another's memories."""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.servers import free_port, listening, running
from tests.service.mcp_support import TOOLS, data, error

pytestmark = pytest.mark.integration


async def test_mcp_over_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "octomem", "mcp", "--data-dir", str(tmp_path / "data"), "--user", "alice"],
    )
    with (tmp_path / "server.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = await session.list_tools()
            assert {tool.name for tool in listed.tools} == TOOLS
            schema = next(t for t in listed.tools if t.name == "search_memories").input_schema
            assert schema["required"] == ["query"]

            processed = data(
                await session.call_tool(
                    "process_conversation",
                    {
                        "messages": [
                            {"role": "user", "content": "Hi, I'm Alice. I live in Paris."},
                            {"role": "assistant", "content": "Nice to meet you!"},
                        ],
                        "session_id": "s1",
                    },
                )
            )
            assert processed["turns"] == 2
            added = {
                op["memory_type"] for op in processed["operations"] if op["operation"] == "ADD"
            }
            assert "semantic" in added
            moved = data(
                await session.call_tool("process_conversation", {"messages": "I moved to Berlin."})
            )
            assert any(op["operation"] == "SUPERSEDE" for op in moved["operations"])

            found = data(
                await session.call_tool("search_memories", {"query": "where does alice live?"})
            )
            assert "Berlin" in found["results"][0]["memory"]
            memory_id = found["results"][0]["id"]
            got = data(await session.call_tool("get_memory", {"memory_id": memory_id}))
            assert got["id"] == memory_id and got["user_id"] == "alice"

            listed_memories = data(
                await session.call_tool(
                    "list_memories", {"memory_types": ["semantic"], "include_superseded": True}
                )
            )
            assert {m["current"] for m in listed_memories["results"]} == {True, False}

            updated = data(
                await session.call_tool(
                    "update_memory", {"memory_id": memory_id, "text": "Alice lives in Munich."}
                )
            )
            assert updated["memory"] == "Alice lives in Munich."
            assert data(await session.call_tool("delete_memory", {"memory_id": memory_id}))[
                "deleted"
            ]
            events = data(await session.call_tool("memory_history", {"memory_id": memory_id}))
            assert [e["operation"] for e in events["events"]][-2:] == ["UPDATE", "DELETE"]

            # --user pins the tenant
            assert "serves user_id 'alice' only" in error(
                await session.call_tool("search_memories", {"query": "x", "user_id": "bob"})
            )

            # clear errors for bad input
            assert "no memory" in error(
                await session.call_tool("get_memory", {"memory_id": memory_id})
            )
            assert "query" in error(await session.call_tool("search_memories", {}))
            assert "limit" in error(
                await session.call_tool("search_memories", {"query": "x", "limit": 0})
            )
            assert "role" in error(
                await session.call_tool(
                    "process_conversation", {"messages": [{"role": "robot", "content": "hi"}]}
                )
            )
            assert "InvalidInputError" in error(
                await session.call_tool(
                    "search_memories", {"query": "x", "filters": {"a": {"bogus": 1}}}
                )
            )


PARSE_ERROR, INVALID_REQUEST = -32700, -32600
# a line the SDK's stdio transport cannot read, and the JSON-RPC error it gets: (code, id)
UNREADABLE: list[tuple[bytes, int, int | str | None]] = [
    (b"{not json", PARSE_ERROR, None),
    (b"\xff\xfe not UTF-8", PARSE_ERROR, None),
    (b"x" * (3 << 20), PARSE_ERROR, None),  # 3 MB of it
    (b"[" * 100_000 + b"]" * 100_000, PARSE_ERROR, None),  # too deep for any parser
    (b"[]", INVALID_REQUEST, None),
    (b"42", INVALID_REQUEST, None),
    (b'"ping"', INVALID_REQUEST, None),
    (b'[{"jsonrpc":"2.0","id":5,"method":"ping"}]', INVALID_REQUEST, None),  # no batches
    (b'{"jsonrpc":"2.0","id":1}', INVALID_REQUEST, 1),  # no method
    (b'{"id":2,"method":"ping"}', INVALID_REQUEST, 2),  # no "jsonrpc"
    (b'{"jsonrpc":"2.0","id":"a","method":5}', INVALID_REQUEST, "a"),
    (b'{"jsonrpc":"2.0","method":5}', INVALID_REQUEST, None),
    # JSON, but not for the SDK's parser: a lone surrogate, nesting past its limit
    (b'{"jsonrpc":"2.0","id":3,"method":"ping","params":{"q":"x\\ud800"}}', INVALID_REQUEST, 3),
    (
        b'{"jsonrpc":"2.0","id":4,"method":"ping","params":' + b"[" * 300 + b"]" * 300 + b"}",
        INVALID_REQUEST,
        4,
    ),
]


def _initialize(request_id: int) -> bytes:
    params = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    }
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}
    ).encode()


def test_mcp_over_stdio_answers_every_line_it_cannot_read(tmp_path: Path) -> None:
    """A line that is not a JSON-RPC message gets its JSON-RPC error, not silence (the SDK
    alone drops it and the client waits for ever); the server reads on. A blank line is
    no message and gets no answer."""
    server = subprocess.Popen(
        [sys.executable, "-m", "octomem", "mcp", "--data-dir", str(tmp_path / "data")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "server.log").open("wb"),
    )
    assert server.stdin is not None and server.stdout is not None
    answers: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [answers.put(line) for line in server.stdout], daemon=True
    )
    reader.start()

    def send(line: bytes) -> None:
        assert server.stdin is not None
        server.stdin.write(line + b"\n")
        server.stdin.flush()

    def answer() -> dict[str, Any]:
        try:
            line = answers.get(timeout=60)
        except queue.Empty:
            raise AssertionError("no answer within 60 s") from None
        return dict(json.loads(line))

    try:
        for round_ in ("before initialize", "after"):
            for line, code, request_id in UNREADABLE:
                send(line)
                got = answer()
                assert got == {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {
                        "code": code,
                        "message": "Parse error" if code == PARSE_ERROR else "Invalid Request",
                    },
                }, (round_, line[:80])
            send(b"")
            send(b"  \t")
            if round_ == "before initialize":
                send(_initialize(10))
                assert answer()["result"]["serverInfo"]["name"] == "octomem"
                send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
        send(b'{"jsonrpc":"2.0","id":11,"method":"tools/list"}')
        listed = answer()
        assert listed["id"] == 11
        assert {tool["name"] for tool in listed["result"]["tools"]} == TOOLS
        assert server.poll() is None
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
            reader.join(timeout=10)
    assert server.returncode == 0
    assert answers.empty()  # nothing answered twice


API_KEY = "test-api-key-" + "x" * 24


def _http_server(tmp_path: Path, port: int, *args: str, key: str | None = API_KEY) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "OCTOMEM_MCP_API_KEY"}
    if key is not None:
        env["OCTOMEM_MCP_API_KEY"] = key
    return running(
        [sys.executable, "-m", "octomem", "mcp", "--transport", "http", "--port", str(port)]
        + ["--data-dir", str(tmp_path / "data"), *args],
        log_path=tmp_path / "server.log",
        ready=lambda: listening(port),
        timeout_s=60,
        what="octomem mcp over HTTP",
        env=env,
    )


@asynccontextmanager
async def _session(port: int, key: str | None = API_KEY) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else None
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (
            read,
            write,
            *_,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _post_initialize(port: int, headers: dict[str, str]) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def test_mcp_over_streamable_http_needs_the_api_key(tmp_path: Path) -> None:
    port = free_port()
    with _http_server(tmp_path, port):
        assert _post_initialize(port, {}) == 401
        assert _post_initialize(port, {"Authorization": "Bearer wrong-key-of-some-length"}) == 401
        assert _post_initialize(port, {"Authorization": API_KEY}) == 401  # not a bearer token
        assert _post_initialize(port, {"Authorization": f"Bearer {API_KEY}"}) == 200
        # DNS-rebinding protection stays on behind the key
        evil = {"Authorization": f"Bearer {API_KEY}", "Host": "evil.example:80"}
        assert _post_initialize(port, evil) == 421

        async with _session(port) as session:
            assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
            stored = data(
                await session.call_tool(
                    "process_conversation",
                    {"messages": "I'm Dana. I live in Oslo.", "user_id": "dana"},
                )
            )
            assert stored["turns"] == 1
            found = data(
                await session.call_tool("search_memories", {"query": "Oslo", "user_id": "dana"})
            )
            assert "Oslo" in found["results"][0]["memory"]
            dana_id = found["results"][0]["id"]
            assert "user_id is required" in error(
                await session.call_tool("search_memories", {"query": "Oslo"})
            )
            # by-id tools are scoped too: without --user the call names its user
            assert "user_id is required" in error(
                await session.call_tool("get_memory", {"memory_id": dana_id})
            )
            assert "no memory" in error(
                await session.call_tool("get_memory", {"memory_id": dana_id, "user_id": "erin"})
            )
            got = data(
                await session.call_tool("get_memory", {"memory_id": dana_id, "user_id": "dana"})
            )
            assert got["user_id"] == "dana"


def test_mcp_over_http_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "OCTOMEM_MCP_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "octomem", "mcp", "--transport", "http", "--port", str(port)]
        + ["--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "OCTOMEM_MCP_API_KEY" in done.stderr and "--insecure-no-auth" in done.stderr
    assert not listening(port)


async def test_mcp_over_http_insecure_no_auth_starts(tmp_path: Path) -> None:
    port = free_port()
    with _http_server(tmp_path, port, "--insecure-no-auth", key=None):
        assert _post_initialize(port, {}) == 200
        async with _session(port, key=None) as session:
            assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS


async def test_a_pinned_user_cannot_reach_another_users_memories(
    tmp_path: Path, make_orch: Any
) -> None:
    setup = make_orch(data_dir=tmp_path / "data")
    setup.process("I'm Bob. I live in Berlin. My PIN is 4711.", user_id="bob", session_id="b")
    setup.process("I'm Alice. I live in Paris.", user_id="alice", session_id="a")
    bobs = {r.id: r for r in setup.get_all(user_id="bob", include_superseded=True)}
    bob_history = {i: setup.history(i) for i in bobs}
    setup.close()  # the embedded stores admit one process: the server's
    assert len(bobs) >= 3

    port = free_port()
    reached: list[tuple[str, str]] = []
    with _http_server(tmp_path, port, "--user", "alice"):
        async with _session(port) as session:
            mine = data(await session.call_tool("search_memories", {"query": "Paris"}))
            assert mine["results"] and {r["user_id"] for r in mine["results"]} == {"alice"}
            # naming another user is an error, whatever the tool
            for tool, args in (
                ("search_memories", {"query": "PIN"}),
                ("list_memories", {}),
                ("process_conversation", {"messages": "I live in Rome."}),
            ):
                result = await session.call_tool(tool, {**args, "user_id": "bob"})
                if not result.is_error:
                    reached.append((tool, "user_id=bob"))
                else:
                    assert "serves user_id 'alice' only" in error(result)
            # and bob's ids are unknown to alice, whatever the tool
            for memory_id in bobs:
                for tool, args in (
                    ("get_memory", {}),
                    ("memory_history", {}),
                    ("update_memory", {"text": "Bob lives in Rome."}),
                    ("delete_memory", {}),
                ):
                    result = await session.call_tool(tool, {"memory_id": memory_id, **args})
                    if not result.is_error:
                        reached.append((tool, memory_id))
                    else:
                        assert "no memory" in error(result)
            assert data(await session.call_tool("search_memories", {"query": "Paris"}))
    assert reached == []

    after = make_orch(data_dir=tmp_path / "data")
    assert {r.id: r for r in after.get_all(user_id="bob", include_superseded=True)} == bobs
    assert {i: after.history(i) for i in bobs} == bob_history


async def test_an_unpinned_server_reads_a_wildcard_user_id_as_a_literal(tmp_path: Path) -> None:
    """user_id "*" (or another filter-syntax id) names that one user, never every tenant."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "octomem", "mcp", "--data-dir", str(tmp_path / "data")],
    )
    with (tmp_path / "server.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            for user, text in (("alice", "I live in Paris."), ("bob", "I live in Berlin.")):
                await session.call_tool("process_conversation", {"messages": text, "user_id": user})
            for hostile in ("*", "$exists", "%"):
                listed = data(await session.call_tool("list_memories", {"user_id": hostile}))
                assert listed["results"] == [], hostile
                found = data(
                    await session.call_tool(
                        "search_memories", {"query": "where do I live", "user_id": hostile}
                    )
                )
                assert found["results"] == [], hostile
            for user, city in (("alice", "Paris"), ("bob", "Berlin")):
                mine = data(await session.call_tool("list_memories", {"user_id": user}))
                assert {m["user_id"] for m in mine["results"]} == {user}
                assert city in " ".join(m["memory"] for m in mine["results"])


async def test_mcp_over_http_reads_parts_but_never_the_hosts_files(tmp_path: Path) -> None:
    """Over HTTP the caller is elsewhere: a document given as bytes is read, a local path or
    file:// URL is refused whatever `media.local_files` says (on by default)."""
    secret = tmp_path / "host-notes.md"
    secret.write_text("# Host\n\nThe vault code is quokka-7731.\n")
    note = "data:text/markdown;base64," + base64.b64encode(b"# Pets\n\nMy cat is Miso.").decode()
    port = free_port()
    with _http_server(tmp_path, port):
        async with _session(port) as session:

            def said(url: str) -> dict[str, Any]:
                part = {"type": "mdx_url", "mdx_url": {"url": url}}
                return {"messages": [{"role": "user", "content": part}], "user_id": "dana"}

            assert data(await session.call_tool("process_conversation", said(note)))["operations"]
            found = data(
                await session.call_tool("search_memories", {"query": "cat", "user_id": "dana"})
            )
            assert any("Miso" in hit["memory"] for hit in found["results"])
            for url in (str(secret), secret.as_uri()):
                message = error(await session.call_tool("process_conversation", said(url)))
                assert "not read here" in message and "quokka" not in message
