"""MCP at /mcp of a real `octomem serve`, driven by the MCP SDK's own streamable HTTP
client: the same keys, scopes, pinned users, projects and limits as every other route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from tests.service.mcp_support import TOOLS, data, error, initialize, mcp_session
from tests.service_support import Service, octomem


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with Service.start(tmp_path_factory.mktemp("svc-mcp")) as service:
        yield service


def bearer(key: str) -> str:
    return f"Bearer {key}"


async def remember(session: ClientSession, user: str, text: str) -> list[str]:
    """Store `text` for `user`; the ids of every memory `user` has afterwards."""
    data(await session.call_tool("process_conversation", {"messages": text, "user_id": user}))
    listed = data(await session.call_tool("list_memories", {"user_id": user}))
    return [m["id"] for m in listed["results"]]


def unknown_like(memory_id: str) -> str:
    """An id of the same shape that names no memory."""
    prefix, _, rest = memory_id.partition("_")
    return f"{prefix}_{'0' * len(rest)}"


async def same_as_unknown(session: ClientSession, tool: str, memory_id: str, **args: Any) -> None:
    """`tool` on `memory_id` fails exactly as on an id that names no memory."""
    fake = unknown_like(memory_id)
    real = error(await session.call_tool(tool, {"memory_id": memory_id, **args}))
    none = error(await session.call_tool(tool, {"memory_id": fake, **args}))
    assert real.replace(memory_id, "<id>") == none.replace(fake, "<id>")


async def test_every_tool_works_on_the_keys_project(svc: Service) -> None:
    key = svc.key(project="default")
    async with mcp_session(svc.url, bearer(key)) as session:
        listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS

        stored = data(
            await session.call_tool(
                "process_conversation",
                {"messages": "I live in Lisbon.", "user_id": "ana-rt"},
            )
        )
        assert stored["turns"] == 1 and stored["operations"]
        found = data(
            await session.call_tool(
                "search_memories", {"query": "where does Ana live?", "user_id": "ana-rt"}
            )
        )
        assert any("Lisbon" in r["memory"] for r in found["results"])
        memory_id = next(
            op["memory_id"]
            for op in stored["operations"]
            if op["operation"] == "ADD" and op["memory_type"] == "semantic"
        )
        got = data(
            await session.call_tool("get_memory", {"memory_id": memory_id, "user_id": "ana-rt"})
        )
        assert got["id"] == memory_id and got["user_id"] == "ana-rt"
        everything = data(await session.call_tool("list_memories", {"user_id": "ana-rt"}))
        assert memory_id in {m["id"] for m in everything["results"]}
        updated = data(
            await session.call_tool(
                "update_memory",
                {"memory_id": memory_id, "text": "Ana lives in Porto.", "user_id": "ana-rt"},
            )
        )
        assert updated["memory"] == "Ana lives in Porto."
        deleted = data(
            await session.call_tool("delete_memory", {"memory_id": memory_id, "user_id": "ana-rt"})
        )
        assert deleted == {"id": memory_id, "deleted": True}
        history = data(
            await session.call_tool("memory_history", {"memory_id": memory_id, "user_id": "ana-rt"})
        )
        assert [e["operation"] for e in history["events"]][-2:] == ["UPDATE", "DELETE"]

    lines = [line for line in svc.audit_lines() if line["key_id"] == svc.key_id(key)]
    assert lines and {line["route"] for line in lines} == {"/mcp"}
    assert {line["project"] for line in lines} == {"default"}
    calls = [line for line in lines if any(str(c).startswith("tool.") for c in line["counts"])]
    assert {next(iter(c for c in line["counts"] if c.startswith("tool."))) for line in calls} == {
        f"tool.{name}" for name in TOOLS
    }
    assert {line["user_id"] for line in calls} == {"ana-rt"}
    assert "Lisbon" not in (svc.data_dir / "service" / "audit.log").read_text()


async def test_no_key_a_wrong_key_or_a_revoked_key_gets_401(svc: Service) -> None:
    real = svc.key()
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for headers in ({}, svc.auth(forged), {"Authorization": "Basic abc"}):
        answer = initialize(svc.url, {**headers, "X-Request-ID": "mcp-401"})
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["request_id"] == "mcp-401"
    # a line is written just after its response is sent: wait for all three
    refused = svc.audit_lines(lambda line: line["request_id"] == "mcp-401", count=3)
    assert [line["route"] for line in refused] == ["/mcp"] * 3
    assert initialize(svc.url, svc.auth(real)).status_code == 200  # Token, as mem0 sends it

    async with mcp_session(svc.url, bearer(real)) as session:
        data(await session.call_tool("list_memories", {"user_id": "rev-user"}))
        octomem("keys", "revoke", svc.key_id(real), env=svc.env)  # while the server runs
        with pytest.raises(MCPError):
            await session.call_tool("list_memories", {"user_id": "rev-user"})
    assert initialize(svc.url, svc.auth(real)).status_code == 401


async def test_a_read_only_key_cannot_process_update_or_delete(svc: Service) -> None:
    writer, reader = svc.key(), svc.key(scopes="read")
    async with mcp_session(svc.url, bearer(writer)) as session:
        ids = await remember(session, "ro-user", "I'm Ro. I play the cello.")
        before = data(await session.call_tool("list_memories", {"user_id": "ro-user"}))
    async with mcp_session(svc.url, f"Token {reader}") as session:
        found = data(
            await session.call_tool("search_memories", {"query": "cello", "user_id": "ro-user"})
        )
        assert found["results"]
        for tool, args, scope in (
            ("process_conversation", {"messages": "I sold my cello."}, "write"),
            ("update_memory", {"memory_id": ids[0], "text": "No cello."}, "write"),
            ("delete_memory", {"memory_id": ids[0]}, "delete"),
        ):
            message = error(await session.call_tool(tool, {**args, "user_id": "ro-user"}))
            assert f"lacks the '{scope}' scope" in message
        after = data(await session.call_tool("list_memories", {"user_id": "ro-user"}))
    assert after == before
    refused = [
        line["counts"]
        for line in svc.audit_lines()
        if line["key_id"] == svc.key_id(reader) and line["counts"].get("tool_errors")
    ]
    assert [next(iter(c)) for c in refused] == [
        "tool.process_conversation",
        "tool.update_memory",
        "tool.delete_memory",
    ]


async def test_a_pinned_key_reaches_its_user_only(svc: Service) -> None:
    admin = svc.key()
    async with mcp_session(svc.url, bearer(admin)) as session:
        bobs = await remember(session, "pin-bob", "I'm Bob. My PIN is 4711.")
        await remember(session, "pin-ana", "I'm Ana. I live in Paris.")
        bob_before = data(await session.call_tool("list_memories", {"user_id": "pin-bob"}))
    assert bobs

    pinned = svc.key(user="pin-ana")
    async with mcp_session(svc.url, bearer(pinned)) as session:
        mine = data(await session.call_tool("search_memories", {"query": "Paris"}))
        assert mine["results"] and {r["user_id"] for r in mine["results"]} == {"pin-ana"}
        for tool, args in (
            ("search_memories", {"query": "PIN"}),
            ("list_memories", {}),
            ("process_conversation", {"messages": "I live in Rome."}),
            ("get_memory", {"memory_id": bobs[0]}),
            ("delete_memory", {"memory_id": bobs[0]}),
        ):
            message = error(await session.call_tool(tool, {**args, "user_id": "pin-bob"}))
            assert "pinned to one user" in message
        for memory_id in bobs:
            for tool, args in (
                ("get_memory", {}),
                ("memory_history", {}),
                ("update_memory", {"text": "Bob has no PIN."}),
                ("delete_memory", {}),
            ):
                await same_as_unknown(session, tool, memory_id, **args)

    async with mcp_session(svc.url, bearer(admin)) as session:
        bob_after = data(await session.call_tool("list_memories", {"user_id": "pin-bob"}))
    assert bob_after == bob_before


async def test_project_b_finds_and_changes_nothing_of_project_a(svc: Service) -> None:
    key_a, key_b = svc.key(project="proj-a"), svc.key(project="proj-b")
    async with mcp_session(svc.url, bearer(key_a)) as session:
        ids_a = await remember(session, "cross-ana", "I'm Ana. My locker code is 2468.")
        before = data(await session.call_tool("list_memories", {"user_id": "cross-ana"}))
    assert ids_a

    async with mcp_session(svc.url, bearer(key_b)) as session:
        found = data(
            await session.call_tool(
                "search_memories", {"query": "locker code", "user_id": "cross-ana"}
            )
        )
        assert found == {"results": [], "core": []}
        listed = data(await session.call_tool("list_memories", {"user_id": "cross-ana"}))
        assert listed == {"results": []}
        for memory_id in ids_a:
            for tool, args in (
                ("get_memory", {}),
                ("memory_history", {}),
                ("update_memory", {"text": "No locker."}),
                ("delete_memory", {}),
            ):
                await same_as_unknown(session, tool, memory_id, user_id="cross-ana", **args)
        # B's own memory of the same user id stays B's
        ids_b = await remember(session, "cross-ana", "I'm Ana. I live in Rome.")
        assert ids_b and not set(ids_b) & set(ids_a)

    async with mcp_session(svc.url, bearer(key_a)) as session:
        after = data(await session.call_tool("list_memories", {"user_id": "cross-ana"}))
    assert after == before


def test_rate_and_body_limits_hold_on_mcp(svc: Service) -> None:
    limited = svc.key(rate_limit="2")
    statuses = [initialize(svc.url, svc.auth(limited)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    answer = initialize(svc.url, svc.auth(limited))
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) >= 1

    key = svc.key()
    huge = initialize(svc.url, svc.auth(key), padding="x" * 2_100_000)
    assert huge.status_code == 413
    assert huge.headers["content-type"] == "application/problem+json"
