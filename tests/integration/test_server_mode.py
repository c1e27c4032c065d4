"""Server mode: two worker processes on one Chroma server and one Bolt graph server.

Both workers move the same users to different cities at the same moment (four threads
each, so eight callers per user across two processes). The scope lock's lease lives in
the graph server, so the invariants hold across processes: one current home per user in
the canonical store, one valid LIVES_IN edge in the graph, every move kept as history.
The workers share a data directory (one host: the keyword index and history are files
there), or each has its own (hosts that share only the servers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.settings import load_settings
from tests.invariants import assert_one_current_home

pytestmark = pytest.mark.integration

WORKER = Path(__file__).resolve().parents[1] / "server_worker.py"
CITIES = "Lisbon Berlin Kyoto Oslo Toronto Nairobi Lima Seoul".split()
USERS = 4


def _run_workers(tmp_path: Path, servers: dict[str, Any], data_dirs: list[Path], users: list[str]):
    go = tmp_path / "go"
    workers = []
    for index, data_dir in enumerate(data_dirs):
        mine = CITIES[index::2]  # each worker its own half of the cities
        spec = {**servers, "data_dir": str(data_dir), "go": str(go)}
        spec["work"] = [[user, mine] for user in users]
        workers.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), json.dumps(spec)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=WORKER.parent.parent,
            )
        )
    for worker in workers:
        assert worker.stdout is not None
        said = []
        for line in worker.stdout:
            if line.strip() == "ready":
                break
            said.append(line)
        else:
            log = "".join(said)[-3000:]
            pytest.fail(f"a worker died before it was ready (exit {worker.wait()}):\n{log}")
    go.touch()
    for worker in workers:
        output, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0, output


@pytest.mark.parametrize("shared_dir", [True, False], ids=["one-host", "two-hosts"])
def test_two_worker_processes_keep_one_current_home(
    tmp_path: Path,
    server_stores: dict[str, Any],
    embedder: Embedder,
    shared_dir: bool,
) -> None:
    servers = server_stores
    run = uuid.uuid4().hex[:6]
    users = [f"server-{run}-{i}" for i in range(USERS)]
    dirs = [tmp_path / "data"] * 2 if shared_dir else [tmp_path / "a", tmp_path / "b"]
    _run_workers(tmp_path, servers, dirs, users)

    orch = Orchestrator.from_settings(load_settings(data_dir=dirs[0], **servers), embedder=embedder)
    try:
        for user in users:
            assert_one_current_home(orch, user, CITIES)
        if shared_dir:  # one host: the keyword index and history saw every write too
            report = orch.check()
            ours = {s.store: [i for i in s.missing + s.stale] for s in report.stores}
            assert ours == {s: [] for s in ("keyword", "graph", "history", "projections")}, ours
    finally:
        orch.close()
