"""OAuth2 client credentials on a real `octomem serve` (RFC 6749 section 4.4): a key's id
and secret exchange at /oauth/token for a signed JWT that works as a Bearer token on /v1
and /mcp, never with more than its key, and not past its expiry, its key's revocation or
the rotation of its signing secret."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from octomem.service.auth import AUDIENCE, ISSUER
from tests.service.mcp_support import data, mcp_session
from tests.service_support import Service, octomem

SECRET = "test-signing-secret-" + "s" * 24
NEXT_SECRET = "next-signing-secret-" + "n" * 24
OTHER_SECRET = "someone-elses-secret-" + "o" * 24


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    env = {"OCTOMEM_SERVICE__JWT_SECRET": SECRET}
    with Service.start(tmp_path_factory.mktemp("svc-oauth"), env=env) as service:
        yield service


def exchange(svc: Service, key: str, **form: str) -> httpx.Response:
    """client_credentials with the key's id and secret as form fields."""
    fields = {"grant_type": "client_credentials", "client_id": svc.key_id(key)}
    return httpx.post(
        svc.url + "/oauth/token", data={**fields, "client_secret": key, **form}, timeout=30
    )


def token_of(svc: Service, key: str, **form: str) -> str:
    answer = exchange(svc, key, **form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def records(svc: Service, token: str, user: str = "oauth-user") -> httpx.Response:
    return httpx.get(
        svc.url + "/v1/records", params={"user_id": user}, headers=bearer(token), timeout=60
    )


def forge(secret: str, sub: str, *, exp_in: int = 600, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "scope": "read write delete",
        "iat": now,
        "exp": now + exp_in,
        **claims,
    }
    return jwt.encode(body, secret, algorithm="HS256")


def refused(answer: httpx.Response, status: int, error: str) -> str:
    """An RFC 6749 section 5.2 error: its description."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] == error and body["request_id"] == answer.headers["x-request-id"]
    assert answer.headers["cache-control"] == "no-store"
    if status == 401:
        assert answer.headers["www-authenticate"].startswith("Basic")
    return str(body["error_description"])


async def test_form_credentials_give_a_token_for_v1_and_mcp(svc: Service) -> None:
    key = svc.key()
    answer = exchange(svc, key)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 900
    assert body["scope"] == "read write delete"
    token = body["access_token"]

    stored = httpx.post(
        svc.url + "/v1/process",
        json={"messages": "I live in Lisbon.", "user_id": "oauth-user"},
        headers=bearer(token),
        timeout=60,
    )
    assert stored.status_code == 200, stored.text
    assert records(svc, token).json()
    async with mcp_session(svc.url, f"Bearer {token}") as session:
        listed = data(await session.call_tool("list_memories", {"user_id": "oauth-user"}))
        assert any("Lisbon" in m["memory"] for m in listed["results"])
    audit = [line for line in svc.audit_lines() if line["key_id"] == svc.key_id(key)]
    assert {"/oauth/token", "/v1/process", "/mcp"} <= {line["route"] for line in audit}
    assert token not in (svc.data_dir / "service" / "audit.log").read_text()


def test_http_basic_credentials_give_a_token(svc: Service) -> None:
    key = svc.key(scopes="read")
    basic = base64.b64encode(f"{svc.key_id(key)}:{key}".encode()).decode()
    answer = httpx.post(
        svc.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "read"
    assert records(svc, answer.json()["access_token"]).status_code == 200


def test_wrong_or_missing_credentials_are_invalid_client(svc: Service) -> None:
    key, other = svc.key(), svc.key()
    url = svc.url + "/oauth/token"
    grant = {"grant_type": "client_credentials"}
    for form in (
        {"client_id": svc.key_id(key), "client_secret": other},  # another key's secret
        {"client_id": "0" * 16, "client_secret": key},  # unknown client
        {"client_id": svc.key_id(key), "client_secret": key[:-1]},
        {"client_id": svc.key_id(key)},  # no secret
        {},
    ):
        refused(httpx.post(url, data={**grant, **form}), 401, "invalid_client")
    bad_basic = {"Authorization": "Basic !!notbase64"}
    refused(httpx.post(url, data=grant, headers=bad_basic), 401, "invalid_client")


def test_malformed_requests_are_refused_in_oauth_terms(svc: Service) -> None:
    key = svc.key()
    url = svc.url + "/oauth/token"
    refused(exchange(svc, key, grant_type="password"), 400, "unsupported_grant_type")
    no_grant = {"client_id": svc.key_id(key), "client_secret": key}
    assert "grant_type" in refused(httpx.post(url, data=no_grant), 400, "invalid_request")
    as_json = {"grant_type": "client_credentials", **no_grant}
    refused(httpx.post(url, json=as_json), 400, "invalid_request")
    twice = f"grant_type=client_credentials&client_id={svc.key_id(key)}&client_secret={key}"
    refused(
        httpx.post(
            url,
            content=twice + "&scope=read&scope=write",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        400,
        "invalid_request",
    )
    basic = base64.b64encode(f"{svc.key_id(key)}:{key}".encode()).decode()
    both = httpx.post(url, data=as_json, headers={"Authorization": f"Basic {basic}"})
    assert "one way" in refused(both, 400, "invalid_request")


def test_scopes_narrow_never_widen(svc: Service) -> None:
    key = svc.key(scopes="read,write")
    narrow = exchange(svc, key, scope="read")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "read"
    token = narrow.json()["access_token"]
    assert records(svc, token).status_code == 200
    write = httpx.post(
        svc.url + "/v1/process",
        json={"messages": "I live in Oslo.", "user_id": "narrow-user"},
        headers=bearer(token),
        timeout=60,
    )
    assert write.status_code == 403
    assert records(svc, token, "narrow-user").json() == []

    refused(exchange(svc, key, scope="read delete"), 400, "invalid_scope")
    refused(exchange(svc, key, scope="root"), 400, "invalid_scope")
    # a forged token claiming more than its key gets only what its key holds
    wide = forge(SECRET, svc.key_id(svc.key(scopes="read")), scope="read write admin")
    denied = httpx.post(
        svc.url + "/v1/process",
        json={"messages": "I live in Oslo.", "user_id": "narrow-user"},
        headers=bearer(wide),
        timeout=60,
    )
    assert denied.status_code == 403
    # admin holds every scope, so it may narrow to any of them
    admin = svc.key(scopes="admin")
    assert exchange(svc, admin, scope="read").json()["scope"] == "read"


def test_a_revoked_keys_token_fails_its_next_request(svc: Service) -> None:
    key = svc.key()
    token = token_of(svc, key)
    assert records(svc, token).status_code == 200
    octomem("keys", "revoke", svc.key_id(key), env=svc.env)
    assert records(svc, token).status_code == 401
    refused(exchange(svc, key), 401, "invalid_client")


def test_expired_forged_and_unsigned_tokens_are_401(svc: Service) -> None:
    sub = svc.key_id(svc.key())
    assert records(svc, forge(SECRET, sub)).status_code == 200  # the forge is right
    expired = records(svc, forge(SECRET, sub, exp_in=-3600))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert records(svc, forge(OTHER_SECRET, sub)).status_code == 401
    assert records(svc, forge(SECRET, sub, aud="someone-else")).status_code == 401
    assert records(svc, forge(SECRET, sub, iss="someone-else")).status_code == 401
    unsigned = jwt.encode({"sub": sub, "aud": AUDIENCE, "iss": ISSUER}, None, algorithm="none")
    assert records(svc, unsigned).status_code == 401
    no_exp = jwt.encode({"sub": sub, "aud": AUDIENCE, "iss": ISSUER, "iat": 1}, SECRET)
    assert records(svc, no_exp).status_code == 401


def test_rotation_keeps_tokens_of_a_previous_secret(tmp_path: Path) -> None:
    with Service.start(tmp_path, env={"OCTOMEM_SERVICE__JWT_SECRET": SECRET}) as first:
        key = first.key()
        old = token_of(first, key)
    rotated = {
        "OCTOMEM_SERVICE__JWT_SECRET": NEXT_SECRET,
        "OCTOMEM_SERVICE__JWT_PREVIOUS_SECRETS": f'["{SECRET}"]',
    }
    with Service.start(tmp_path, env=rotated) as svc:
        assert records(svc, old).status_code == 200
        new = token_of(svc, key)
        assert jwt.decode(new, NEXT_SECRET, algorithms=["HS256"], audience=AUDIENCE)
        assert records(svc, new).status_code == 200
        assert records(svc, forge(OTHER_SECRET, svc.key_id(key))).status_code == 401


def test_oauth_off_answers_clearly(tmp_path: Path) -> None:
    with Service.start(tmp_path) as svc:
        key = svc.key()
        description = refused(exchange(svc, key), 400, "unsupported_grant_type")
        assert "OAuth2 is off" in description and "jwt_secret" in description
        assert records(svc, forge(SECRET, svc.key_id(key))).status_code == 401
        assert records(svc, key).status_code == 200  # the key itself still works
