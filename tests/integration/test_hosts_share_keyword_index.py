"""Server mode: the keyword index lives in the graph server, so two hosts (Orchestrators
with data directories of their own) on one Chroma server and one Bolt server search one
index: a memory written on A is found on B by a word only its text contains, through the
keyword retriever; deleted on A, B no longer finds it by that word."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.settings import load_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def hosts(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> Iterator[tuple[Orchestrator, Orchestrator]]:
    """Hosts A and B: one project of this test's own on the servers, a data dir each."""
    project = f"kw-{uuid.uuid4().hex[:8]}"
    opened = []
    try:
        for name in ("a", "b"):
            settings = load_settings(data_dir=tmp_path / name, project=project, **server_stores)
            opened.append(Orchestrator(settings, embedder=embedder))
        yield opened[0], opened[1]
    finally:
        for orch in opened:
            orch.close()


def keyword_hits(orch: Orchestrator, query: str, user: str) -> list[str]:
    """The ids of the recall hits the keyword retriever found."""
    hits = orch.recall(query, user_id=user, limit=10).hits
    return [h.memory.id for h in hits if any(p.retriever == "keyword" for p in h.provenance)]


def test_a_memory_written_on_one_host_is_found_by_its_words_on_another(
    hosts: tuple[Orchestrator, Orchestrator],
) -> None:
    a, b = hosts
    user = f"kw-user-{uuid.uuid4().hex[:8]}"
    noise = [f"We talked about the weather and lunch plans, day {n}." for n in range(5)]
    messages = [{"role": "user", "content": text} for text in noise]
    messages.append({"role": "user", "content": "My neighbour keeps a capybara named Zorblat."})
    written = a.process(messages, user_id=user, infer=False).turn_memory_ids[-1]

    assert keyword_hits(b, "Zorblat", user) == [written]
    assert keyword_hits(b, "Zorblat", f"{user}-other") == []  # another user of the project
    # B's consistency check sees A's write in the index it reads
    report = b.check()
    keyword = next(s for s in report.stores if s.store == "keyword")
    assert (keyword.missing, keyword.stale, keyword.extra) == ([], [], [])

    a.delete(written)
    assert keyword_hits(b, "Zorblat", user) == []
