"""The memory inspector (/ui) over HTTP, in process: sign-in for a session cookie, CSRF on
every form, a pinned key's reach, a read-only key's refusals, paging, the story of a
memory, and the audit trail. The browser's view: tests/integration/test_ui_browser.py."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from octomem.service.app import create_app
from octomem.service.keys import KeyStore
from octomem.service.ui.session import COOKIE, Sessions
from octomem.settings import load_settings

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SAID = {
    "ana": [
        "Hi, I'm Ana. I live in Paris and work at Acme.",
        "I moved to Berlin last week! My sister Eva lives in Rome.",
    ],
    "bob": ["I work as a baker. My favourite colour is green."],
    "cy": ["I live in Oslo."],
}


def make_key(data_dir: Path, **options: Any) -> str:
    async def create() -> str:
        store = KeyStore(data_dir)
        try:
            return (await store.create(project="default", **options))[1]
        finally:
            await store.close()

    return asyncio.run(create())


@dataclass
class World:
    http: TestClient
    data_dir: Path
    keys: dict[str, str]

    def api(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Token {self.keys['admin']}"}
        answer = self.http.request(method, path, headers=headers, **kw)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def audit(self) -> list[dict[str, Any]]:
        text = (self.data_dir / "service" / "audit.log").read_text()
        return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("ui")
    keys = {
        "admin": make_key(data_dir, scopes=["read", "write", "delete", "admin"]),
        "reader": make_key(data_dir, scopes=["read"]),
        "ana": make_key(data_dir, scopes=["read", "write", "delete"], user_id="ana"),
        "writer": make_key(data_dir, scopes=["write"]),
    }
    with TestClient(create_app(load_settings(data_dir=data_dir))) as http:
        world = World(http, data_dir, keys)
        for user, texts in SAID.items():
            for text in texts:
                world.api("POST", "/v1/process", json={"messages": text, "user_id": user})
        http.cookies.clear()
        yield world


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    """The world's client with an empty cookie jar (a browser, signed in by the test)."""
    world.http.cookies.clear()
    yield world.http
    world.http.cookies.clear()


def sign_in(client: TestClient, key: str) -> Any:
    form = client.get("/ui/login")
    token = CSRF.search(form.text)
    assert form.status_code == 200 and token
    return client.post(
        "/ui/login", data={"key": key, "csrf": token.group(1)}, follow_redirects=False
    )


def csrf_of(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def memory_ids(html: str) -> list[str]:
    return re.findall(r'/memories/([A-Za-z0-9_]+)"', html)


# --- sign-in -----------------------------------------------------------------------------


def test_signing_in_exchanges_the_key_for_an_httponly_strict_cookie(
    world: World, browser: TestClient
) -> None:
    answer = sign_in(browser, world.keys["admin"])
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/users"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    assert world.keys["admin"] not in cookie
    page = browser.get("/ui/users")
    assert page.status_code == 200 and "ana" in page.text and "bob" in page.text
    assert world.keys["admin"] not in page.text


def test_without_a_session_every_page_leads_to_the_sign_in(browser: TestClient) -> None:
    for path in ("/ui/users", "/ui/users/ana", "/ui/users/ana/graph", "/ui/"):
        answer = browser.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login"), path


def test_a_wrong_key_or_a_stale_sign_in_form_signs_nobody_in(
    world: World, browser: TestClient
) -> None:
    real = world.keys["admin"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for key in (forged, "not-a-key", ""):
        answer = sign_in(browser, key)
        assert answer.status_code == 401 and COOKIE not in browser.cookies
    no_token = browser.post("/ui/login", data={"key": real}, follow_redirects=False)
    assert no_token.status_code == 403 and COOKIE not in browser.cookies
    # a key without the read scope cannot sign in
    assert sign_in(browser, world.keys["writer"]).status_code == 401


def test_a_forged_or_expired_cookie_is_no_session(world: World, browser: TestClient) -> None:
    sign_in(browser, world.keys["admin"])
    value = browser.cookies[COOKIE]
    browser.cookies.clear()
    assert browser.get("/ui/users", headers={"cookie": f"{COOKIE}={value}"}).status_code == 200
    key_id, expires, nonce, mac = value.split(".")
    for forged in (
        f"{key_id}.{int(expires) + 3600}.{nonce}.{mac}",  # a later expiry, same signature
        f"{'0' * 16}.{expires}.{nonce}.{mac}",  # another key
        value[:-2] + "xx",
    ):
        sent = {"cookie": f"{COOKIE}={forged}"}
        assert browser.get("/ui/users", headers=sent, follow_redirects=False).status_code == 303
    sessions = Sessions(b"k" * 32)
    assert sessions.read(sessions.issue("a" * 16, None, now=0.0)) is None  # expired
    assert sessions.read(sessions.issue("a" * 16, key_expires=10.0, now=0.0), now=5.0)


def test_a_revoked_key_ends_its_session_at_once(world: World, browser: TestClient) -> None:
    key = make_key(world.data_dir, scopes=["read"])
    sign_in(browser, key)
    assert browser.get("/ui/users").status_code == 200

    async def revoke() -> None:
        store = KeyStore(world.data_dir)
        try:
            await store.revoke(key.split("_")[1])
        finally:
            await store.close()

    asyncio.run(revoke())
    assert browser.get("/ui/users", follow_redirects=False).status_code == 303


def test_the_session_cookie_opens_no_api_route(world: World, browser: TestClient) -> None:
    sign_in(browser, world.keys["admin"])
    answer = browser.get("/v1/records", params={"user_id": "ana"})
    assert answer.status_code == 401


def test_signing_out_ends_the_session(world: World, browser: TestClient) -> None:
    sign_in(browser, world.keys["admin"])
    token = csrf_of(browser, "/ui/users")
    answer = browser.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 303 and COOKIE not in browser.cookies
    assert browser.get("/ui/users", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session_for_a_copy_of_its_cookie_too(
    world: World, browser: TestClient
) -> None:
    """A cookie copied before the sign-out (another browser, a stolen one) is refused
    after it; the key's other sessions go on."""
    sign_in(browser, world.keys["ana"])
    other = browser.cookies[COOKIE]  # a session of the same key, signed in elsewhere
    browser.cookies.clear()
    sign_in(browser, world.keys["ana"])
    copied = browser.cookies[COOKIE]
    token = csrf_of(browser, "/ui/users/ana")
    answer = browser.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 303 and COOKIE not in browser.cookies
    sent = {"cookie": f"{COOKIE}={copied}"}
    for path in ("/ui/users/ana", "/ui/users/ana/graph", "/ui/"):
        refused = browser.get(path, headers=sent, follow_redirects=False)
        assert (refused.status_code, refused.headers["location"]) == (303, "/ui/login"), path
    [first, *_] = memory_ids(
        browser.get("/ui/users/ana", headers={"cookie": f"{COOKIE}={other}"}).text
    )
    form = {"csrf": token, "text": "edited by a signed-out copy"}
    edit = browser.post(
        f"/ui/users/ana/memories/{first}/edit", data=form, headers=sent, follow_redirects=False
    )
    assert (edit.status_code, edit.headers["location"]) == (303, "/ui/login")
    assert world.api("GET", f"/v1/records/{first}")["content"] != form["text"]
    # signing out again with the copy only clears the cookie
    again = browser.post("/ui/logout", data={"csrf": token}, headers=sent, follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (303, "/ui/login")
    kept = browser.get("/ui/users/ana", headers={"cookie": f"{COOKIE}={other}"})
    assert kept.status_code == 200 and "/ui/users/ana/memories/" in kept.text


# --- CSRF ----------------------------------------------------------------------------


def test_every_form_without_the_sessions_token_is_refused_and_changes_nothing(
    world: World, browser: TestClient
) -> None:
    sign_in(browser, world.keys["admin"])
    foreign = csrf_of(browser, "/ui/users")  # another session's token is not this one's
    browser.cookies.clear()
    sign_in(browser, world.keys["admin"])
    bob = browser.get("/ui/users/bob?agent=episodic")
    [first, *_] = memory_ids(bob.text)
    for token in (None, "", "x" * 43, foreign):
        data = {} if token is None else {"csrf": token}
        posts = {
            "/ui/users/bob/forget": {**data, "confirm": "bob"},
            f"/ui/users/bob/memories/{first}/delete": data,
            f"/ui/users/bob/memories/{first}/edit": {**data, "text": "changed"},
            "/ui/users/bob/recall": {**data, "query": "what does bob do"},
        }
        for path, form in posts.items():
            answer = browser.post(path, data=form)
            assert answer.status_code == 403, (path, token)
            assert "security token" in answer.text
    assert browser.get(f"/ui/users/bob/memories/{first}").status_code == 200
    assert world.api("GET", "/v1/stats", params={"user_id": "bob"})["totals"]["current"] > 0


# --- a pinned key --------------------------------------------------------------------


def test_a_pinned_key_sees_and_reaches_its_user_only(world: World, browser: TestClient) -> None:
    answer = sign_in(browser, world.keys["ana"])
    assert answer.headers["location"] == "/ui/users/ana"
    listed = browser.get("/ui/users?q=")
    assert "/ui/users/ana" in listed.text and "/ui/users/bob" not in listed.text
    bob_ids = memory_ids(world.http.get("/ui/users/bob").text) or [
        r["id"] for r in world.api("GET", "/v1/records", params={"user_id": "bob", "limit": 5})
    ]
    token = csrf_of(browser, "/ui/users/ana")
    for path in ("/ui/users/bob", "/ui/users/bob/graph", "/ui/users/bob/recall"):
        refused = browser.get(path)
        assert refused.status_code == 403 and "pinned" in refused.text, path
    # bob's memory under ana's name is unknown; under bob's, refused
    assert browser.get(f"/ui/users/ana/memories/{bob_ids[0]}").status_code == 404
    assert browser.get(f"/ui/users/bob/memories/{bob_ids[0]}").status_code == 403
    for path, form in {
        "/ui/users/bob/forget": {"csrf": token, "confirm": "bob"},
        f"/ui/users/bob/memories/{bob_ids[0]}/delete": {"csrf": token},
        f"/ui/users/ana/memories/{bob_ids[0]}/delete": {"csrf": token},
        f"/ui/users/ana/memories/{bob_ids[0]}/edit": {"csrf": token, "text": "mine now"},
        "/ui/users/bob/recall": {"csrf": token, "query": "what does bob do"},
    }.items():
        assert browser.post(path, data=form).status_code in (403, 404), path
    kept = world.api("GET", f"/v1/records/{bob_ids[0]}")
    assert kept["content"] != "mine now"


# --- a read-only key -------------------------------------------------------------------


def test_a_read_only_key_sees_no_change_buttons_and_is_refused_anyway(
    world: World, browser: TestClient
) -> None:
    sign_in(browser, world.keys["reader"])
    user = browser.get("/ui/users/cy")
    assert user.status_code == 200 and "read-only" in user.text
    assert "Forget cy" not in user.text
    [first, *_] = memory_ids(user.text)
    story = browser.get(f"/ui/users/cy/memories/{first}")
    assert story.status_code == 200
    assert "/edit" not in story.text and "/delete" not in story.text
    token = csrf_of(browser, "/ui/users/cy")
    for path in (f"/ui/users/cy/memories/{first}/edit", f"/ui/users/cy/memories/{first}/delete"):
        assert browser.get(path).status_code == 403
    for path, form in {
        "/ui/users/cy/forget": {"csrf": token, "confirm": "cy"},
        f"/ui/users/cy/memories/{first}/delete": {"csrf": token},
        f"/ui/users/cy/memories/{first}/edit": {"csrf": token, "text": "changed"},
    }.items():
        refused = browser.post(path, data=form)
        assert refused.status_code == 403 and "lacks" in refused.text, path
    assert world.api("GET", f"/v1/records/{first}")["valid_to"] is None
    # a recall is a read: the read-only key may ask
    asked = browser.post("/ui/users/cy/recall", data={"csrf": token, "query": "where"})
    assert asked.status_code == 200 and "Oslo" in asked.text


# --- pages -------------------------------------------------------------------------------


def test_a_users_memories_are_paged_on_the_server(world: World, browser: TestClient) -> None:
    turns = [{"role": "user", "content": f"Note number {i} about the garden."} for i in range(120)]
    world.api("POST", "/v1/process", json={"messages": turns, "user_id": "pat", "infer": False})
    sign_in(browser, world.keys["admin"])
    first = browser.get("/ui/users/pat?agent=episodic")
    assert len(memory_ids(first.text)) == 50 and "page 1 of 3" in first.text
    last = browser.get("/ui/users/pat?agent=episodic&page=3")
    assert len(memory_ids(last.text)) == 20 and "page 3 of 3" in last.text
    assert not set(memory_ids(first.text)) & set(memory_ids(last.text))
    assert browser.get("/ui/users/pat?agent=episodic&page=0").status_code == 422
    found = browser.get("/ui/users?q=PA")  # case-insensitive search
    assert "/ui/users/pat" in found.text and "/ui/users/bob" not in found.text


@pytest.mark.parametrize("user", ["acme/alice", "..", ".", "~tilde", "a/../b"])
def test_a_user_whose_id_is_no_plain_path_segment_has_every_page(
    world: World, browser: TestClient, user: str
) -> None:
    world.api("POST", "/v1/process", json={"messages": "I live in Lisbon.", "user_id": user})
    sign_in(browser, world.keys["admin"])
    listed = browser.get("/ui/users", params={"q": user}).text
    links = set(re.findall(r'href="(/ui/users/[^"?]+)"', listed))
    [page] = [link for link in links if "Lisbon" in browser.get(link).text]
    [memory, *_] = memory_ids(browser.get(page + "?agent=semantic").text)
    story = browser.get(f"{page}/memories/{memory}")
    assert story.status_code == 200 and "Lisbon" in story.text
    assert browser.get(f"{page}/graph").status_code == 200
    forget = browser.get(f"{page}/forget")
    token = CSRF.findall(forget.text)[-1]
    done = browser.post(f"{page}/forget", data={"csrf": token, "confirm": user})
    assert done.status_code == 200, done.text
    assert world.api("GET", "/v1/stats", params={"user_id": user})["totals"]["memories"] == 0
    assert browser.get("/ui/users/~not!base64").status_code == 422


def test_a_memorys_story_shows_its_history_successor_turns_and_edges(
    world: World, browser: TestClient
) -> None:
    sign_in(browser, world.keys["admin"])
    records = world.api(
        "GET",
        "/v1/records",
        params={"user_id": "ana", "memory_type": "semantic", "include_superseded": True},
    )
    paris = next(r for r in records if "Paris" in r["content"] and r["valid_to"])
    story = browser.get(f"/ui/users/ana/memories/{paris['id']}")
    assert story.status_code == 200
    assert "SUPERSEDE" in story.text and "Berlin" in story.text  # its successor
    assert "superseded by" in story.text and "I live in Paris" in story.text  # the turn
    assert "LIVES_IN" in story.text  # a graph edge
    current = browser.get("/ui/users/ana?agent=semantic")
    assert paris["id"] not in current.text
    assert paris["id"] in browser.get("/ui/users/ana?agent=semantic&all=true").text


def test_edit_delete_and_forget_confirm_first_then_change_and_are_audited(
    world: World, browser: TestClient
) -> None:
    world.api("POST", "/v1/process", json={"messages": "I live in Quito.", "user_id": "dan"})
    sign_in(browser, world.keys["admin"])
    [memory, *_] = memory_ids(browser.get("/ui/users/dan?agent=semantic").text)
    confirm = browser.get(f"/ui/users/dan/memories/{memory}/edit")
    assert confirm.status_code == 200 and "Quito" in confirm.text
    token = CSRF.findall(confirm.text)[-1]
    edited = browser.post(
        f"/ui/users/dan/memories/{memory}/edit", data={"csrf": token, "text": "Dan lives in Lima."}
    )
    assert edited.status_code == 200 and "Dan lives in Lima." in edited.text
    assert "UPDATE" in edited.text and "Quito" in edited.text  # history keeps the old text
    asking = browser.get(f"/ui/users/dan/memories/{memory}/delete")
    assert "Dan lives in Lima." in asking.text
    deleted = browser.post(f"/ui/users/dan/memories/{memory}/delete", data={"csrf": token})
    assert deleted.status_code == 200 and "Deleted" in deleted.text
    assert memory not in browser.get("/ui/users/dan?agent=semantic").text
    forget = browser.get("/ui/users/dan/forget")
    assert "Forget dan?" in forget.text and "history events" in forget.text
    wrong = browser.post("/ui/users/dan/forget", data={"csrf": token, "confirm": "da"})
    assert wrong.status_code == 422
    done = browser.post("/ui/users/dan/forget", data={"csrf": token, "confirm": "dan"})
    assert done.status_code == 200 and "dan is forgotten" in done.text
    assert world.api("GET", "/v1/stats", params={"user_id": "dan"})["totals"]["memories"] == 0
    routes = {(line["method"], line["route"], line["status"]) for line in world.audit()}
    assert {
        ("POST", "/ui/users/{user_id}/memories/{memory_id}/edit", 303),
        ("POST", "/ui/users/{user_id}/memories/{memory_id}/delete", 200),
        ("POST", "/ui/users/{user_id}/forget", 200),
    } <= routes
    forgot = [line for line in world.audit() if line["route"] == "/ui/users/{user_id}/forget"]
    assert forgot[-1]["key_id"] and forgot[-1]["user_id"] == "dan"


def test_recall_shows_each_hits_provenance_and_the_core_blocks(
    world: World, browser: TestClient
) -> None:
    sign_in(browser, world.keys["admin"])
    token = csrf_of(browser, "/ui/users/ana/recall")
    answer = browser.post(
        "/ui/users/ana/recall", data={"csrf": token, "query": "where does ana live?"}
    )
    assert answer.status_code == 200
    hits = answer.text.split("Core blocks")[0]
    assert "Berlin" in hits and "fused score" in hits
    assert re.search(r"<td>(vector|keyword|graph)</td>", hits)
    assert "human" in answer.text.split("Core blocks")[1]
    past = browser.post(
        "/ui/users/ana/recall",
        data={"csrf": token, "query": "where does ana live?", "as_of": "1999-01-01"},
    )
    assert past.status_code == 200 and "Berlin" not in past.text.split("Core blocks")[0]
    bad = browser.post(
        "/ui/users/ana/recall", data={"csrf": token, "query": "x", "as_of": "yesterday"}
    )
    assert bad.status_code == 422 and "Traceback" not in bad.text


def test_the_graph_page_tells_current_and_invalidated_edges_apart(
    world: World, browser: TestClient
) -> None:
    sign_in(browser, world.keys["admin"])
    page = browser.get("/ui/users/ana/graph?around=Ana")
    data = json.loads(re.search(r'id="graph-data">(.*?)</script>', page.text, re.S).group(1))
    edges = {
        (e["data"]["label"], e["data"]["target"]): e["classes"]
        for e in data["elements"]
        if "source" in e["data"]
    }
    assert edges[("LIVES_IN", "n:Berlin")] == "current"
    assert edges[("LIVES_IN", "n:Paris")] == "invalid"
    assert "Content-Security-Policy" in page.headers
    assert browser.get("/ui/static/cytoscape.min.js").status_code == 200


def test_every_screenshot_docs_ui_shows_is_there_and_small() -> None:
    """docs/ui.md's pictures are taken by the browser tests (`make ui-screenshots`)."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    shown = re.findall(r"!\[[^\]]*\]\((ui/[^)]+\.png)\)", (docs / "ui.md").read_text())
    assert len(shown) >= 8
    for name in shown:
        size = (docs / name).stat().st_size
        assert 0 < size < 200_000, (name, size)


@pytest.mark.parametrize(
    "segment",
    [
        "~YW5h",  # "ana", whose one address is /ui/users/ana
        "~YS9i==",  # "a/b" with its padding: its address is ~YS9i
        "~YS9",  # "a/" with its last character's spare bits set: its address is ~YS8
        "~",  # the empty id
        "~AA",  # a control character
        "x" * 257,  # longer than any user id
    ],
)
def test_a_user_page_has_one_address_and_names_a_user_id_that_can_be(
    world: World, browser: TestClient, segment: str
) -> None:
    sign_in(browser, world.keys["admin"])
    for page in ("", "/graph", "/recall"):
        assert browser.get(f"/ui/users/{segment}{page}").status_code == 422, (segment, page)


@pytest.mark.parametrize("text", [b"I+live+in+%FF+Bergen.", "I live in Bergen, café.".encode()])
def test_a_form_field_that_is_not_percent_encoded_utf8_changes_nothing(
    world: World, browser: TestClient, text: bytes
) -> None:
    """A browser percent-encodes a form's UTF-8; other bytes were read as U+FFFD (%FF) or
    as Latin-1 ("café" sent raw as "cafÃ©") and stored as the memory's new text."""
    world.api("POST", "/v1/process", json={"messages": "I live in Bergen.", "user_id": "eli"})
    sign_in(browser, world.keys["admin"])
    [memory, *_] = memory_ids(browser.get("/ui/users/eli?agent=semantic").text)
    token = CSRF.findall(browser.get(f"/ui/users/eli/memories/{memory}/edit").text)[-1]
    edited = browser.post(
        f"/ui/users/eli/memories/{memory}/edit",
        content=b"csrf=" + token.encode() + b"&text=" + text,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert edited.status_code == 422 and "not percent-encoded UTF-8" in edited.text
    story = browser.get(f"/ui/users/eli/memories/{memory}").text
    assert "\ufffd" not in story and "Ã" not in story and "UPDATE" not in story
