"""Fixtures of the contract suites: a GraphStore of every backend (`graph`), and a Chroma
server for the HTTP-mode vector tests.

The graph backends are listed in tests/contract/graph_backends.py. The Chroma server is the
one at OCTOMEM_TEST_CHROMA_URL when set (e.g. http://127.0.0.1:8123); otherwise
starts `chroma run` on a free port for the session and stops it at the end. If no server
can be had, the tests that need it fail with the reason (they are never skipped).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.contract.graph_backends import BACKENDS, Graph, open_graph
from tests.servers import answers, executable, free_port, running

_STARTUP_S = 60.0


@pytest.fixture(scope="session")
def chroma_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("OCTOMEM_TEST_CHROMA_URL"):
        url = url.rstrip("/")
        if not answers(f"{url}/api/v2/heartbeat"):
            pytest.fail(f"OCTOMEM_TEST_CHROMA_URL={url} does not answer /api/v2/heartbeat")
        yield url
        return
    chroma = executable("chroma")
    if chroma is None:
        pytest.fail("no `chroma` executable next to the Python interpreter or on PATH")
    workdir = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [chroma, "run", "--path", str(workdir / "data"), "--host", "127.0.0.1"]
    with running(
        [*cmd, "--port", str(port)],
        log_path=workdir / "server.log",
        ready=lambda: answers(f"{url}/api/v2/heartbeat"),
        timeout_s=_STARTUP_S,
        what=f"`chroma run` on {url}",
    ):
        yield url


@pytest.fixture(params=BACKENDS)
async def graph(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Graph]:
    """A GraphStore of each backend (see tests/contract/graph_backends.py), opened fresh."""
    async with open_graph(request.param, request, tmp_path) as g:
        yield g
