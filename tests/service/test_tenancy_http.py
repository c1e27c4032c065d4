"""Tenancy and keys over /v1, against a real `octomem serve`.

Project B's key sees project A's memory ids and user ids exactly as unknown ones (same
status, same problem body) and changes nothing in A; a pinned key reaches its user only;
keys created, revoked or expired while the server runs count from the next request, and
a key's name is stored masked; scopes hold on every route; hostile ids, user ids and
filters leak nothing and never 500; interleaved callers of two projects and several users
each end with exactly their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from octomem.embeddings import CachedEmbedder, Embedder
from octomem.service import pool
from octomem.service.app import create_app
from octomem.service.keys import KeyStore, key_id_of, keys_path
from octomem.settings import Settings, load_settings
from tests.service_support import Service, octomem

PROJECTS = "project" in Settings.model_fields  # several projects per data directory
A = "alpha" if PROJECTS else "default"
B = "beta"
needs_projects = pytest.mark.skipif(not PROJECTS, reason="needs Settings.project")
SEED = {
    (A, "ana"): ["I live in Lisbon.", "My dog is called Rex."],
    (A, "bob"): ["I work as a baker.", "My favourite colour is green."],
}
if PROJECTS:
    SEED[(B, "ana")] = ["I live in Oslo."]


@dataclass
class World:
    svc: Service
    keys: dict[str, str]  # name -> key
    ids: dict[tuple[str, str], list[str]]  # (project, user) -> memory ids

    def client(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.svc.url, headers=self.svc.auth(self.keys[name]))


def make_key(data_dir: Path, **options: Any) -> str:
    """A key made through the KeyStore API (faster than the CLI; same table)."""

    async def create() -> str:
        store = KeyStore(data_dir)
        try:
            _, key = await store.create(**options)
            return key
        finally:
            await store.close()

    return asyncio.run(create())


def expire_now(data_dir: Path, key: str) -> None:
    """Move `key`'s expiry into the past, as the clock passing it would (the server reads a
    key's row on every request), so that no test depends on how fast a request is."""
    with contextlib.closing(sqlite3.connect(keys_path(data_dir))) as conn, conn:
        moved = conn.execute(
            "UPDATE api_keys SET expires_at = ? WHERE id = ?", (time.time() - 1, key_id_of(key))
        ).rowcount
    assert moved == 1


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with Service.start(tmp_path_factory.mktemp("tenancy")) as svc:
        spec: dict[str, dict[str, Any]] = {
            "a": {"project": A},
            "a_admin": {"project": A, "scopes": ["admin"]},
            "a_ana": {"project": A, "user_id": "ana"},
            "a_ana_admin": {"project": A, "user_id": "ana", "scopes": ["admin"]},
            "a_read": {"project": A, "scopes": ["read"]},
        }
        if PROJECTS:
            spec["b"] = {"project": B}
            spec["b_admin"] = {"project": B, "scopes": ["admin"]}
        keys = {name: make_key(svc.data_dir, **options) for name, options in spec.items()}
        ids: dict[tuple[str, str], list[str]] = {}
        for (project, user_id), texts in SEED.items():
            writer = keys["a" if project == A else "b"]
            for text in texts:
                answer = httpx.post(
                    svc.url + "/v1/process",
                    headers=svc.auth(writer),
                    json={"messages": text, "user_id": user_id},
                    timeout=60,
                )
                assert answer.status_code == 200, answer.text
            listed = httpx.get(
                svc.url + "/v1/records",
                headers=svc.auth(writer),
                params={"user_id": user_id},
                timeout=60,
            )
            ids[(project, user_id)] = [r["id"] for r in listed.json()]
            assert ids[(project, user_id)]
        yield World(svc, keys, ids)


def export(world: World, admin: str = "a_admin") -> list[dict[str, Any]]:
    with world.client(admin) as http:
        answer = http.get("/v1/export", timeout=60)
    assert answer.status_code == 200, answer.text
    lines = [json.loads(line) for line in answer.text.splitlines() if line.strip()]
    return [line for line in lines if line.get("type") != "header"]  # its time differs


def fake(memory_id: str) -> str:
    """An id of the same shape that no memory has."""
    prefix, _, digest = memory_id.partition("_")
    return f"{prefix}_{'0' * len(digest)}"


def seen(answer: httpx.Response, *names: str) -> tuple[int, str, str]:
    """What a caller learns from an answer: its status, type and body, with the names it
    sent replaced and its timings and request id left out."""
    body = answer.json() if answer.content else None
    if isinstance(body, dict):
        for volatile in ("request_id", "elapsed_s", "timings"):
            body.pop(volatile, None)
    text = json.dumps(body, sort_keys=True)
    for name in names:
        text = text.replace(name, "<name>")
    return answer.status_code, answer.headers.get("content-type", ""), text


ID_ROUTES: dict[str, Callable[[httpx.Client, str], httpx.Response]] = {
    "get": lambda http, mid: http.get(f"/v1/records/{quote(mid, safe='')}"),
    "history": lambda http, mid: http.get(f"/v1/records/{quote(mid, safe='')}/history"),
    "update": lambda http, mid: http.patch(
        f"/v1/records/{quote(mid, safe='')}", json={"text": "I live in Paris."}
    ),
    "delete": lambda http, mid: http.delete(f"/v1/records/{quote(mid, safe='')}"),
}
USER_ROUTES: dict[str, Callable[[httpx.Client, str], httpx.Response]] = {
    "list": lambda http, uid: http.get("/v1/records", params={"user_id": uid}),
    "recall": lambda http, uid: http.post(
        "/v1/recall", json={"query": "where do I live", "user_id": uid}
    ),
    "stats": lambda http, uid: http.get("/v1/stats", params={"user_id": uid}),
    "page": lambda http, uid: http.get(
        "/v1/records/page", params={"user_id": uid, "memory_type": "semantic", "status": "all"}
    ),
    "delete_all": lambda http, uid: http.delete("/v1/records", params={"user_id": uid}),
    "forget": lambda http, uid: http.post("/v1/forget", json={"user_id": uid}),
}


# --- project B against project A -------------------------------------------------------


@needs_projects
def test_project_b_meets_project_a_ids_and_users_exactly_as_unknown_ones(world: World) -> None:
    before = export(world)
    a_ids = world.ids[(A, "ana")] + world.ids[(A, "bob")]
    with world.client("b") as http:
        for route, call in ID_ROUTES.items():
            for memory_id in a_ids:
                real, unknown = call(http, memory_id), call(http, fake(memory_id))
                assert real.status_code == 404, (route, real.text)
                assert seen(real, memory_id) == seen(unknown, fake(memory_id)), route
        for route, call in USER_ROUTES.items():
            real, unknown = call(http, "bob"), call(http, "nobody-at-all")
            assert seen(real, "bob") == seen(unknown, "nobody-at-all"), route
        # B's own "ana" is B's only
        mine = http.get("/v1/records", params={"user_id": "ana"}).json()
        assert {r["id"] for r in mine} == set(world.ids[(B, "ana")])
        assert not any("Lisbon" in r["content"] for r in mine)
    with world.client("b_admin") as http:
        for user_id in ("ana", "bob"):
            dumped = http.get("/v1/export", params={"user_id": user_id}).text
            assert "Lisbon" not in dumped and "baker" not in dumped
        assert http.get("/v1/doctor").status_code == 200
    assert export(world) == before


# --- pinned users ----------------------------------------------------------------------


def test_a_pinned_key_reaches_no_other_user(world: World) -> None:
    before = export(world)
    bob_ids = world.ids[(A, "bob")]
    with world.client("a_ana") as http:
        for route, call in USER_ROUTES.items():
            answer = call(http, "bob")
            assert answer.status_code == 403, (route, answer.text)
        refused = http.post("/v1/process", json={"messages": "I am bob.", "user_id": "bob"})
        assert refused.status_code == 403
        for route, call in ID_ROUTES.items():
            for memory_id in bob_ids:
                real, unknown = call(http, memory_id), call(http, fake(memory_id))
                assert real.status_code == 404, (route, real.text)
                assert seen(real, memory_id) == seen(unknown, fake(memory_id)), route
        own = http.get("/v1/records").json()  # naming nobody is naming ana
        assert {r["id"] for r in own} == set(world.ids[(A, "ana")])
        for kind in ("semantic", "episodic"):
            page = http.get("/v1/records/page", params={"memory_type": kind}).json()
            assert page["user_id"] == "ana" and page["records"], page
            assert {r["id"] for r in page["records"]} <= set(world.ids[(A, "ana")])
        for filters in (
            {"user_id": "bob"},
            {"$or": [{"user_id": "bob"}, {"user_id": "ana"}]},
            {"user_id": {"$ne": "ana"}},
            {"user_id": {"$in": ["bob", "ana"]}},
        ):
            found = http.post("/v1/recall", json={"query": "job colour", "filters": filters})
            assert found.status_code in (200, 403, 422), found.text
            assert "baker" not in found.text and "green" not in found.text
    assert export(world) == before


def test_a_pinned_admin_key_neither_imports_into_nor_checks_the_whole_project(
    world: World,
) -> None:
    """Import and doctor reach every user of the project: a key pinned to ana may not
    rewrite bob through an import, nor count or name his memories through doctor."""
    before = export(world)
    with world.client("a_admin") as http:
        bobs = http.get("/v1/export", params={"user_id": "bob"}, timeout=60).text
    assert "baker" in bobs
    with world.client("a_ana_admin") as http:
        forged = http.post(
            "/v1/import",
            content=bobs.replace("baker", "pirate").encode(),
            headers={"content-type": "application/x-ndjson"},
            timeout=60,
        )
        assert forged.status_code == 403, forged.text
        assert forged.headers["content-type"] == "application/problem+json"
        checked = http.get("/v1/doctor")
        assert checked.status_code == 403, checked.text
        assert "records" not in checked.json()
        own = http.get("/v1/export", timeout=60).text  # its own user's export still works
        assert "Lisbon" in own and "baker" not in own
    assert export(world) == before


# --- keys while the server runs --------------------------------------------------------


def test_keys_created_revoked_or_expired_while_serving_count_from_the_next_request(
    world: World,
) -> None:
    svc = world.svc
    created = json.loads(
        octomem("keys", "create", "--project", A, "--scope", "read", "--json", env=svc.env)
    )
    headers = svc.auth(created["key"])
    params = {"user_id": "ana"}
    assert httpx.get(svc.url + "/v1/records", headers=headers, params=params).status_code == 200
    octomem("keys", "revoke", created["id"], env=svc.env)
    revoked = httpx.get(svc.url + "/v1/records", headers=headers, params=params)
    assert revoked.status_code == 401, revoked.text

    expires = datetime.now(UTC) + timedelta(hours=1)
    short = make_key(svc.data_dir, project=A, scopes=["read"], expires_at=expires)
    headers = svc.auth(short)
    assert httpx.get(svc.url + "/v1/records", headers=headers, params=params).status_code == 200
    expire_now(svc.data_dir, short)
    expired = httpx.get(svc.url + "/v1/records", headers=headers, params=params)
    assert expired.status_code == 401 and expired.json()["status"] == 401


def test_a_keys_name_is_stored_masked(tmp_path: Path) -> None:
    """A key's `--name` is a label written by hand: masked before it is stored, as memory
    text is, so no file under the data directory holds a secret it names."""
    secret = "Zq9xT4wLm2Kp"
    data_dir = tmp_path / "data"
    octomem("keys", "create", "--data-dir", str(data_dir), "--name", f"my password is {secret}")
    listed = json.loads(octomem("keys", "list", "--data-dir", str(data_dir), "--json"))
    assert [key["name"] for key in listed] == ["my password is [MASKED password]"]
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files and not [str(p) for p in files if secret.encode() in p.read_bytes()]


# --- scopes ----------------------------------------------------------------------------


def test_read_only_keys_cannot_write_and_only_admin_keys_export_import_or_doctor(
    world: World,
) -> None:
    before = export(world)
    some_id = world.ids[(A, "ana")][0]
    with world.client("a_read") as http:
        assert http.get("/v1/records", params={"user_id": "ana"}).status_code == 200
        for answer in (
            http.post("/v1/process", json={"messages": "I am new.", "user_id": "ana"}),
            http.patch(f"/v1/records/{some_id}", json={"text": "changed"}),
            http.delete(f"/v1/records/{some_id}"),
            http.delete("/v1/records", params={"user_id": "ana"}),
            http.post("/v1/forget", json={"user_id": "ana"}),
        ):
            assert answer.status_code == 403, answer.text
    for name in ("a_read", "a"):
        with world.client(name) as http:
            for answer in (
                http.get("/v1/export"),
                http.get("/v1/doctor"),
                http.post(
                    "/v1/import", content=b"", headers={"content-type": "application/x-ndjson"}
                ),
            ):
                assert answer.status_code == 403, (name, answer.text)
    assert export(world) == before


# --- hostile input ---------------------------------------------------------------------

HOSTILE = [
    "*",
    "%",
    "%25",
    "ana%",
    "_",
    "..",
    "../bob",
    "sem_*",
    "ana' OR '1'='1",
    "ünïcödé-ユーザー",
    "\u202eana",
    "a" * 300,
    "x" * 5000,
]


def test_hostile_ids_user_ids_and_filters_leak_nothing_and_never_500(world: World) -> None:
    before = export(world)
    seeded = ["Lisbon", "Rex", "baker", "green", "Oslo"]  # no request below says these
    with world.client("a") as http:
        answers = []
        for value in HOSTILE:
            answers += [call(http, value) for call in ID_ROUTES.values()]
            answers += [call(http, value) for call in USER_ROUTES.values()]
        hostile_filters: list[dict[str, Any]] = [
            {"user_id": "*"},
            {"user_id": {"$ne": "nobody"}},
            {"$or": []},
        ]
        for filters in hostile_filters:
            answers.append(
                http.post(
                    "/v1/recall", json={"query": "what job", "user_id": "x", "filters": filters}
                )
            )
    for answer in answers:
        assert answer.status_code < 500, answer.text
        assert not any(word in answer.text for word in seeded), answer.text
    assert export(world) == before


NOT_UTF8 = ["%FF", "%C3%28", "%C0%AF"]  # a stray byte, a cut sequence, an overlong "/"
URLS_TAKING_IDS = [
    ("GET", "/v1/records?user_id={}"),
    ("GET", "/v1/stats?agent_id={}"),
    ("GET", "/v1/records/page?user_id=ana&memory_type=semantic&run_id={}"),
    ("DELETE", "/v1/records?user_id={}"),
    ("DELETE", "/v1/memories/?user_id={}"),  # mem0's
    ("DELETE", "/v1/memories/?user_id=ana&run_id={}"),
    ("POST", "/v3/memories/?agent_id={}"),
    ("GET", "/ui/users?q={}"),
    ("POST", "/mcp?user_id={}"),
    ("GET", "/v1/records/{}"),
]


@pytest.mark.parametrize("escaped", NOT_UTF8)
def test_an_id_whose_escaped_bytes_are_not_utf8_is_422_on_every_route(
    world: World, escaped: str
) -> None:
    """Starlette reads "%FF" as U+FFFD: a user (agent, run) no one named, whose memories
    a list would show and a delete would remove."""
    before = export(world)
    with world.client("a") as http:
        for method, url in URLS_TAKING_IDS:
            answer = http.request(method, url.format(escaped), json={"filters": {"user_id": "x"}})
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["type"].endswith("/invalid-input")
            assert "not UTF-8" in answer.json()["detail"]
    assert export(world) == before


def test_an_id_escaped_as_utf8_is_read(world: World) -> None:
    with world.client("a") as http:
        stored = http.post("/v1/process", json={"messages": "I like tea.", "user_id": "é-q"})
        assert stored.status_code == 200, stored.text
        listed = http.get("/v1/records?user_id=%C3%A9-q")
        assert listed.status_code == 200, listed.text
        assert {r["user_id"] for r in listed.json()} == {"é-q"}
        assert http.delete("/v1/memories/?user_id=%C3%A9-q").status_code == 200


def _count_embedded(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the service's embedder model is asked for from now on (cache misses)."""
    assert isinstance(embedder, CachedEmbedder)
    model, asked = embedder.inner, []

    class Counting:
        name = model.name
        dimension = model.dimension

        async def embed(self, texts: Any) -> list[list[float]]:
            asked.extend(texts)
            return await model.embed(texts)

    monkeypatch.setattr(pool, "build_embedder", lambda settings: CachedEmbedder(Counting()))
    return asked


@needs_projects
def test_no_project_finds_another_projects_texts_in_the_embedding_cache(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The projects share one loaded model and its cache. A text project A stored is not
    a cache hit for project B: B's recall with it would take less time (its `elapsed_s`
    says how much), telling B that A stored that very text."""
    asked = _count_embedded(embedder, monkeypatch)
    data_dir = tmp_path / "om"
    keys = {p: {"Authorization": f"Token {make_key(data_dir, project=p)}"} for p in (A, B)}
    said = "I was diagnosed with gout."
    with TestClient(create_app(load_settings(data_dir=data_dir))) as http:
        for project, user_id, text in ((B, "eve", "I like tea."), (A, "ana", said)):
            body = {"messages": text, "user_id": user_id, "infer": False}
            assert http.post("/v1/process", json=body, headers=keys[project]).status_code == 200
        text = next(t for t in asked if said in t)  # what A's memory was embedded as
        for project, user_id in ((B, "eve"), (A, "ana")):
            before = asked.count(text)
            body = {"query": text, "user_id": user_id}
            found = http.post("/v1/recall", json=body, headers=keys[project])
            assert found.status_code == 200, found.text
            # B's query goes to the model (A's cached vector is not B's); A's does not
            assert asked.count(text) == before + (project == B)
        assert found.json()["hits"]  # A finds its own memory


@needs_projects
def test_a_key_pinned_to_one_user_finds_no_other_users_texts_in_the_embedding_cache(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one project, a key pinned to eve recalls with a text ana's key stored: not a
    cache hit (its speed would tell eve that ana said that very text); ana's own recall
    with it is one."""
    asked = _count_embedded(embedder, monkeypatch)
    data_dir = tmp_path / "om"
    keys = {
        u: {"Authorization": f"Token {make_key(data_dir, project=A, user_id=u)}"}
        for u in ("ana", "eve")
    }
    said = "I was diagnosed with gout."
    with TestClient(create_app(load_settings(data_dir=data_dir))) as http:
        for user_id, text in (("eve", "I like tea."), ("ana", said)):
            body = {"messages": text, "user_id": user_id, "infer": False}
            assert http.post("/v1/process", json=body, headers=keys[user_id]).status_code == 200
        text = next(t for t in asked if said in t)  # what ana's memory was embedded as
        for user_id in ("eve", "ana"):
            before = asked.count(text)
            body = {"query": text, "user_id": user_id}
            found = http.post("/v1/recall", json=body, headers=keys[user_id])
            assert found.status_code == 200, found.text
            assert asked.count(text) == before + (user_id == "eve")
        assert found.json()["hits"]  # ana finds her own memory


# --- interleaved callers ---------------------------------------------------------------


def test_interleaved_callers_of_two_projects_and_several_users_keep_to_their_own(
    world: World,
) -> None:
    projects = [("a", A), ("b", B)] if PROJECTS else [("a", A)]
    users = ["c-ana", "c-bob", "c-cy"]
    done: dict[tuple[str, str], dict[str, Any]] = {}
    errors: list[str] = []

    def work(key: str, project: str, user_id: str) -> None:
        rng = random.Random(f"{project}/{user_id}")
        kept: list[str] = []
        deleted: list[str] = []
        tag = f"{project}{user_id.replace('-', '')}"
        with world.client(key) as http:
            for n in range(6):
                text = f"My code word number {n} is {tag}w{n}."
                stored = http.post(
                    "/v1/process", json={"messages": text, "user_id": user_id}, timeout=120
                )
                if stored.status_code != 200:
                    errors.append(stored.text)
                    return
                kept += stored.json()["turn_memory_ids"]
                found = http.post(
                    "/v1/recall", json={"query": "code word", "user_id": user_id}, timeout=120
                )
                for hit in found.json()["hits"]:
                    if (
                        tag not in hit["memory"]["content"]
                        and "code word" in hit["memory"]["content"]
                    ):
                        errors.append(f"{project}/{user_id} found {hit['memory']['content']}")
                if n % 3 == 2:
                    victim = kept.pop(rng.randrange(len(kept)))
                    gone = http.delete(f"/v1/records/{victim}", params={"user_id": user_id})
                    if gone.status_code != 200:
                        errors.append(gone.text)
                    deleted.append(victim)
        done[(project, user_id)] = {"kept": kept, "deleted": deleted, "tag": tag}

    threads = [
        threading.Thread(target=work, args=(key, project, user_id))
        for key, project in projects
        for user_id in users
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert errors == []
    for key, project in projects:
        with world.client(key) as http:
            for user_id in users:
                mine = done[(project, user_id)]
                listed = http.get("/v1/records", params={"user_id": user_id, "limit": 1000}).json()
                ids = {r["id"] for r in listed}
                assert set(mine["kept"]) <= ids
                assert not ids & set(mine["deleted"])
                for record in listed:
                    assert record["user_id"] == user_id
                    if "code word" in record["content"]:
                        assert mine["tag"] in record["content"], record
