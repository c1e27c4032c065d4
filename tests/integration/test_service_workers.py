"""`octomem serve --workers 2` in server mode: two worker processes on one Chroma server
and one Bolt graph server behave as one service. A memory written through one worker is
read through the other; concurrent moves of one user through both keep one current
truth; each worker writes its own audit file; the bookmark of a write carries
read-your-writes from one worker to the next."""

from __future__ import annotations

import concurrent.futures
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.settings import load_settings
from tests.invariants import assert_one_current_home
from tests.service_support import Service

pytestmark = pytest.mark.integration
CITIES = "Lisbon Berlin Kyoto Oslo Toronto Nairobi".split()


def fresh() -> httpx.Client:
    """A client that opens a new connection per request, so requests spread over workers."""
    return httpx.Client(timeout=120, limits=httpx.Limits(max_keepalive_connections=0))


def test_two_workers_serve_one_truth(
    tmp_path: Path, server_stores: dict[str, Any], embedder: Embedder
) -> None:
    config = tmp_path / "server.yaml"
    config.write_text(yaml.safe_dump(server_stores))
    with Service.start(tmp_path, config=config, workers=2) as svc, fresh() as http:
        key = svc.key(project="wk")
        auth = svc.auth(key)
        user = f"worker-{uuid.uuid4().hex[:6]}"

        # written through whichever worker answers, read through every one
        ids = []
        for i in range(6):
            said = {
                "messages": f"Note {i}: the code word is {uuid.uuid4().hex[:8]}.",
                "user_id": user,
                "infer": False,
            }
            answer = http.post(svc.url + "/v1/process", json=said, headers=auth)
            assert answer.status_code == 200, answer.text
            ids += answer.json()["turn_memory_ids"]
            # the bookmark of the write: sent back, any worker reads after it
            bookmark = answer.headers["octomem-bookmark"]
        for memory_id in ids:
            for _ in range(4):
                after = {**auth, "Octomem-Bookmark": bookmark}
                got = http.get(f"{svc.url}/v1/records/{memory_id}", headers=after)
                assert got.status_code == 200, got.text
        forged = {**auth, "Octomem-Bookmark": "not a bookmark"}
        refused = http.get(f"{svc.url}/v1/records/{ids[0]}", headers=forged)
        assert refused.status_code == 400 and "Octomem-Bookmark" in refused.json()["detail"]

        # one user moves to six cities at once, through both workers
        def move(city: str) -> int:
            with fresh() as own:
                body = {"messages": f"I live in {city} now.", "user_id": user}
                return own.post(svc.url + "/v1/process", json=body, headers=auth).status_code

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            assert list(pool.map(move, CITIES)) == [200] * len(CITIES)

        audits = sorted((svc.data_dir / "service").glob("audit-*.log"))
        assert len(audits) == 2, audits  # both workers answered, each in its own file

    settings = load_settings(config, data_dir=svc.data_dir, project="wk")
    orch = Orchestrator(settings, embedder=embedder)
    try:
        assert_one_current_home(orch, user, CITIES)
    finally:
        orch.close()
