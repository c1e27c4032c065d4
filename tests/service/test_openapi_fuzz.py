"""schemathesis over every route of a real `octomem serve`, with an admin key of its own
project: no 5xx, every response documented (status, content type, headers) and matching
its schema, no schema-violating request accepted, and no route but the public ones
answering without a valid key.

Bounded for CI: derandomized generation (the same cases every run) and `MAX_EXAMPLES` per
operation and generation mode; the whole file runs in about two minutes on two cores.
A failure prints the case and a curl line that replays it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from octomem.service.app import PUBLIC, create_app
from octomem.settings import load_settings
from tests.service_support import Service

MAX_EXAMPLES = 150
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
    unsupported_method,
]
USER = "fuzz-user"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """/v1/import's body: whatever was generated, as text (mostly not an export: the
    import must refuse it with a 4xx, never a 5xx)."""
    return value.encode() if isinstance(value, str) else str(value).encode()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with Service.start(tmp_path_factory.mktemp("fuzz")) as service:
        yield service


@pytest.fixture(scope="module")
def admin(svc: Service) -> str:
    return svc.key(scopes="read,write,delete,admin", rate_limit="1000000")


@pytest.fixture(scope="module", autouse=True)
def memory_ids(svc: Service, admin: str) -> list[str]:
    """Memories the {memory_id} routes can find (else every case is a 404)."""
    answer = httpx.post(
        svc.url + "/v1/process",
        headers=svc.auth(admin),
        json={"messages": "I live in Lisbon and I work as a baker.", "user_id": USER},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    SEEDED[:] = [*body["turn_memory_ids"], *(op["memory_id"] for op in body["operations"])]
    return SEEDED


def _document() -> dict[str, Any]:
    """The OpenAPI document `octomem serve` answers (checked against the served one
    below), built in-process: the cases are generated when the tests are collected,
    before the server runs. (schemathesis's lazy `from_fixture` does not run on pytest 9.2.)"""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(load_settings(data_dir=Path(tmp)))
        doc = app.openapi()
        app.state.octomem.audit.close()
    return doc


DOCUMENT = _document()
SEEDED: list[str] = []
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


@schema.hook
def flatmap_path_parameters(ctx: Any, params: dict[str, Any] | None) -> Any:
    """Most {memory_id} cases name a memory that exists."""
    if not params or "memory_id" not in params or not SEEDED:
        return st.just(params)
    return st.sampled_from([params, *({**params, "memory_id": i} for i in SEEDED)])


@schema.parametrize()
def test_every_route_answers_as_documented(
    case: schemathesis.Case, svc: Service, admin: str
) -> None:
    case.call_and_validate(
        base_url=svc.url, headers={"Authorization": f"Token {admin}"}, checks=CHECKS
    )


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            yield path, method.upper(), operation


def test_document_is_openapi_31_with_security_schemes_and_docs(svc: Service) -> None:
    doc = httpx.get(svc.url + "/openapi.json").json()
    assert doc == DOCUMENT  # what the cases were generated from
    assert doc["openapi"].startswith("3.1")
    assert set(doc["components"]["securitySchemes"]) == {"token", "bearer"}
    for path, _, operation in _operations(doc):
        assert ("security" in operation) == (path not in PUBLIC), path
    docs = httpx.get(svc.url + "/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert "/openapi.json" in docs.text


def test_every_private_route_refuses_no_key_and_wrong_keys(svc: Service, admin: str) -> None:
    """401 problem, before the route runs, whatever the body: no key, a forged secret of
    a real key id, an unknown key, a malformed header, a token that is not one."""
    doc = httpx.get(svc.url + "/openapi.json").json()
    forged = admin[:-4] + ("AAAA" if not admin.endswith("AAAA") else "BBBB")
    wrong = [
        {},
        svc.auth(forged),
        svc.auth("om_0000000000000000_" + "x" * 43),
        svc.auth(admin, scheme="Basic"),
        svc.auth("not-a-jwt", scheme="Bearer"),
    ]
    checked = 0
    with httpx.Client(base_url=svc.url, timeout=30) as http:
        for path, method, operation in _operations(doc):
            if "security" not in operation:
                continue
            url = re.sub(r"\{[^}]+\}", "m-1", path)
            for headers in wrong:
                answer = http.request(method, url, headers=headers, json={"user_id": USER})
                assert answer.status_code == 401, (method, path, headers, answer.text)
                # as documented: mem0's routes send problems as application/json (mem0's
                # client reads an error's detail from that type only)
                problem = next(iter(operation["responses"]["401"]["content"]))
                assert answer.headers["content-type"] == problem, (method, path)
                assert answer.json()["status"] == 401
                assert answer.headers["www-authenticate"].startswith("Bearer")
            checked += 1
    assert checked >= 20  # every /v1 route and mem0's


def test_405_lists_every_method_of_the_path(svc: Service, admin: str) -> None:
    answer = httpx.put(svc.url + "/v1/records/m-1", headers=svc.auth(admin))
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert set(answer.headers["allow"].split(", ")) == {"DELETE", "GET", "PATCH"}


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_method_the_page_path_lacks_is_405_not_a_memory_called_page(
    svc: Service, admin: str, method: str
) -> None:
    answer = httpx.request(method, svc.url + "/v1/records/page", headers=svc.auth(admin), json={})
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == "GET"
