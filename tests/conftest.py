"""Shared fixtures: real embedded backends in tmp dirs, one loaded embedder per run, and
the servers the tests start themselves (an ArcadeDB Bolt server for the Neo4j backend).

`make test` runs the suite on two pytest-xdist workers (pyproject: `-n 2 --dist
loadgroup`); the scheduler below keeps each test file on one worker and every test that
needs a server on the same one, so the servers start once (and `shared_orch` is opened
once per file).

Stores: `orch` / `make_orch` open an Orchestrator on fresh embedded stores (Chroma, the
Ladybug graph, SQLite) in the test's own tmp dir. Opening a store and its first `process()`
cost several times what a call on an open store does, so tests that can share one use
`shared_orch` (one Orchestrator per test module, on its own tmp data dir, closed at the end
of the module) with `uid` (a callable: `uid("alice")` is "alice-<8 hex>", the same for one
test every run and different for every test) for every user id they touch.

A test may use `shared_orch` when everything it does and asserts is about its own users:
process / recall / get / get_all / update / delete / history / forget of ids from `uid`
(and of the memory ids those calls gave it). It keeps `orch` / `make_orch` when it
- opens the Orchestrator with settings overrides (`make_orch(...)`, LLM-scripted ones too);
- counts or reads over the whole store: stats(), check()/doctor, export of everything,
  reset(), delete_all() without a user, user lists;
- closes, reopens or crashes the store, or patches its services to fail mid-write;
- inspects the store's files on disk;
- needs the store empty (recall plans no search of a memory type nobody has stored yet);
- asserts a ranking that other users' memories change (the keyword index's BM25
  statistics are the whole store's). A converted test must pass alone, in its file, and
  in its file run in reverse order; one whose ranking depends on what else is stored
  keeps a store of its own."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchmarks import servers
from benchmarks.servers import BoltServer
from octomem import Orchestrator
from octomem.embeddings import CachedEmbedder, Embedder, LocalEmbedder
from octomem.orchestrator.lifecycle import build_embedder
from octomem.settings import load_settings
from tests.servers import answers, up

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# the session fixtures that start a server, and the parameters that make a test ask for
# one through request.getfixturevalue (a backend "arcadedb", a store "http", a "server" mode)
SERVER_FIXTURES = frozenset({"arcadedb_server", "chroma_server_url", "server_stores"})
SERVER_PARAMS = frozenset({"arcadedb", "http", "server"})
# the files with tests that use those fixtures directly
SERVER_FILES = frozenset(
    {
        "tests/benchmarks/test_graph_growth.py",
        "tests/integration/test_clock_skew.py",
        "tests/integration/test_deployments_server.py",
        "tests/integration/test_forget_across_processes.py",
        "tests/integration/test_hosts_share_keyword_index.py",
        "tests/integration/test_id_key_server.py",
        "tests/integration/test_latency_bench.py",
        "tests/integration/test_write_round_trips.py",
        "tests/integration/test_keys_server.py",
        "tests/integration/test_projects_server.py",
        "tests/integration/test_recall_round_trips.py",
        "tests/integration/test_server_log.py",
        "tests/integration/test_server_mode.py",
        "tests/integration/test_scale_out.py",
        "tests/integration/test_server_scenario.py",
        "tests/integration/test_service_workers.py",
        "tests/integration/test_stateless_host.py",
        "tests/integration/test_store_outage.py",
        "tests/integration/test_store_stalls.py",
        "tests/integration/test_ui_server_mode.py",
        "tests/integration/test_write_fencing.py",
        "tests/scenarios/test_forget.py",
    }
)


def needs_servers(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return bool(SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))) or any(
        isinstance(value, str) and value in SERVER_PARAMS for value in params
    )


def xdist_scope(nodeid: str) -> str:
    """The unit of work a test belongs to on the xdist workers: "servers" for every test
    that needs a server (so that one worker starts them), else its file (its module
    fixtures are set up once). From the node id alone: the scheduler sees nothing else."""
    path, _, name = nodeid.partition("::")
    params = name[name.find("[") + 1 : -1].split("-") if name.endswith("]") else []
    return "servers" if path in SERVER_FILES or SERVER_PARAMS & set(params) else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` (pyproject), by `xdist_scope`. xdist's own loadgroup groups by
    renaming node ids in the workers, which pytest 9.2 no longer lets it do
    (pytest-dev/pytest-xdist#1386): every test went to any worker, and each worker that
    met a server test started its own servers."""
    from xdist.scheduler import LoadScopeScheduling

    if config.getvalue("dist") != "loadgroup":
        return None

    class ByScope(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return ByScope(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """A worker that died (killed, or a crash in native code) sent no output: xdist then
    fails the test it was running, by name, and starts a new worker. schemathesis's
    controller plugin reads that output unguarded, and its AttributeError ended the whole
    run as an INTERNALERROR that named no test."""
    if not hasattr(node, "workeroutput"):
        node.workeroutput = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that needs a server must be in the "servers" scope: name its file in
    SERVER_FILES (or use a SERVER_PARAMS parameter), or the servers start twice."""
    astray = [i.nodeid for i in items if needs_servers(i) and xdist_scope(i.nodeid) != "servers"]
    if astray:
        raise pytest.UsageError(f"tests/conftest.py: add the files of {astray} to SERVER_FILES")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 (its package's ONNX file), loaded once per worker."""
    embedder = build_embedder(load_settings())
    assert isinstance(embedder, CachedEmbedder) and isinstance(embedder.inner, LocalEmbedder)
    embedder.inner.load()  # load the model now
    return embedder


@pytest.fixture
def make_orch(tmp_path: Path, embedder: Embedder) -> Iterator[Any]:
    """Factory: an Orchestrator on fresh embedded stores under tmp_path."""
    opened: list[Orchestrator] = []

    def make(**overrides: Any) -> Orchestrator:
        overrides.setdefault("data_dir", tmp_path / f"om{len(opened)}")
        orch = Orchestrator(load_settings(**overrides), embedder=embedder)
        opened.append(orch)
        return orch

    yield make
    for orch in opened:
        orch.close()


@pytest.fixture
def orch(make_orch: Any) -> Orchestrator:
    return make_orch()


@pytest.fixture(scope="module")
def shared_orch(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Orchestrator]:
    """One Orchestrator per test module on default settings and embedded stores of its
    own, closed at the module's end. Only for tests whose every user id comes from `uid`
    (see the module docstring for what else may not share it)."""
    data_dir = tmp_path_factory.mktemp("shared-om")
    orch = Orchestrator(load_settings(data_dir=data_dir), embedder=embedder)
    yield orch
    orch.close()


@pytest.fixture
def uid(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """User ids of this test's own: `uid("alice")` -> "alice-<8 hex of the test's node id>",
    so tests on `shared_orch` never see each other's memories."""
    tag = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:8]
    return lambda name: f"{name}-{tag}"


@pytest.fixture(scope="session")
def chroma_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server: the one at OCTOMEM_TEST_CHROMA_URL when set (e.g.
    http://127.0.0.1:8123), otherwise `chroma run` on a free port, started once per run and
    stopped at the end. If no server can be had, the tests that need it fail with the
    reason (they are never skipped)."""
    if url := os.environ.get("OCTOMEM_TEST_CHROMA_URL"):
        url = url.rstrip("/")
        if not answers(f"{url}/api/v2/heartbeat"):
            pytest.fail(f"OCTOMEM_TEST_CHROMA_URL={url} does not answer /api/v2/heartbeat")
        yield url
        return
    with up(servers.chroma_server(tmp_path_factory.mktemp("chroma-server"))) as chroma:
        yield chroma.url


@pytest.fixture(scope="session")
def arcadedb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoltServer]:
    """An ArcadeDB server with its Bolt plugin on free local ports, started once per run in a
    subprocess of its own (benchmarks/arcadedb_server.py) and stopped at the end. The
    tests fail, with the server log's tail, if it cannot start; they are never skipped."""
    with up(servers.arcadedb_server(tmp_path_factory.mktemp("arcadedb-server"))) as bolt:
        yield bolt


@pytest.fixture
def server_stores(chroma_server_url: str, arcadedb_server: BoltServer) -> dict[str, Any]:
    """Settings overrides for server mode: the Chroma server and the Bolt server the tests
    start, with a collection prefix of this test's own."""
    import uuid

    host, port = chroma_server_url.removeprefix("http://").split(":")
    return {
        # a deployment of this test's own: its collections, graph, history and journal
        "deployment": f"t{uuid.uuid4().hex[:10]}",
        "vector": {
            "provider": "chroma",
            "mode": "http",
            "host": host,
            "port": int(port),
            "collection_prefix": f"t{uuid.uuid4().hex[:10]}",
        },
        "graph": {
            "provider": "neo4j",
            "uri": arcadedb_server.uri,
            "user": arcadedb_server.user,
            "password": arcadedb_server.password,
            "database": arcadedb_server.database,
        },
        # hosts sharing the servers share the key their memory ids are made with
        "id_key": "server-mode-test-" + "k" * 32,
    }
