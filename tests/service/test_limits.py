"""The limits that protect `octomem serve`, each answered before anything is written:
rate (429 + Retry-After), body size (413), messages / query / page (422 naming the limit),
saturation (503 + Retry-After) and the deadline (503).

One server with tight limits serves the module; each test uses keys of its own (a key's
bucket is its own) and, where it writes, a user of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.service.holding import Held
from tests.service_support import Service

LIMITS = {
    "OCTOMEM_SERVICE__RATE_LIMIT_PER_MINUTE": "3",
    "OCTOMEM_SERVICE__MAX_BODY_BYTES": "4096",
    "OCTOMEM_SERVICE__MAX_IMPORT_BYTES": "8192",
    "OCTOMEM_SERVICE__MAX_MESSAGES": "3",
    "OCTOMEM_SERVICE__MAX_QUERY_CHARS": "50",
    "OCTOMEM_SERVICE__MAX_PAGE_SIZE": "20",
    "OCTOMEM_SERVICE__MAX_CONCURRENT": "1",
    "OCTOMEM_SERVICE__DEADLINE_S": "6",
}
ROOMY = "100000"  # a key's own rate limit, for the tests that are not about rates


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with Service.start(tmp_path_factory.mktemp("limits"), env=LIMITS) as service:
        warm_up(service)
        yield service


def warm_up(service: Service) -> None:
    """Open the project's stores now, so no test's first request pays for it. Opening
    them takes 4-5 s here, more on a loaded machine: the first request may be cut by the
    6 s deadline (503), and the open goes on for the next one, which finds them."""
    headers = service.auth(service.key(rate_limit=ROOMY))
    for _ in range(10):
        warm = httpx.get(service.url + "/v1/stats", headers=headers, timeout=120)
        if warm.status_code != 503:
            break
        time.sleep(int(warm.headers["retry-after"]))
    assert warm.status_code == 200, warm.text


@pytest.fixture(scope="module")
def reader(svc: Service) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=svc.url, headers=svc.auth(svc.key(rate_limit=ROOMY)), timeout=60
    ) as http:
        yield http


def user() -> str:
    return "u-" + uuid.uuid4().hex[:8]


def stored(reader: httpx.Client, user_id: str) -> list[str]:
    """The contents of every memory of `user_id` (superseded ones too)."""
    answer = reader.get(
        "/v1/records", params={"user_id": user_id, "include_superseded": "true", "limit": 20}
    )
    assert answer.status_code == 200, answer.text
    return [record["content"] for record in answer.json()]


def problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = answer.json()
    assert body["status"] == status and body["request_id"] == answer.headers["x-request-id"]
    return body


def process(http: httpx.Client, user_id: str, text: str, **extra: object) -> httpx.Response:
    return http.post("/v1/process", json={"messages": text, "user_id": user_id, **extra})


# --- rate ------------------------------------------------------------------------------


def test_server_default_rate_limit_answers_429_with_retry_after_and_stores_nothing(
    svc: Service, reader: httpx.Client
) -> None:
    key, other = svc.key(), svc.key()  # no --rate-limit: the server's 3 a minute
    who = user()
    with httpx.Client(base_url=svc.url, headers=svc.auth(key), timeout=60) as http:
        for n in range(3):
            assert process(http, who, f"I have {n + 2} cats.").status_code == 200
        refused = process(http, who, "My favourite colour is teal.")
    body = problem(refused, 429)
    assert "3 requests a minute" in str(body["detail"])
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert not any("teal" in text for text in stored(reader, who))
    # another key of the same project is untouched by this one's bucket
    with httpx.Client(base_url=svc.url, headers=svc.auth(other), timeout=60) as http:
        assert process(http, who, "My favourite colour is teal.").status_code == 200
    assert any("teal" in text for text in stored(reader, who))


def test_a_keys_own_rate_limit_wins_over_the_default(svc: Service) -> None:
    tight, loose = svc.key(rate_limit="1"), svc.key(rate_limit="5")
    for key, allowed in ((tight, 1), (loose, 5)):
        with httpx.Client(base_url=svc.url, headers=svc.auth(key), timeout=60) as http:
            codes = [http.get("/v1/stats").status_code for _ in range(allowed + 1)]
        assert codes == [200] * allowed + [429], (key, codes)


# --- body ------------------------------------------------------------------------------


def test_a_body_over_max_body_bytes_is_413_with_or_without_content_length(
    svc: Service, reader: httpx.Client
) -> None:
    who = user()
    big = json.dumps({"messages": "I like jazz. " + "x" * 5000, "user_id": who}).encode()
    with httpx.Client(
        base_url=svc.url,
        headers={**svc.auth(svc.key(rate_limit=ROOMY)), "content-type": "application/json"},
        timeout=60,
    ) as http:
        declared = http.post("/v1/process", content=big)
        chunked = http.post(
            "/v1/process", content=iter([big[i : i + 1000] for i in range(0, 6000, 1000)])
        )
        unauthenticated = httpx.post(svc.url + "/v1/process", content=big)
    for answer in (declared, chunked, unauthenticated):
        body = problem(answer, 413)
        assert "4,096 bytes" in str(body["detail"])
    assert "content-length" in declared.request.headers
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert stored(reader, who) == []


def test_an_import_over_max_import_bytes_is_413_naming_that_limit(
    svc: Service, reader: httpx.Client
) -> None:
    """The import's body is streamed under its own cap: over it, declared or chunked, the
    answer is a 413 naming max_import_bytes' value (not max_body_bytes'), nothing imported."""
    who = user()
    line = {"kind": "memory", "memory_type": "semantic", "user_id": who, "content": "x" * 500}
    body = "\n".join(json.dumps(line) for _ in range(20)).encode()
    assert len(body) > 8192
    admin = svc.key(scopes="admin", rate_limit=ROOMY)
    headers = {**svc.auth(admin), "content-type": "application/x-ndjson"}
    with httpx.Client(base_url=svc.url, headers=headers, timeout=60) as http:
        declared = http.post("/v1/import", content=body)
        chunked = http.post(
            "/v1/import", content=iter([body[i : i + 1000] for i in range(0, len(body), 1000)])
        )
    for answer in (declared, chunked):
        detail = str(problem(answer, 413)["detail"])
        assert "8,192 bytes" in detail and "max_import_bytes" in detail
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert stored(reader, who) == []


# --- 422 limits ------------------------------------------------------------------------


def test_too_many_messages_a_long_query_or_a_large_page_is_422_naming_the_limit(
    reader: httpx.Client,
) -> None:
    who = user()
    turns = [{"role": "user", "content": f"I have {n} dogs."} for n in range(4)]
    many = reader.post("/v1/process", json={"messages": turns, "user_id": who})
    assert "the limit is 3" in str(problem(many, 422)["detail"])
    long = reader.post("/v1/recall", json={"query": "q" * 51, "user_id": who})
    assert "the limit is 50" in str(problem(long, 422)["detail"])
    for page in (
        reader.post("/v1/recall", json={"query": "dogs", "user_id": who, "limit": 21}),
        reader.get("/v1/records", params={"user_id": who, "limit": 21}),
    ):
        assert "page size limit of 20" in str(problem(page, 422)["detail"])
    assert stored(reader, who) == []


# --- saturation and deadline -----------------------------------------------------------


def hold_a_slot(
    url: str, headers: dict[str, str], probe: Callable[[], httpx.Response]
) -> tuple[Held, httpx.Response]:
    """An import whose body the client holds back, once it holds a work slot, and the
    `probe` (a read, which changes nothing) the server then refused (503). A probe that
    gets in first makes the import itself be refused: another is held."""
    held = Held(url, "/v1/import", headers, b"")
    for _ in range(600):
        answer = probe()
        if answer.status_code == 503:
            return held, answer
        assert answer.status_code == 200, answer.text
        if held.answered():
            held.close()
            held = Held(url, "/v1/import", headers, b"")
    held.close()
    raise AssertionError("the held import never held a slot")


def test_saturation_is_503_with_retry_after_and_the_deadline_503_both_storing_nothing(
    svc: Service, reader: httpx.Client
) -> None:
    """max_concurrent=1: an import whose body the client holds back keeps the one slot;
    every other request is refused at once (never queued), and the held import itself
    is cut at the deadline."""
    who = user()
    admin = svc.key(scopes="admin", rate_limit=ROOMY)
    headers = {**svc.auth(admin), "Content-Type": "application/x-ndjson"}
    held, probe = hold_a_slot(svc.url, headers, lambda: reader.get("/v1/stats"))
    try:
        busy = problem(probe, 503)
        assert busy["type"] == "https://octomem.dev/problems/busy"
        assert int(probe.headers["retry-after"]) >= 1
        write = process(reader, who, "I moved to Oslo.")
        assert problem(write, 503)["type"] == "https://octomem.dev/problems/busy"
        assert "retry-after" in write.headers
        status, body = held.answer()  # the client never finishes: the deadline cuts it
    finally:
        held.close()
    assert status == 503 and body["type"] == "https://octomem.dev/problems/deadline"
    assert "nothing was stored" in body["detail"]  # it was still reading its body
    assert stored(reader, who) == []
    assert reader.get("/v1/stats").status_code == 200  # the slot is free again


def test_one_key_cannot_take_the_slots_other_keys_need(tmp_path_factory) -> None:
    """max_concurrent=2, reserved_slots=1: a key with a request in flight (an import whose
    body it holds back) has used its share; its next request is refused at once (503
    busy), while another key's is served."""
    env = {
        "OCTOMEM_SERVICE__MAX_CONCURRENT": "2",
        "OCTOMEM_SERVICE__RESERVED_SLOTS": "1",
        "OCTOMEM_SERVICE__DEADLINE_S": "30",
    }
    with Service.start(tmp_path_factory.mktemp("share"), env=env) as service:
        greedy = service.key(scopes="admin", rate_limit=ROOMY)
        other = service.auth(service.key(rate_limit=ROOMY))
        headers = {**service.auth(greedy), "Content-Type": "application/x-ndjson"}
        with httpx.Client(base_url=service.url, timeout=60) as http:
            assert http.get("/v1/stats", headers=other).status_code == 200  # stores open
            held, probe = hold_a_slot(
                service.url, headers, lambda: http.get("/v1/stats", headers=service.auth(greedy))
            )
            try:
                assert "of one key" in problem(probe, 503)["detail"]
                assert "retry-after" in probe.headers
                served = http.get("/v1/stats", headers=other)
                assert served.status_code == 200, served.text
            finally:
                held.close()
