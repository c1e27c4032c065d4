"""Hosts on the test's Chroma and Bolt servers, and what the servers hold: shared by the
scale-out and cross-process forget tests."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.settings import load_settings


def server_settings(server_stores: dict[str, Any], lease_s: float) -> dict[str, Any]:
    return {**server_stores, "concurrency": {"lease_ttl_s": lease_s, "lock_timeout_s": 60}}


@contextmanager
def open_hosts(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder, *, lease_s: float
) -> Iterator[Callable[[str], Orchestrator]]:
    """Opens hosts on the servers, each with a data directory of its own; closes them."""
    opened: list[Orchestrator] = []

    def open_host(name: str) -> Orchestrator:
        settings = load_settings(
            data_dir=tmp_path / name, **server_settings(server_stores, lease_s)
        )
        orch = Orchestrator(settings, embedder=embedder)
        opened.append(orch)
        return orch

    try:
        yield open_host
    finally:
        for orch in opened:
            orch.close()


def wait_for(child: subprocess.Popen[str], word: str) -> list[str]:
    """The child's lines up to the one that is `word`; fails if it exits first."""
    assert child.stdout is not None
    said: list[str] = []
    for line in child.stdout:
        said.append(line)
        if line.strip() == word:
            return said
    pytest.fail(f"the child exited ({child.wait()}) before '{word}':\n{''.join(said)[-3000:]}")


def graph_server_mentions(server_stores: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """Every node and relationship on the Bolt server with a property that holds `text`."""
    from neo4j import GraphDatabase

    graph = server_stores["graph"]
    found = []
    with GraphDatabase.driver(graph["uri"], auth=(graph["user"], graph["password"])) as driver:
        for query in (
            "MATCH (n) RETURN properties(n) AS p",
            "MATCH ()-[r]->() RETURN properties(r) AS p",
        ):
            records, _, _ = driver.execute_query(query, database_=graph["database"])
            found += [r["p"] for r in records if text in json.dumps(r["p"], default=str)]
    return found


def chroma_server_mentions(orch: Orchestrator, text: str) -> list[str]:
    """Ids of entries in this deployment's collections on the Chroma server that hold
    `text` in their document or metadata."""
    import chromadb

    vector = orch.settings.vector
    client = chromadb.HttpClient(host=vector.host, port=vector.port)  # type: ignore[union-attr]
    prefix = orch.settings.collection_prefix
    found = []
    for collection in client.list_collections():
        if not collection.name.startswith(prefix):
            continue
        page = collection.get(include=["documents", "metadatas"])
        for entry_id, doc, meta in zip(
            page["ids"], page["documents"] or [], page["metadatas"] or [], strict=False
        ):
            if text in (doc or "") or text in json.dumps(meta, default=str):
                found.append(entry_id)
    return found
