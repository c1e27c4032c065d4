"""The memory inspector in a real browser: Debian's chromium (`apt-get install chromium`;
`make test` installs it as root) driven by Playwright from PyPI, against a real `octomem
serve`. No browser is downloaded: without /usr/bin/chromium (or Playwright) these tests
skip and say why.

With ``OCTOMEM_UI_SCREENSHOTS=docs/ui`` (`make ui-screenshots`) they save a PNG of each
page there, for docs/ui.md; else into the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service_support import Service

CHROMIUM = os.environ.get("OCTOMEM_CHROMIUM", "/usr/bin/chromium")
try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        sync_playwright is None, reason="Playwright is not installed (pip install -e '.[dev]')"
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
        reason=f"no chromium at {CHROMIUM}: apt-get install chromium (make test does as root)",
    ),
]
BULK = 10_000  # memories of one user, for the page that must stay usable
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SHOTS = (
    Path(os.environ.get("OCTOMEM_UI_SCREENSHOTS", ""))
    if os.environ.get("OCTOMEM_UI_SCREENSHOTS")
    else None
)


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("ui-browser")
    # the 10k memories in ten calls, however busy the machine
    env = {"OCTOMEM_SERVICE__MAX_MESSAGES": "1000", "OCTOMEM_SERVICE__DEADLINE_S": "900"}
    with Service.start(tmp, env=env) as service:
        admin = service.key(scopes="read,write,delete,admin")
        with httpx.Client(base_url=service.url, headers=service.auth(admin), timeout=600) as api:
            said = {
                "ana": [
                    "Hi, I'm Ana. I live in Paris and work at Acme.",
                    "My sister Eva lives in Rome. I like jazz.",
                    "Big news: I moved to Berlin last week!",
                ],
                "bob": ["I work as a baker. My favourite colour is green."],
                "cy": ["I live in Oslo. My dog is called Rex."],
            }
            for user, texts in said.items():
                for i, text in enumerate(texts):
                    when = (T0 + timedelta(days=30 * i)).isoformat()
                    body = {"messages": text, "user_id": user, "session_id": f"s{i + 1}"}
                    answer = api.post("/v1/process", json={**body, "timestamp": when})
                    assert answer.status_code == 200, answer.text
            started = time.perf_counter()
            for start in range(0, BULK, 1000):
                turns = [
                    {"role": "user", "content": f"Garden log {n}: watered bed {n % 37}."}
                    for n in range(start, min(BULK, start + 1000))
                ]
                body = {"messages": turns, "user_id": "bulk", "infer": False}
                answer = api.post("/v1/process", json=body)
                assert answer.status_code == 200, answer.text
            print(f"\nseeded {BULK:,} memories in {time.perf_counter() - started:.1f} s")
        yield service


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Page, name: str, tmp_path: Path) -> None:
    """A PNG of the page: into docs/ui/ when asked (`make ui-screenshots`), reduced to a
    palette so that it stays small."""
    folder = SHOTS or tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def sign_in(page: Page, svc: Service, key: str) -> None:
    page.goto(svc.url + "/ui/")
    assert page.url.endswith("/ui/login")
    field = page.get_by_label("API key")
    expect(field).to_be_focused(timeout=30_000)  # the page opens on it, for the keyboard
    field.fill(key)  # not typed: keys sent before the focus lands would go nowhere
    field.press("Enter")
    page.wait_for_url("**/ui/users**")


def records(svc: Service, key: str, **params: Any) -> list[dict[str, Any]]:
    answer = httpx.get(svc.url + "/v1/records", headers=svc.auth(key), params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_sign_in_browse_a_story_recall_the_graph_and_forget_a_user(
    svc: Service, page: Page, tmp_path: Path
) -> None:
    key = svc.key(scopes="read,write,delete")
    page.goto(svc.url + "/ui/login")
    shot(page, "login", tmp_path)
    sign_in(page, svc, key)
    assert key not in page.content()
    assert page.get_by_role("link", name="ana").is_visible()
    page.get_by_label("Find a user").fill("an")
    page.get_by_label("Find a user").press("Enter")
    page.wait_for_url("**q=an**")
    assert page.get_by_role("link", name="bob").count() == 0
    shot(page, "users", tmp_path)
    page.get_by_role("link", name="ana").click()
    page.get_by_role("link", name="semantic").click()
    page.get_by_label("Show superseded and expired memories too").check()  # submits
    page.wait_for_url("**all=true**")
    assert page.locator("tr.superseded").count() >= 1
    shot(page, "memories", tmp_path)
    page.locator("tr.superseded a").filter(has_text="Paris").first.click()
    assert page.get_by_role("heading", name="History").is_visible()
    timeline = page.locator("ol.timeline").inner_text()
    assert "ADD" in timeline and "SUPERSEDE" in timeline
    assert "Berlin" in page.locator("dl.facts").inner_text()  # superseded by
    assert "I live in Paris" in page.locator("ol.turns").inner_text()
    shot(page, "story", tmp_path)
    page.get_by_role("link", name="Recall", exact=True).click()
    page.get_by_label("Question").fill("where does ana live?")
    page.get_by_role("button", name="Recall").click()
    page.wait_for_selector("ol.hits")
    assert "Berlin" in page.locator("ol.hits > li").first.inner_text()
    assert page.locator("table.provenance td", has_text="vector").count() >= 1
    shot(page, "recall", tmp_path)
    page.goto(svc.url + "/ui/users/ana/graph?around=Ana")
    page.wait_for_selector("#graph[data-ready=true] canvas")
    assert page.locator("tr.superseded").count() >= 1  # Paris, invalidated
    shot(page, "graph", tmp_path)
    page.goto(svc.url + "/ui/users/bob")
    page.get_by_role("link", name="Forget bob…").click()
    assert "memories" in page.locator("main ul").inner_text()
    shot(page, "forget", tmp_path)
    page.get_by_label("Type the user id").fill("bob")
    page.get_by_role("button", name="Forget bob").click()
    assert page.get_by_role("status").inner_text() == "bob is forgotten"
    assert records(svc, key, user_id="bob") == []


def test_a_pinned_key_cannot_reach_another_user_by_editing_urls_or_forms(
    svc: Service, page: Page, tmp_path: Path
) -> None:
    key = svc.key(user="ana")
    sign_in(page, svc, key)
    assert page.url.endswith("/ui/users/ana")
    assert page.get_by_role("link", name="Users").count() == 0
    page.goto(svc.url + "/ui/users")
    assert page.get_by_role("link", name="cy").count() == 0
    answer = page.goto(svc.url + "/ui/users/cy")
    assert answer is not None and answer.status == 403
    assert "pinned" in page.locator("main").inner_text()
    shot(page, "refused", tmp_path)
    [cys] = [r["id"] for r in records(svc, svc.key(), user_id="cy", memory_type="semantic")][:1]
    assert page.goto(f"{svc.url}/ui/users/ana/memories/{cys}").status == 404  # type: ignore[union-attr]
    # a form of ana's pages pointed at cy: the server refuses it
    page.goto(svc.url + "/ui/users/ana/forget")
    page.evaluate("document.querySelector('main form').action = '/ui/users/cy/forget'")
    page.get_by_label("Type the user id").fill("cy")
    page.get_by_role("button", name="Forget ana").click()
    assert "pinned" in page.locator("main").inner_text()
    assert records(svc, svc.key(), user_id="cy")  # cy keeps everything


def test_a_read_only_key_sees_no_buttons_and_cannot_change_anything(
    svc: Service, page: Page
) -> None:
    key = svc.key(scopes="read")
    sign_in(page, svc, key)
    page.goto(svc.url + "/ui/users/cy?agent=semantic")
    assert "read-only" in page.locator("header").inner_text()
    assert page.get_by_role("link", name="Forget cy…").count() == 0
    page.locator("table.memories a").first.click()
    assert page.get_by_role("link", name="Delete…").count() == 0
    assert page.get_by_role("link", name="Edit text…").count() == 0
    memory = page.url.rsplit("/", 1)[1]
    # the form a write key would see, built by hand with this session's CSRF token; the
    # answer awaited as a navigation (the page already loaded would not wait for it)
    with page.expect_navigation():
        page.evaluate(
            """(memory) => {
            const form = document.querySelector('header form');
            form.action = '/ui/users/cy/memories/' + memory + '/delete';
            form.submit();
        }""",
            memory,
        )
    assert "lacks the 'delete' scope" in page.locator("main").inner_text()
    assert records(svc, svc.key(), user_id="cy", memory_type="semantic")


def test_a_form_without_its_csrf_token_is_refused(svc: Service, page: Page) -> None:
    sign_in(page, svc, svc.key())
    page.goto(svc.url + "/ui/users/cy/forget")
    page.evaluate("document.querySelector('main input[name=csrf]').remove()")
    page.get_by_label("Type the user id").fill("cy")
    page.get_by_role("button", name="Forget cy").click()
    assert "security token" in page.locator("main").inner_text()
    assert records(svc, svc.key(), user_id="cy")


def test_a_user_with_10k_memories_pages_quickly(
    svc: Service, page: Page, tmp_path: Path, record_property: Any
) -> None:
    sign_in(page, svc, svc.key(scopes="read"))
    timings = []
    for number in (1, 2, BULK // 50):
        started = time.perf_counter()
        page.goto(f"{svc.url}/ui/users/bulk?agent=episodic&page={number}")
        page.wait_for_load_state("load")
        timings.append(time.perf_counter() - started)
        assert page.locator("table.memories tbody tr").count() == 50
        assert f"page {number} of {BULK // 50}" in page.locator("nav.pager").inner_text()
    shot(page, "10k", tmp_path)
    report = ", ".join(f"{t * 1000:.0f} ms" for t in timings)
    record_property("ui_10k_page_load", report)
    print(f"\n/ui/users/bulk ({BULK:,} memories), pages 1, 2 and last: {report}")
