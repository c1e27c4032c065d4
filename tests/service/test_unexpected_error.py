"""A request that fails in a way no handler expects (a defect) is still answered as the
others are: a 500 problem body that carries the request's id, the `X-Request-ID` header,
and its audit line - the id a caller quotes finds the log's traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from octomem.orchestrator.engine import Orchestrator
from tests.service.in_process import request


def test_an_unexpected_error_answers_500_with_the_request_id_and_an_audit_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Orchestrator, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a defect deep inside")

    monkeypatch.setattr(Orchestrator, "arecall", broken)
    answer = request(
        tmp_path,
        "POST",
        "/v1/recall",
        json={"query": "jazz", "user_id": "ana"},
        headers={"X-Request-ID": "req-500"},
    )
    assert answer.status_code == 500, answer.text
    assert answer.headers["x-request-id"] == "req-500"
    body = answer.json()
    assert body["request_id"] == "req-500" and "a defect" not in body["detail"]
    lines = (tmp_path / "service" / "audit.log").read_text().splitlines()
    audited = [json.loads(line) for line in lines]
    assert [(a["request_id"], a["status"]) for a in audited] == [("req-500", 500)], audited
