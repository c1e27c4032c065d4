"""What one recall sends the servers in server mode, counted as `octomem bench scale`
counts it (`benchmarks.scale.Meter.counting`): at most 2 Bolt round trips (the keyword
search and the graph expansion, one auto-commit statement each). The vector searches
stay one Chroma query per memory type (a collection each), which return their records;
with the reads of the core blocks (one request, their metadata with their ids), of
keyword and graph hits the queries did not return and of neighbouring turns, these
recalls send 8 requests, not the 3 of issue 49's budget (docs/decisions.md: one query for
all types would need one collection for all, and costs 4-35x the per-type queries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.scale import Meter
from octomem.embeddings import Embedder
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings

pytestmark = pytest.mark.integration

USER = "round-trips"
TYPES = 7  # the searched agents' collections (core blocks are read whole, not searched)


def test_a_recall_costs_two_bolt_round_trips_and_a_query_per_type(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> None:
    settings = load_settings(data_dir=tmp_path / "app", **server_stores)
    port = int(server_stores["vector"]["port"])
    meter = Meter({})
    with Orchestrator(settings, embedder=embedder) as orch, meter.counting(port):
        orch.process(
            "I moved to Lisbon with my sister Ana last spring. Ana works at Studio Lumen.",
            user_id=USER,
        )
        orch.process("Remember to renew the passport before the trip to Oslo.", user_id=USER)
        asked = [
            "Where does Ana work?",
            "What did I do last spring?",
            "What do I need before the Oslo trip?",
        ]
        orch.recall(asked[0], user_id=USER)  # collections opened, as after any first call
        for query in asked:
            before = meter.read()
            result = orch.recall(query, user_id=USER, limit=10)
            spent = {k: v - before.get(k, 0) for k, v in meter.read().items()}
            assert result.hits, query
            assert 1 <= spent.get("bolt_round_trips", 0) <= 2, (query, spent)
            assert spent.get("graph_transactions", 0) <= 2, (query, spent)
            assert spent.get("chroma_requests: POST query", 0) == TYPES, (query, spent)
            assert spent.get("chroma_requests", 0) <= TYPES + 1, (query, spent)
        # another user's recall finds nothing of this one's
        assert not orch.recall("Where does Ana work?", user_id="someone-else").hits
