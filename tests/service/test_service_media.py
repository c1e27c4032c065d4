"""Images, PDFs and documents in the messages of a real `octomem serve`: through /v1/process,
mem0's own client (`MemoryClient.add`) and MCP at /mcp (the SDK's client), then found by
/v1/recall. A remote caller never makes the server read its own files (`media.local_files`
is forced off, whatever the configuration says), private addresses are never fetched,
and the body cap bounds base64 payloads."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.media_files import data_url, make_pdf, needs
from tests.service.mcp_support import data, error, mcp_session
from tests.service_support import Service

MAX_BODY = 200_000
PAGES = ["Travel plan\nThe offsite is in Zanzibar in March", "Budget\nThe budget is 4200 euros"]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    needs("pypdf")
    env = {
        # what an operator might configure: the service must still refuse local paths
        "OCTOMEM_MEDIA__LOCAL_FILES": "true",
        # fetching on, for http too, so a private address is refused for being private
        "OCTOMEM_MEDIA__FETCH__ENABLED": "true",
        "OCTOMEM_MEDIA__FETCH__SCHEMES": '["http", "https"]',
        "OCTOMEM_SERVICE__MAX_BODY_BYTES": str(MAX_BODY),
    }
    with Service.start(tmp_path_factory.mktemp("svc-media"), env=env) as service:
        yield service


@pytest.fixture(scope="module")
def key(svc: Service) -> str:
    return svc.key(scopes="read,write,delete")


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file on the server's host that no caller may have read."""
    path = tmp_path_factory.mktemp("host") / "host-secret.md"
    path.write_text("# Host notes\n\nThe vault code is quokka-7731.\n")
    return path


def uid() -> str:
    return "u-" + uuid.uuid4().hex[:8]


def pdf_url() -> str:
    return data_url(make_pdf(PAGES), "application/pdf")


def process(svc: Service, key: str, content: Any, user: str) -> httpx.Response:
    return httpx.post(
        svc.url + "/v1/process",
        headers=svc.auth(key),
        json={"messages": [{"role": "user", "content": content}], "user_id": user},
        timeout=120,
    )


def recalled(svc: Service, key: str, query: str, user: str) -> list[str]:
    answer = httpx.post(
        svc.url + "/v1/recall",
        headers=svc.auth(key),
        json={"query": query, "user_id": user, "limit": 10},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return [hit["memory"]["content"] for hit in answer.json()["hits"]]


def listed(svc: Service, key: str, user: str) -> list[Any]:
    answer = httpx.get(
        svc.url + "/v1/records", headers=svc.auth(key), params={"user_id": user}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_a_pdf_as_a_data_url_is_read_and_recalled(svc: Service, key: str) -> None:
    user = uid()
    content = [
        {"type": "text", "text": "Here is the plan for the offsite."},
        {"type": "file", "file": {"file_data": pdf_url(), "filename": "offsite.pdf"}},
    ]
    answer = process(svc, key, content, user)
    assert answer.status_code == 200, answer.text
    assert answer.json()["operations"]
    rid = answer.headers["x-request-id"]
    (line,) = svc.audit_lines(lambda line: line["request_id"] == rid, count=1)
    assert line["counts"]["attachments"] == 1  # a number; never the file's text
    assert "Zanzibar" not in json.dumps(line)
    assert any("Zanzibar" in text for text in recalled(svc, key, "where is the offsite?", user))
    assert any("4200 euros" in text for text in recalled(svc, key, "what is the budget?", user))


def test_mem0_client_sends_a_pdf_and_a_base64_document(
    svc: Service, key: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ.setdefault("MEM0_DIR", str(tmp_path_factory.mktemp("mem0-home")))
    mem0: ModuleType = pytest.importorskip("mem0")
    client = mem0.MemoryClient(api_key=key, host=svc.url)
    user = uid()
    # mem0's shapes: one part as the whole content; a PDF by URL (here a data: URL), a
    # text document as bare base64 (how mem0's docs send a local file)
    answer = client.add(
        [
            {"role": "user", "content": "My documents."},
            {"role": "user", "content": {"type": "pdf_url", "pdf_url": {"url": pdf_url()}}},
            {
                "role": "user",
                "content": {
                    "type": "mdx_url",
                    "mdx_url": {
                        "url": base64.b64encode(
                            b"# Pets\n\nMy tortoise is called Bartholomew."
                        ).decode()
                    },
                },
            },
        ],
        filters={"user_id": user},
    )
    assert answer["status"] == "SUCCEEDED" and answer["results"]
    found = client.search("where is the offsite?", filters={"user_id": user}, top_k=10)
    assert any("Zanzibar" in item["memory"] for item in found["results"])
    assert any("Bartholomew" in text for text in recalled(svc, key, "tortoise name", user))

    from mem0.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:  # 422, as mem0 raises it
        client.add(
            [{"role": "user", "content": {"type": "pdf_url", "pdf_url": {"url": "/etc/passwd"}}}],
            filters={"user_id": user},
        )
    assert "not read here" in str(caught.value)


@pytest.mark.parametrize(
    "part",
    [
        lambda p: {"type": "image_url", "image_url": {"url": "/etc/passwd"}},
        lambda p: {"type": "image_url", "image_url": {"url": str(p)}},
        lambda p: {"type": "file", "file": {"url": p.as_uri(), "filename": "x.md"}},
        lambda p: {"type": "mdx_url", "mdx_url": {"url": "file:///etc/passwd"}},
        lambda p: {"type": "input_file", "file_url": p.as_uri()},
        lambda p: {"type": "image", "url": "file:///etc/hostname"},
    ],
    ids=["path", "existing-path", "file-url", "mdx-file-url", "input-file", "langchain"],
)
def test_a_local_path_or_file_url_is_refused(
    svc: Service, key: str, secret_file: Path, part: Any
) -> None:
    user = uid()
    answer = process(svc, key, [{"type": "text", "text": "read this"}, part(secret_file)], user)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert "local file paths and file:// URLs are not read here" in problem["detail"]
    assert "quokka" not in answer.text
    assert listed(svc, key, user) == []  # nothing stored


def test_a_path_key_of_a_file_part_is_not_in_the_schema(
    svc: Service, key: str, secret_file: Path
) -> None:
    part = {"type": "file", "file": {"path": str(secret_file)}}
    answer = process(svc, key, [part], uid())
    assert answer.status_code == 422 and "quokka" not in answer.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/report.pdf",
        "http://10.1.2.3/report.pdf",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/report.pdf",
    ],
)
def test_a_private_address_is_never_fetched(svc: Service, key: str, url: str) -> None:
    user = uid()
    answer = process(svc, key, {"type": "pdf_url", "pdf_url": {"url": url}}, user)
    assert answer.status_code == 422, answer.text
    assert "private" in answer.json()["detail"]
    assert listed(svc, key, user) == []


def test_a_base64_payload_over_the_body_cap_is_refused(svc: Service, key: str) -> None:
    user = uid()
    big = make_pdf(PAGES) + b"%" + b"x" * MAX_BODY  # a PDF with a long trailing comment
    answer = process(svc, key, {"type": "pdf_url", "pdf_url": {"url": data_url(big, "a/b")}}, user)
    assert answer.status_code == 413, answer.text
    assert listed(svc, key, user) == []


def test_an_unknown_part_type_or_key_is_refused_by_the_schema(svc: Service, key: str) -> None:
    for part in (
        {"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}},
        {"type": "image_url", "image_url": {"url": pdf_url(), "path": "/etc/passwd"}},
    ):
        answer = process(svc, key, [part], uid())
        assert answer.status_code == 422, answer.text


async def test_mcp_process_conversation_takes_parts_but_no_paths(
    svc: Service, key: str, secret_file: Path
) -> None:
    user = uid()
    async with mcp_session(svc.url, f"Bearer {key}") as session:
        stored = data(
            await session.call_tool(
                "process_conversation",
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "The plan."},
                                {"type": "image_url", "image_url": {"url": pdf_url()}},
                            ],
                        }
                    ],
                    "user_id": user,
                },
            )
        )
        assert stored["operations"]
        found = data(
            await session.call_tool("search_memories", {"query": "offsite", "user_id": user})
        )
        assert any("Zanzibar" in hit["memory"] for hit in found["results"])

        for url in (str(secret_file), secret_file.as_uri()):
            message = error(
                await session.call_tool(
                    "process_conversation",
                    {
                        "messages": [
                            {
                                "role": "user",
                                "content": {"type": "mdx_url", "mdx_url": {"url": url}},
                            }
                        ],
                        "user_id": user,
                    },
                )
            )
            assert "InvalidInputError" in message and "not read here" in message
            assert "quokka" not in message


def test_with_the_default_configuration_nothing_remote_or_local_is_read(
    tmp_path: Path, secret_file: Path
) -> None:
    """Defaults: `media.local_files` is on for the library, yet off in the service;
    fetching is off, so a public URL is refused before any lookup."""
    needs("pypdf")
    with Service.start(tmp_path) as default:
        key = default.key(scopes="read,write")
        user = uid()
        for url, says in (
            ("https://example.com/report.pdf", "fetching is off"),
            (str(secret_file), "not read here"),
            (secret_file.as_uri(), "not read here"),
        ):
            answer = process(default, key, {"type": "pdf_url", "pdf_url": {"url": url}}, user)
            assert answer.status_code == 422, answer.text
            assert says in answer.json()["detail"] and "quokka" not in answer.text
        assert listed(default, key, user) == []
        stored = process(default, key, {"type": "pdf_url", "pdf_url": {"url": pdf_url()}}, user)
        assert stored.status_code == 200, stored.text


def test_another_projects_orchestrator_refuses_local_files_too(
    svc: Service, secret_file: Path
) -> None:
    """Each project opens its own Orchestrator, from the service's settings: local files
    stay off in every one of them."""
    other = svc.key(project="acme", scopes="read,write")
    user = uid()
    answer = process(svc, other, {"type": "mdx_url", "mdx_url": {"url": str(secret_file)}}, user)
    assert answer.status_code == 422 and "not read here" in answer.json()["detail"]
    assert process(svc, other, {"type": "pdf_url", "pdf_url": {"url": pdf_url()}}, user).is_success
