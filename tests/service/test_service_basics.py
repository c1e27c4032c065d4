"""`octomem serve` as a client sees it: keys, the /v1 round trip, problems, the audit line."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.service_support import Service


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with Service.start(tmp_path_factory.mktemp("svc")) as service:
        yield service


def test_a_key_stores_and_finds_a_memory(svc: Service) -> None:
    key = svc.key()
    with httpx.Client(base_url=svc.url, headers=svc.auth(key), timeout=60) as http:
        stored = http.post("/v1/process", json={"messages": "I live in Lisbon.", "user_id": "ana"})
        assert stored.status_code == 200, stored.text
        assert stored.json()["operations"]
        found = http.post("/v1/recall", json={"query": "where does ana live", "user_id": "ana"})
        assert found.status_code == 200
        assert any("Lisbon" in hit["memory"]["content"] for hit in found.json()["hits"])


def test_no_key_or_a_wrong_one_is_401_problem_with_request_id(svc: Service) -> None:
    real = svc.key()
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for headers in ({}, svc.auth(forged), {"Authorization": "Basic abc"}):
        answer = httpx.get(
            svc.url + "/v1/records",
            params={"user_id": "ana"},
            headers={**headers, "X-Request-ID": "req-42"},
        )
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["status"] == 401 and body["request_id"] == "req-42"
        assert answer.headers["x-request-id"] == "req-42"
    refused = svc.audit_lines(lambda line: line["request_id"] == "req-42", count=3)
    assert [(x["route"], x["status"], x["key_id"]) for x in refused] == [
        ("/v1/records", 401, None)
    ] * 3


def test_key_in_query_string_is_not_accepted(svc: Service) -> None:
    key = svc.key()
    answer = httpx.get(svc.url + "/v1/records", params={"user_id": "ana", "api_key": key})
    assert answer.status_code == 401


def test_audit_line_has_no_text_or_query(svc: Service) -> None:
    key = svc.key()
    secret_words = "zebra-unicorn-quartz"
    httpx.post(
        svc.url + "/v1/recall",
        headers=svc.auth(key),
        json={"query": secret_words, "user_id": "ana"},
        timeout=60,
    )
    lines = svc.audit_lines(lambda line: line["key_id"] == svc.key_id(key), count=1)
    assert lines[-1]["route"] == "/v1/recall"
    assert secret_words not in (Path(svc.data_dir) / "service" / "audit.log").read_text()


def test_the_access_log_names_user_ids_unless_turned_off(svc: Service, tmp_path: Path) -> None:
    """uvicorn's access log prints query strings (user ids); `--no-access-log` leaves it out
    where user ids are personal data a forget should not leave behind."""
    key = svc.key()
    asked = {"user_id": "access-log-ana"}
    assert httpx.get(svc.url + "/v1/records", params=asked, headers=svc.auth(key)).is_success
    assert _eventually(lambda: "access-log-ana" in svc.log())
    with Service.start(tmp_path, args=("--no-access-log",)) as quiet:
        key = quiet.key()
        listed = httpx.get(  # the first request opens the stores: not httpx's 5 s timeout
            quiet.url + "/v1/records", params=asked, headers=quiet.auth(key), timeout=120
        )
        assert listed.is_success
        assert quiet.audit_lines(count=1)  # the request was served and audited
        assert "access-log-ana" not in quiet.log()


def test_a_secret_in_a_url_is_masked_in_the_access_log(svc: Service) -> None:
    """A client that sends a secret as a memory id or a query value does not have it
    printed: the access log masks each path segment and query value."""
    key = svc.key()
    api_key = "sk-proj-ACCESSlogQ7xZ2mN4pL8vR3tY6wK9"
    card = "4111 1111 1111 1111"
    assert httpx.get(svc.url + f"/v1/records/{api_key}", headers=svc.auth(key)).status_code == 404
    listed = httpx.get(svc.url + "/v1/memories/", params={"user_id": card}, headers=svc.auth(key))
    assert listed.status_code < 500
    assert _eventually(lambda: "MASKED%20key" in svc.log() and "MASKED+card" in svc.log())
    log = svc.log()
    assert api_key not in log and "ACCESSlog" not in log
    assert "4111" not in log.replace("%E2%80%A61111", "")
    assert "GET /v1/records/[MASKED%20key%20%E2%80%A6" in log  # the rest of the path kept


def test_a_query_value_whose_name_is_the_cue_is_masked_in_the_access_log(svc: Service) -> None:
    """``?password=...`` holds no secret in its value alone: the name is the cue."""
    key = svc.key()
    secrets = {"password": "Qw3rTy9UiOp1cue", "api_key": "Hx7Kp2Lm9Qz4cue"}
    asked = httpx.get(
        svc.url + "/v1/stats", params={"user_id": "cue-ana", **secrets}, headers=svc.auth(key)
    )
    assert asked.status_code < 500
    assert _eventually(lambda: "cue-ana" in svc.log())
    log = svc.log()
    assert not any(secret in log for secret in secrets.values())
    assert "password=%5BMASKED+password%5D" in log


def test_a_secret_a_body_names_is_masked_in_the_invalid_request_detail(svc: Service) -> None:
    """A 422 names what the body got wrong: a key it may not have, the tag of a content
    part. Either may be a secret the client put in the wrong place: masked in the detail."""
    key = svc.key()
    api_key = "sk-proj-DETAILnameQ7xZ2mN4pL8vR3tY6wK9"
    for body in (
        {"messages": "hi", "user_id": "ana", api_key: True},
        {"messages": [{"role": "user", "content": [{"type": api_key}]}], "user_id": "ana"},
    ):
        answer = httpx.post(svc.url + "/v1/process", json=body, headers=svc.auth(key))
        assert answer.status_code == 422
        assert "DETAILname" not in answer.text and "[MASKED key" in answer.json()["detail"]


def _eventually(test: Callable[[], bool], timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while not test():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_projects_beyond_the_open_limit_close_and_reopen(tmp_path: Path) -> None:
    env = {"OCTOMEM_SERVICE__MAX_OPEN_PROJECTS": "1"}
    with Service.start(tmp_path, env=env) as svc:
        keys = {p: svc.key(project=p) for p in ("tenant-one", "tenant-two")}
        with httpx.Client(base_url=svc.url, timeout=60) as http:
            for _ in range(2):
                for project, key in keys.items():
                    said = f"My project is {project}."
                    body = {"messages": said, "user_id": "u", "infer": False}
                    assert http.post("/v1/process", json=body, headers=svc.auth(key)).is_success
                    listed = http.get("/v1/records", params={"user_id": "u"}, headers=svc.auth(key))
                    assert {r["content"] for r in listed.json()} == {f"user: {said}"}
                    ready = http.get("/readyz")
                    assert ready.json()["open_projects"] == 1
                    assert "tenant" not in ready.text  # anyone may ask: no project is named
