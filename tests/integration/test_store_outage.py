"""A Chroma server that drops away for a moment: calls ride it out; one that stays away
fails the call with `StoreUnavailableError`, nothing half-written, and the retry once it
is back stores everything exactly once.

The server sits behind a TCP proxy (benchmarks/tcp_proxy.py) that the test takes down - every
open connection cut, new ones refused - and brings back up on the same port.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.tcp_proxy import TcpProxy, proxy_to
from octomem import MemoryType, Orchestrator, StoreUnavailableError
from octomem.embeddings import Embedder
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings

pytestmark = pytest.mark.integration

CHROMA_LOGGER = "octomem.stores.chroma"
MOVE = [{"role": "user", "content": "I moved to Oslo last month, I work at Acme as a nurse."}]


@pytest.fixture
def proxy(chroma_server_url: str) -> Iterator[TcpProxy]:
    host, port = chroma_server_url.removeprefix("http://").split(":")
    with proxy_to(host, int(port)) as running:
        yield running


def _open(tmp_path: Path, embedder: Embedder, proxy: TcpProxy, retry_s: float) -> Orchestrator:
    vector = {
        "provider": "chroma",
        "mode": "http",
        "port": proxy.port,
        "collection_prefix": f"t{uuid.uuid4().hex[:10]}",
        "retry_s": retry_s,
    }
    settings = load_settings(
        data_dir=tmp_path / "om", vector=vector, id_key="outage-test-" + "k" * 32
    )
    return Orchestrator(settings, embedder=embedder)


class Retries(logging.Handler):
    """`seen` is set when the Chroma store logs that it could not reach the server and
    tries again: the call has met the outage."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "chroma server unreachable; retrying" in record.getMessage():
            self.seen.set()


@pytest.fixture
def retries(caplog: pytest.LogCaptureFixture) -> Iterator[Retries]:
    caplog.set_level(logging.WARNING, logger=CHROMA_LOGGER)  # enabled, whatever the config
    handler = Retries()
    logging.getLogger(CHROMA_LOGGER).addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger(CHROMA_LOGGER).removeHandler(handler)


def _contents(orch: Orchestrator, user_id: str) -> list[tuple[str, str]]:
    return sorted((m.memory_type.value, m.content) for m in orch.get_all(user_id=user_id))


def test_process_and_recall_ride_out_a_short_outage(
    tmp_path: Path, embedder: Embedder, proxy: TcpProxy, retries: Retries
) -> None:
    """The server comes back only once the call has found it away and is retrying."""
    orch = _open(tmp_path, embedder, proxy, retry_s=30)
    try:
        orch.process([{"role": "user", "content": "Hi, I'm Ann."}], user_id="ann")
        connections = proxy.accepted
        proxy.down()
        back = proxy.up_when(retries.seen)
        result = orch.process(MOVE, user_id="ann")  # starts while the server is away
        back.join()
        assert retries.seen.is_set() and result.errors == []
        assert proxy.accepted > connections  # it reconnected, once the server was back
        stored = _contents(orch, "ann")
        assert (MemoryType.EPISODIC.value, "user: " + MOVE[0]["content"]) in stored

        retries.seen.clear()
        proxy.down()
        back = proxy.up_when(retries.seen)
        hits = orch.recall("Where does Ann live?", user_id="ann").hits
        back.join()
        assert retries.seen.is_set()
        assert any("Oslo" in hit.memory.content for hit in hits[:3])

        orch.process(MOVE, user_id="ann")  # a retry of the call: nothing changes
        assert _contents(orch, "ann") == stored
    finally:
        orch.close()


def test_an_outage_past_retry_s_fails_cleanly_and_the_retry_stores_once(
    tmp_path: Path, embedder: Embedder, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server goes away in the middle of a write - after the graph, keyword index and
    history have the records, before the vector store does - and stays away past retry_s."""
    orch = _open(tmp_path, embedder, proxy, retry_s=0.5)
    try:
        orch.process([{"role": "user", "content": "Hi, I'm Ann."}], user_id="ann")
        keyword = services_of(orch).keyword
        real_upsert = keyword.upsert

        async def upsert_then_cut(*args: Any, **kwargs: Any) -> Any:
            done = await real_upsert(*args, **kwargs)
            proxy.down()
            return done

        with monkeypatch.context() as patch:
            patch.setattr(keyword, "upsert", upsert_then_cut)
            with pytest.raises(StoreUnavailableError, match="chroma run"):
                orch.process(MOVE, user_id="ann")
        assert orch.run_sync(services_of(orch).journal.pending())  # the write waits there

        proxy.up()
        orch.process(MOVE, user_id="ann")  # the caller's retry
        assert orch.run_sync(services_of(orch).journal.pending()) == []
        stored = orch.get_all(user_id="ann")
        turns = [m.content for m in stored if m.content.startswith("user: ")]
        assert sorted(turns) == sorted(["user: Hi, I'm Ann.", "user: " + MOVE[0]["content"]])
        texts = [(m.memory_type, m.content) for m in stored]
        assert len(texts) == len(set(texts))  # every memory once
        facts = [content for mtype, content in texts if mtype is not MemoryType.EPISODIC]
        assert any("Oslo" in content for content in facts)
    finally:
        orch.close()
