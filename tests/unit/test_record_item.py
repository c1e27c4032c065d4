"""One record, shown by the MCP server and by the mem0-style facade from one serialisation."""

from __future__ import annotations

from datetime import timedelta

from octomem.mcp_server import _item
from octomem.memory import to_item
from tests.unit.test_scopes import T0, fact


def test_the_mcp_and_mem0_items_show_one_record_alike() -> None:
    closed = fact("alice", "bot", "s1").model_copy(update={"valid_to": T0 + timedelta(days=1)})
    mcp, mem0 = _item(closed, 0.5), to_item(closed, score=0.5)
    assert mcp["memory"] == mem0["memory"] == "Alice lives in Paris"
    assert (mcp["session_id"], mem0["run_id"]) == ("s1", "s1")
    assert mcp["current"] is False
    assert mem0["valid_to"] == "2024-03-02T12:00:00+00:00"
    assert mcp["created_at"] == mem0["created_at"] == T0.isoformat()
    assert mem0["hash"] == closed.content_hash
    assert mem0["metadata"] is None and mcp["metadata"] == {}
