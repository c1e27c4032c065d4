"""Server mode: two or three worker processes on one Chroma server and one Bolt graph
server.

The workers move the same users to different cities at the same moment (four threads
each, so eight or more callers per user across processes). The scope lock's lease lives
in the graph server, so the invariants hold across processes: one current home per user
in the canonical store, one valid LIVES_IN edge in the graph, every move kept as history.
The workers share a data directory (one host) or each has its own (hosts that share only
the servers): either way every process then sees every store in agreement and the same
history of every memory, since keyword index, history and journal live on the servers.
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
        mine = CITIES[index :: len(data_dirs)]  # each worker its own share of the cities
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


@pytest.mark.parametrize(
    "hosts",
    [["data", "data"], ["a", "b"], ["a", "b", "c"]],
    ids=["one-host", "two-hosts", "three-hosts"],
)
def test_worker_processes_keep_one_current_home(
    tmp_path: Path,
    server_stores: dict[str, Any],
    embedder: Embedder,
    hosts: list[str],
) -> None:
    servers = server_stores
    run = uuid.uuid4().hex[:6]
    users = [f"server-{run}-{i}" for i in range(USERS)]
    dirs = [tmp_path / host for host in hosts]
    _run_workers(tmp_path, servers, dirs, users)

    histories = []
    for data_dir in dict.fromkeys(dirs):  # every host sees the same
        settings = load_settings(data_dir=data_dir, **servers)
        orch = Orchestrator(settings, embedder=embedder)
        try:
            for user in users:
                assert_one_current_home(orch, user, CITIES)
            report = orch.check()
            ours = {s.store: [i for i in s.missing + s.stale] for s in report.stores}
            assert ours == {
                s: [] for s in ("vector", "keyword", "graph", "history", "projections", "validity")
            }, ours
            records = [r for u in users for r in orch.get_all(user_id=u, include_superseded=True)]
            histories.append({r.id: orch.history(r.id) for r in records})
        finally:
            orch.close()
    assert all(h == histories[0] for h in histories[1:])
