"""Servers that stall, and connections dropped during a commit, seen by the caller.

Each server sits behind a fault proxy (benchmarks/tcp_proxy.py). A stalled server keeps
every connection open and answers nothing, here for as long as the test lasts (at least
`STALL_S`): a call to it fails with `StoreUnavailableError` within its configured bound,
well before the stall ends, and gives back what it holds - another host writes the same
user meanwhile. A connection dropped just after the client sent COMMIT leaves the outcome
unknown to the driver (`IncompleteCommit`): the call retries and stores its write once;
one dropped after a read's statement (an auto-commit transaction) is retried too.
`/readyz` answers during a stall and names the stalled store.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from benchmarks.tcp_proxy import TcpProxy, proxy_to
from octomem import Orchestrator, StoreUnavailableError
from octomem.embeddings import Embedder
from octomem.models import SemanticMemory
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings
from tests.invariants import assert_one_current_home
from tests.service_support import Service

pytestmark = pytest.mark.integration

STALL_S = 120  # what the stall stands for: the calls must fail long before it would end
BOUNDS = {"vector": {"retry_s": 2.0, "timeout_s": 1.0}, "graph": {"timeout_s": 3.0}}
LEASE_S = 3.0
COMMIT = b"\x00\x02\xb0\x12\x00\x00"  # a Bolt COMMIT message, in one chunk
KEYWORD_SEARCH = b"WHERE s.docs > 0"  # in the RUN message of the keyword search


@pytest.fixture
def chroma_proxy(chroma_server_url: str) -> Iterator[TcpProxy]:
    host, port = chroma_server_url.removeprefix("http://").split(":")
    with proxy_to(host, int(port)) as proxy:
        yield proxy


@pytest.fixture
def bolt_proxy(arcadedb_server: Any) -> Iterator[TcpProxy]:
    host, port = arcadedb_server.uri.removeprefix("bolt://").split(":")
    with proxy_to(host, int(port)) as proxy:
        yield proxy


def _through(
    server_stores: dict[str, Any], chroma: TcpProxy | None = None, bolt: TcpProxy | None = None
) -> dict[str, Any]:
    """`server_stores` with the bounds of these tests, reaching the servers through the
    proxies given."""
    stores = {
        **server_stores,
        "vector": {**server_stores["vector"], **BOUNDS["vector"]},
        "graph": {**server_stores["graph"], **BOUNDS["graph"]},
    }
    if chroma is not None:
        stores["vector"]["port"] = chroma.port
    if bolt is not None:
        stores["graph"]["uri"] = f"bolt://127.0.0.1:{bolt.port}"
    return stores


def _homes(orch: Orchestrator, user: str) -> list[str]:
    everything = orch.get_all(user_id=user, memory_types=["semantic"], include_superseded=True)
    return [
        r.value for r in everything if isinstance(r, SemanticMemory) and r.attribute == "lives_in"
    ]


def _stall_mid_write(
    orch: Orchestrator, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> threading.Event:
    """The next write of `orch` stalls `proxy` right after its keyword index update (lease
    held, graph and history written, vectors not yet); the event is set then."""
    keyword = services_of(orch).keyword
    real_upsert = keyword.upsert
    stalled = threading.Event()

    async def upsert_then_stall(*args: Any, **kwargs: Any) -> Any:
        done = await real_upsert(*args, **kwargs)
        if not stalled.is_set():
            proxy.set_mode("stall")
            stalled.set()
        return done

    monkeypatch.setattr(keyword, "upsert", upsert_then_stall)
    return stalled


def _in_thread(call: Any, *args: Any, **kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    said: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            said["result"] = call(*args, **kwargs)
        except Exception as exc:
            said["error"] = exc
        said["took_s"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, said


@contextlib.contextmanager
def _hosts(tmp_path: Path, embedder: Embedder) -> Iterator[Callable[..., Orchestrator]]:
    opened: list[Orchestrator] = []

    def open_host(name: str, stores: dict[str, Any], lease_s: float = LEASE_S) -> Orchestrator:
        concurrency = {"lease_ttl_s": lease_s, "lock_timeout_s": 60}
        settings = load_settings(data_dir=tmp_path / name, **stores, concurrency=concurrency)
        opened.append(Orchestrator(settings, embedder=embedder))
        return opened[-1]

    try:
        yield open_host
    finally:
        for orch in opened:
            orch.close()


@pytest.mark.parametrize("server", ["chroma", "bolt"])
def test_a_stalled_server_fails_the_call_within_its_bound_and_frees_the_user(
    tmp_path: Path,
    embedder: Embedder,
    server_stores: dict[str, Any],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    server: str,
) -> None:
    """The stall begins in the middle of a write (lease held, graph written, vectors not
    yet); another host writes the same user meanwhile."""
    proxy: TcpProxy = request.getfixturevalue(f"{server}_proxy")
    user = f"ann-{server}"
    with _hosts(tmp_path, embedder) as open_host:
        stuck = open_host("stuck", _through(server_stores, **{server: proxy}))
        other = open_host("other", _through(server_stores))
        stuck.process("I moved to Lisbon.", user_id=user)

        with monkeypatch.context() as patch:
            stalled = _stall_mid_write(stuck, proxy, patch)
            thread, said = _in_thread(stuck.process, "I moved to Oslo.", user_id=user)
            assert stalled.wait(60), said
            began = time.monotonic()
            other.process("I moved to Berlin.", user_id=user)  # waits for the stuck host
            other_took_s = time.monotonic() - began
            thread.join(STALL_S)
        assert isinstance(said.get("error"), StoreUnavailableError), said
        assert said["took_s"] < STALL_S / 2, said  # it gave up: the stall goes on
        assert other_took_s < STALL_S / 2
        assert proxy.mode == "stall"
        with pytest.raises(StoreUnavailableError):
            stuck.recall("Where does Ann live?", user_id=user)

        proxy.set_mode("pass")  # the stall ends; the stuck host works again
        stuck.recover()
        homes = _homes(other, user)
        assert {"Lisbon", "Berlin"} <= set(homes) <= {"Lisbon", "Oslo", "Berlin"}
        for host in (other, stuck):
            assert_one_current_home(host, user, homes)
        stuck.process("I moved to Kyoto.", user_id=user)
        assert assert_one_current_home(other, user, [*homes, "Kyoto"]) == "Kyoto"


def test_a_connection_dropped_during_a_commit_is_retried_and_stores_once(
    tmp_path: Path,
    embedder: Embedder,
    server_stores: dict[str, Any],
    bolt_proxy: TcpProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _hosts(tmp_path, embedder) as open_host:
        host = open_host("host", _through(server_stores, bolt=bolt_proxy), lease_s=30)
        host.process("I moved to Lisbon.", user_id="bo")
        bolt_proxy.cut_after(COMMIT, times=2)  # the first commits of the call: reads
        host.process("I moved to Oslo.", user_id="bo")  # no error: retried
        assert bolt_proxy.cuts == 2

        # a write's commit: the keyword index update of the next call
        keyword = services_of(host).keyword
        real_upsert = keyword.upsert

        async def cut_its_commit(*args: Any, **kwargs: Any) -> None:
            bolt_proxy.cut_after(COMMIT, times=1)
            await real_upsert(*args, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(keyword, "upsert", cut_its_commit)
            host.process("I moved to Kyoto.", user_id="bo")  # no error: retried
        assert bolt_proxy.cuts >= 3
        assert assert_one_current_home(host, "bo", ["Lisbon", "Oslo", "Kyoto"]) == "Kyoto"
        stored = [(m.memory_type, m.content) for m in host.get_all(user_id="bo")]
        assert len(stored) == len(set(stored))  # every memory once

        cuts = bolt_proxy.cuts
        # a read: recall's keyword search, an auto-commit statement (no COMMIT of its own)
        bolt_proxy.cut_after(KEYWORD_SEARCH, times=1)
        hits = host.recall("Where does Bo live?", user_id="bo").hits
        assert bolt_proxy.cuts == cuts + 1
        assert any("Kyoto" in hit.memory.content for hit in hits[:3])


@pytest.mark.parametrize("server", ["chroma", "bolt"])
def test_readyz_answers_during_a_stall_and_names_the_store(
    tmp_path: Path, server_stores: dict[str, Any], request: pytest.FixtureRequest, server: str
) -> None:
    proxy: TcpProxy = request.getfixturevalue(f"{server}_proxy")
    config = tmp_path / "server.yaml"
    config.write_text(yaml.safe_dump(_through(server_stores, **{server: proxy})))
    store = {"chroma": "vector", "bolt": "graph"}[server]
    with Service.start(tmp_path, config=config) as svc, httpx.Client(base_url=svc.url) as http:
        key = svc.key()
        body = {"messages": "I moved to Lisbon.", "user_id": "cy", "infer": False}
        assert http.post("/v1/process", json=body, headers=svc.auth(key), timeout=60).is_success
        assert http.get("/readyz", timeout=10).status_code == 200

        proxy.set_mode("stall")
        for _ in range(3):  # the probes of a stall do not pile up: each answer is prompt
            ready = http.get("/readyz", timeout=10)  # httpx raises past 10 s
            assert ready.status_code == 503, ready.text
            checks = ready.json()["checks"]
            assert checks[store] != "ok", checks  # "no answer for 0.8 s: ..." or the error
            other = "graph" if store == "vector" else "vector"
            assert checks[other] == "ok", checks
        assert http.get("/healthz", timeout=10).status_code == 200

        proxy.set_mode("pass")
        deadline = time.monotonic() + 60
        while (ready := http.get("/readyz", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.5)
        assert ready.json()["checks"][store] == "ok"


def test_a_deadline_answer_says_what_is_true_of_the_write(
    tmp_path: Path, server_stores: dict[str, Any], chroma_proxy: TcpProxy
) -> None:
    """The Chroma server stalls during a write: the 503 at the deadline says the write is
    still running and its outcome unknown (not "completed"); the write then fails in the
    background, which the log says under the request's id; the same request sent again once
    the server is back stores the message once. (A Bolt stall would stall the key check
    first, on servers that keep the keys: a 503 "unavailable" before any write.)"""
    stores = _through(server_stores, chroma=chroma_proxy)
    stores["vector"].update(retry_s=6.0, timeout_s=3.0)
    config = tmp_path / "server.yaml"
    config.write_text(yaml.safe_dump(stores))
    env = {"OCTOMEM_SERVICE__DEADLINE_S": "2"}
    with (
        Service.start(tmp_path, config=config, env=env) as svc,
        httpx.Client(base_url=svc.url, timeout=60) as http,
    ):
        auth = svc.auth(svc.key())
        for _ in range(30):  # opening the stores may take longer than the deadline
            if (warm := http.get("/v1/stats", headers=auth)).status_code != 503:
                break
            time.sleep(1)
        assert warm.status_code == 200, warm.text
        body = {"messages": "I moved to Oslo.", "user_id": "dee", "infer": False}

        chroma_proxy.set_mode("stall")
        cut = http.post("/v1/process", json=body, headers=auth)
        assert cut.status_code == 503, cut.text
        detail = cut.json()["detail"]
        assert "not known yet" in detail and "completed" not in detail, detail
        request_id = cut.headers["x-request-id"]
        assert request_id in detail

        deadline = time.monotonic() + 60  # the write fails at vector.retry_s (6 s)
        while not any(
            "failed; it was not completed" in line and request_id in line
            for line in svc.log().splitlines()
        ):
            assert time.monotonic() < deadline, svc.log()[-3000:]
            time.sleep(0.5)
        assert chroma_proxy.mode == "stall"  # the write ended long before the stall did

        chroma_proxy.set_mode("pass")
        again = http.post("/v1/process", json=body, headers=auth)  # the client's retry
        assert again.status_code == 200, again.text
        records = http.get("/v1/records", params={"user_id": "dee"}, headers=auth).json()
        assert [r["content"] for r in records] == ["user: I moved to Oslo."]
        assert "never retrieved" not in svc.log()
