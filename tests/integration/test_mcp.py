"""`octomem mcp` driven by the official MCP client SDK over stdio, as Claude Desktop does."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.servers import free_port, listening, running

pytestmark = pytest.mark.integration

TOOLS = {
    "process_conversation",
    "search_memories",
    "get_memory",
    "list_memories",
    "update_memory",
    "delete_memory",
    "memory_history",
}


def _data(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def _error(result: Any) -> str:
    assert result.is_error, "expected a tool error"
    return " ".join(part.text for part in result.content)


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

            processed = _data(
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
            moved = _data(
                await session.call_tool("process_conversation", {"messages": "I moved to Berlin."})
            )
            assert any(op["operation"] == "SUPERSEDE" for op in moved["operations"])

            found = _data(
                await session.call_tool("search_memories", {"query": "where does alice live?"})
            )
            assert "Berlin" in found["results"][0]["memory"]
            memory_id = found["results"][0]["id"]
            got = _data(await session.call_tool("get_memory", {"memory_id": memory_id}))
            assert got["id"] == memory_id and got["user_id"] == "alice"

            listed_memories = _data(
                await session.call_tool(
                    "list_memories", {"memory_types": ["semantic"], "include_superseded": True}
                )
            )
            assert {m["current"] for m in listed_memories["results"]} == {True, False}

            updated = _data(
                await session.call_tool(
                    "update_memory", {"memory_id": memory_id, "text": "Alice lives in Munich."}
                )
            )
            assert updated["memory"] == "Alice lives in Munich."
            assert _data(await session.call_tool("delete_memory", {"memory_id": memory_id}))[
                "deleted"
            ]
            events = _data(await session.call_tool("memory_history", {"memory_id": memory_id}))
            assert [e["operation"] for e in events["events"]][-2:] == ["UPDATE", "DELETE"]

            # clear errors for bad input
            assert "no memory" in _error(
                await session.call_tool("get_memory", {"memory_id": memory_id})
            )
            assert "query" in _error(await session.call_tool("search_memories", {}))
            assert "limit" in _error(
                await session.call_tool("search_memories", {"query": "x", "limit": 0})
            )
            assert "role" in _error(
                await session.call_tool(
                    "process_conversation", {"messages": [{"role": "robot", "content": "hi"}]}
                )
            )
            assert "InvalidInputError" in _error(
                await session.call_tool(
                    "search_memories", {"query": "x", "filters": {"a": {"bogus": 1}}}
                )
            )


async def test_mcp_over_streamable_http(tmp_path: Path) -> None:
    from mcp.client.streamable_http import streamable_http_client

    port = free_port()
    with running(
        [sys.executable, "-m", "octomem", "mcp", "--transport", "http", "--port", str(port)]
        + ["--data-dir", str(tmp_path / "data")],
        log_path=tmp_path / "server.log",
        ready=lambda: listening(port),
        timeout_s=60,
        what="octomem mcp over HTTP",
    ):
        async with (
            streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write, *_),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
            stored = _data(
                await session.call_tool(
                    "process_conversation",
                    {"messages": "I'm Dana. I live in Oslo.", "user_id": "dana"},
                )
            )
            assert stored["turns"] == 1
            found = _data(
                await session.call_tool("search_memories", {"query": "Oslo", "user_id": "dana"})
            )
            assert "Oslo" in found["results"][0]["memory"]
            assert "user_id is required" in _error(
                await session.call_tool("search_memories", {"query": "Oslo"})
            )
