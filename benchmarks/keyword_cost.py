"""The keyword index alone, embedded (SQLite FTS5) against server mode (the index in the
graph server), side by side in one run: ingest rate and search latency, and their ratios.

    python -m benchmarks.keyword_cost --bolt bolt://127.0.0.1:7687 --user neo4j \\
        --sizes 1000,10000 [--queries 200] [--database neo4j]

The password comes from OCTOMEM_GRAPH__PASSWORD. One user's chat turns (each with the turn
before it as its context, as `process(infer=False)` stores them), upserted 20 per call (one
`process` call of 20 messages); searches are `keyword_query` of the perf questions. The
server index is written in a namespace of its own and reset at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.perf import percentile
from benchmarks.synthetic import memories, questions
from octomem.models import TURN_CONTEXT, EpisodicMemory, MemoryType, make_memory_id
from octomem.orchestrator.retrieval import keyword_query
from octomem.stores.base import KeywordStore
from octomem.stores.fts import FtsKeywordStore
from octomem.stores.graph_keyword import GraphKeywordStore
from octomem.stores.neo4j_client import Neo4jClient

USER = "bench-user"
BATCH = 20
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def turns(count: int) -> list[EpisodicMemory]:
    texts = memories(count)
    return [
        EpisodicMemory(
            id=make_memory_id(MemoryType.EPISODIC, USER, n),
            user_id=USER,
            content=f"user: {text}",
            occurred_at=T0,
            actor="user",
            event_type="message",
            summary=text,
            internal={"raw": True, TURN_CONTEXT: f"user: {texts[n - 1]}" if n else ""},
        )
        for n, text in enumerate(texts)
    ]


async def _timed(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list[float]:
    out = []
    for call in calls:
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out


async def measure(store: KeywordStore, records: Sequence[EpisodicMemory], asks: Sequence[str]):
    await store.init()
    batches = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]
    ingest = await _timed([lambda b=b: store.upsert(b) for b in batches])  # type: ignore[misc]
    searches = await _timed(
        [lambda q=q: store.search(q, user_id=USER, limit=40) for q in asks]  # type: ignore[misc]
    )
    ms = [1000 * s for s in searches]
    return {
        "ingest_per_s": len(records) / sum(ingest),
        "search_p50_ms": percentile(ms, 50),
        "search_p95_ms": percentile(ms, 95),
    }


async def main(args: argparse.Namespace) -> None:
    password = os.environ.get("OCTOMEM_GRAPH__PASSWORD", "")
    asks = [keyword_query(q) for q in questions(args.queries)]
    print("| size | metric | FTS5 (embedded) | graph server | server / FTS5 |")
    print("|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        records = turns(size)
        client = Neo4jClient(args.bolt, args.user, password, database=args.database)
        server = GraphKeywordStore(client, namespace=f"kwbench{uuid.uuid4().hex[:8]}")
        with tempfile.TemporaryDirectory() as tmp:
            fts = FtsKeywordStore(Path(tmp) / "keyword.sqlite")
            try:
                embedded = await measure(fts, records, asks)
                served = await measure(server, records, asks)
            finally:
                await fts.close()
                await server.reset()
                await server.close()
        for metric, value in embedded.items():
            other = served[metric]
            print(f"| {size} | {metric} | {value:.2f} | {other:.2f} | {other / value:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bolt", required=True, help="the graph server's Bolt URI")
    parser.add_argument("--user", default="neo4j")
    parser.add_argument("--database", default=None)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
