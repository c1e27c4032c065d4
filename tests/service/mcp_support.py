"""The MCP SDK's own client against the /mcp endpoint of a real `octomem serve`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOOLS = {
    "process_conversation",
    "search_memories",
    "get_memory",
    "list_memories",
    "update_memory",
    "delete_memory",
    "memory_history",
}


@asynccontextmanager
async def mcp_session(url: str, authorization: str | None) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session on ``url/mcp`` sending `authorization`."""
    headers = {"Authorization": authorization} if authorization is not None else None
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(url + "/mcp", http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def data(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


def error(result: Any) -> str:
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    return " ".join(part.text for part in result.content)


def initialize(url: str, headers: dict[str, str], **extra: Any) -> httpx.Response:
    """One raw ``initialize`` POST, as any MCP client opens a conversation."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
            **extra,
        },
    }
    return httpx.post(
        url + "/mcp",
        json=body,
        headers={"Accept": "application/json, text/event-stream", **headers},
        timeout=30,
    )
