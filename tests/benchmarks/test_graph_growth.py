"""`python -m benchmarks.graph_growth` on the tests' ArcadeDB server, a few users small:
each user's writes land (entities, relations, mentions, keyword entries, history), the
forgets take what they name, and the report has a row per step."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from benchmarks.graph_growth import measure, server_stores
from benchmarks.servers import BoltServer

pytestmark = pytest.mark.integration


async def test_the_bench_writes_each_user_and_forgets_what_it_names(
    arcadedb_server: BoltServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stores = server_stores(arcadedb_server, tmp_path, deployment=f"g{uuid.uuid4().hex[:8]}")
    graph = stores.graph
    try:
        await measure(stores, users=10, facts=8)
        rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
        assert [row.split(" | ")[0] for row in rows[1:]] == [f"| {n}" for n in range(1, 11)]
        # users 0-4: five of their eight facts forgotten, with the entities left unlinked
        assert [r.id for r in await graph.relations("user2")] == ["m2-5", "m2-6", "m2-7"]
        names = [f"name 2 {i}" for i in range(9)]
        assert [e.id for e in await graph.find_entities("user2", names)] == [
            f"e2-{i}" for i in range(5, 9)
        ]
        assert await graph.relations("user7") == []  # users 5-9 forgotten whole
        assert await graph.find_entities("user7", [f"name 7 {i}" for i in range(9)]) == []
        found = await stores.keyword.search("name 9 3", user_id="user9", limit=3)
        assert found and found[0][0] == "m9-3"
        assert [e.memory_id for e in await stores.history.for_memory("m9-3")] == ["m9-3"]
    finally:
        for store in (stores.graph, stores.keyword, stores.history):
            await store.reset()
        await graph.close()
