"""The service's edges a mem0 platform user meets: what `add` answers, date filters that
are not dates, pagination links, an update that only clears an expiry, empty keys,
two Authorization headers, a pinned key's forget, and the audit line's user id."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.service_support import Service


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with Service.start(tmp_path_factory.mktemp("svc")) as service:
        yield service


@pytest.fixture(scope="module")
def http(svc: Service) -> Iterator[httpx.Client]:
    key = svc.key(scopes="read,write,delete")
    with httpx.Client(base_url=svc.url, headers=svc.auth(key), timeout=60) as client:
        yield client


def _user() -> str:
    return "u-" + uuid.uuid4().hex[:8]


def _add(http: httpx.Client, user: str, text: str, **body: Any) -> list[dict[str, Any]]:
    answer = http.post(
        "/v3/memories/add/",
        json={"messages": [{"role": "user", "content": text}], "user_id": user, **body},
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def _listed(http: httpx.Client, user: str, **params: Any) -> httpx.Response:
    return http.post("/v3/memories/", json={"filters": {"user_id": user}}, params=params)


def test_add_answers_every_memory_it_wrote(http: httpx.Client) -> None:
    user = _user()
    texts = [
        "Sounds good to me.",
        "I live in Lisbon.",
        "Thanks, that helps a lot!",
        "See you tomorrow.",
    ]
    for text in texts:
        added = _add(http, user, text)
        assert added, f"add of {text!r} answered nothing"
        [turn] = [i for i in added if i["memory_type"] == "episodic" and i["memory"] == text]
        assert turn["event"] == "ADD"
    listed = {i["id"] for i in _listed(http, user).json()["results"]}
    again = _add(http, user, "I live in Lisbon.", infer=False)
    assert {i["id"] for i in again} <= listed and {i["event"] for i in again} == {"NONE"}


@pytest.mark.parametrize("bound", ["notadate", "2026", 1767225600, "tomorrow"])
def test_a_date_filter_that_is_not_a_date_is_422(http: httpx.Client, bound: Any) -> None:
    answer = http.post(
        "/v3/memories/", json={"filters": {"user_id": "ana", "created_at": {"gte": bound}}}
    )
    assert answer.status_code == 422, answer.text
    assert "created_at" in answer.json()["detail"]


def test_a_real_date_filter_reads(http: httpx.Client) -> None:
    user = _user()
    _add(http, user, "Note: water the plants", infer=False)
    for bound, count in (("2020-01-01", 1), ("2999-01-01T00:00:00Z", 0)):
        answer = http.post(
            "/v3/memories/", json={"filters": {"user_id": user, "created_at": {"gte": bound}}}
        )
        assert answer.status_code == 200 and answer.json()["count"] == count


def test_page_links_never_come_from_the_host_header(http: httpx.Client) -> None:
    user = _user()
    for n in range(3):
        _add(http, user, f"Note {n}: buy stamps", infer=False)
    page = http.post(
        "/v3/memories/",
        json={"filters": {"user_id": user}},
        params={"page": 2, "page_size": 1},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    ).json()
    assert page["next"] == "/v3/memories/?page=3&page_size=1"
    assert page["previous"] == "/v3/memories/?page=1&page_size=1"
    followed = http.post(page["next"], json={"filters": {"user_id": user}}).json()
    assert followed["next"] is None and len(followed["results"]) == 1


def test_update_that_only_clears_an_expiry_changes_nothing(http: httpx.Client) -> None:
    user = _user()
    [item] = _add(http, user, "Buy oat milk", infer=False)
    before = http.get(f"/v1/memories/{item['id']}/").json()
    answer = http.put(f"/v1/memories/{item['id']}/", json={"expiration_date": None})
    assert answer.status_code == 200, answer.text
    assert http.get(f"/v1/memories/{item['id']}/").json() == before
    refused = http.put(f"/v1/memories/{item['id']}/", json={"expiration_date": "2030-01-01"})
    assert refused.status_code == 422
    assert http.put(f"/v1/memories/{item['id']}/", json={}).status_code == 422
    missing = http.put("/v1/memories/epi_" + "0" * 24 + "/", json={"expiration_date": None})
    assert missing.status_code == 404


def test_empty_keys_are_left_out(http: httpx.Client) -> None:
    user = _user()
    [item] = _add(http, user, "Buy bread", infer=False)
    got = http.get(f"/v1/memories/{item['id']}/").json()
    assert "metadata" not in got and got["memory"] == "Buy bread"
    [listed] = _listed(http, user).json()["results"]
    assert "metadata" not in listed and None not in listed.values()


def test_two_authorization_headers_are_refused(svc: Service) -> None:
    mine, other = svc.key(), svc.key(project="other")
    answer = httpx.get(
        svc.url + "/v1/records",
        params={"user_id": "ana"},
        headers=[("Authorization", f"Token {mine}"), ("Authorization", f"Token {other}")],
    )
    assert answer.status_code == 401
    assert "one Authorization header" in answer.json()["detail"]


def test_a_pinned_key_forgets_its_user_without_naming_it(svc: Service) -> None:
    user = _user()
    pinned = svc.key(scopes="read,write,delete", user=user)
    with httpx.Client(base_url=svc.url, headers=svc.auth(pinned), timeout=60) as http:
        _add(http, user, "I live in Porto.")
        forgot = http.post("/v1/forget", json={})
        assert forgot.status_code == 200, forgot.text
        assert sum(forgot.json()["memories"].values()) > 0
        assert _listed(http, user).json()["count"] == 0


def test_a_secret_shaped_user_id_is_masked_in_the_audit_line(svc: Service) -> None:
    key = svc.key()
    user = "AKIAIOSFODNN7EXAMPLE"  # AWS's published example key
    with httpx.Client(base_url=svc.url, headers=svc.auth(key), timeout=60) as http:
        asked = http.get("/v1/records", params={"user_id": user}, headers={"X-Request-ID": "r-ak"})
        assert asked.status_code == 200
    [line] = svc.audit_lines(lambda x: x["request_id"] == "r-ak", count=1)
    assert user not in str(line) and "[MASKED" in line["user_id"]


def test_a_request_id_that_holds_a_secret_is_not_taken(svc: Service) -> None:
    """The audit log keeps a request's id: one that holds a secret is replaced, as an id
    that is not of the allowed shape is."""
    key = svc.key()
    given = "AKIAQZ7XK3MPL9WR4TBN"
    with httpx.Client(base_url=svc.url, headers=svc.auth(key), timeout=60) as http:
        asked = http.get(
            "/v1/records", params={"user_id": "rid-ana"}, headers={"X-Request-ID": given}
        )
        assert asked.status_code == 200
        assert asked.headers["x-request-id"] != given
    [line] = svc.audit_lines(lambda x: x["user_id"] == "rid-ana", count=1)
    assert given not in str(line) and line["request_id"] == asked.headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [
        ("POST", "/v1/exports/", "GET /v1/export"),
        ("POST", "/v1/summary/", "summaries"),
        ("POST", "/v1/feedback/", "feedback"),
        ("GET", "/v2/entities/user/ana/profile/", "core block"),
        ("GET", "/api/v1/webhooks/projects/p1/", "octomem keys"),
    ],
)
def test_what_mem0s_client_may_call_but_is_not_served_is_501(
    http: httpx.Client, method: str, path: str, named: str
) -> None:
    answer = http.request(method, path, json={})
    assert answer.status_code == 501, answer.text
    assert answer.headers["content-type"].startswith("application/json")  # mem0's client reads it
    assert named in answer.json()["detail"]


def test_unserved_routes_still_need_a_key(svc: Service) -> None:
    assert httpx.post(svc.url + "/v1/summary/", json={}).status_code == 401


def test_a_batch_refused_anywhere_changes_nothing(http: httpx.Client) -> None:
    user = _user()
    [one] = _add(http, user, "Buy stamps", infer=False)
    [two] = _add(http, user, "Buy bread", infer=False)
    refused = http.put(
        "/v1/batch/",
        json={
            "memories": [
                {"memory_id": one["id"], "text": "Buy stamps and envelopes"},
                {"memory_id": two["id"], "metadata": {}},  # nothing to update
            ]
        },
    )
    assert refused.status_code == 422, refused.text
    assert http.get(f"/v1/memories/{one['id']}/").json()["memory"] == "Buy stamps"


def test_a_batch_delete_of_a_fact_and_its_view_deletes_both(http: httpx.Client) -> None:
    user = _user()
    _add(http, user, "I work at Initech.")
    listed = _listed(http, user).json()["results"]
    [view] = [i for i in listed if i.get("memory_type") == "knowledge"]
    fact = view["derived_from"]
    answer = http.request(
        "DELETE", "/v1/batch/", json={"memories": [{"memory_id": view["id"]}, {"memory_id": fact}]}
    )
    assert answer.status_code == 200, answer.text
    for memory_id in (view["id"], fact):
        assert http.get(f"/v1/memories/{memory_id}/").status_code == 404


def test_deleting_a_run_reaches_its_memories_stored_without_a_user(
    svc: Service, http: httpx.Client
) -> None:
    """`delete_users(run_id=)` deletes the run's memories of every user and of every agent
    that stored some without a user; another run's, and a pinned key's reach, are kept."""
    run, other, user = f"run-{uuid.uuid4().hex[:6]}", f"run-{uuid.uuid4().hex[:6]}", _user()
    turn = [{"role": "user", "content": "Remember the build is green."}]
    stored = [
        {"agent_id": "bot", "run_id": run},
        {"agent_id": "helper", "run_id": run},
        {"user_id": user, "run_id": run},
        {"agent_id": "bot", "run_id": other},
    ]
    for scope in stored:
        answer = http.post("/v3/memories/add/", json={"messages": turn, "infer": False, **scope})
        assert answer.status_code == 200, answer.text

    def left(**filters: str) -> list[dict[str, Any]]:
        answer = http.post("/v3/memories/", json={"filters": filters})
        assert answer.status_code == 200, answer.text
        return list(answer.json()["results"])

    pinned = svc.key(scopes="read,write,delete", user=user)
    with httpx.Client(base_url=svc.url, headers=svc.auth(pinned), timeout=60) as mine:
        assert mine.delete(f"/v2/entities/run/{run}/").status_code == 200
    assert left(agent_id="bot", run_id=run) and left(agent_id="helper", run_id=run)
    assert left(user_id=user, run_id=run) == []  # the pinned user's only

    answer = http.delete(f"/v2/entities/run/{run}/")
    assert answer.status_code == 200, answer.text
    assert "(2)" in answer.json()["message"]
    assert left(agent_id="bot", run_id=run) == [] and left(agent_id="helper", run_id=run) == []
    assert len(left(agent_id="bot", run_id=other)) == 1  # another run's: kept
