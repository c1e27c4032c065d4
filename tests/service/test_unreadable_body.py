"""A JSON body the service cannot read is a 400 that says why, whatever broke the parse:
a syntax error, bytes that are not UTF-8, a number Python refuses to convert (more than
4,300 digits) or nesting deeper than the parser recurses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.in_process import request

JSON = "application/json"
BODIES = {
    b'{"query": "jazz", ': "the body is not valid JSON",
    b'{"query": "\xff\xfe", "user_id": "ana"}': "the body is not UTF-8",
    b'{"query": "jazz", "user_id": "ana", "limit": ' + b"7" * 5000 + b"}": "4,300 digits",
    b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": "nested too deeply",
}


@pytest.mark.parametrize("body", BODIES, ids=["syntax", "not-utf8", "long-number", "deep"])
def test_an_unreadable_body_is_a_400_saying_why(tmp_path: Path, body: bytes) -> None:
    answer = request(tmp_path, "POST", "/v1/recall", content=body, headers={"Content-Type": JSON})
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert BODIES[body] in problem["detail"], problem
    assert problem["request_id"] and answer.headers["x-request-id"] == problem["request_id"]
