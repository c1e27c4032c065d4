"""The inspector in server mode (Chroma's server and a Bolt graph server): two hosts of one
deployment share the keys and, with `service.jwt_secret` set, the sessions - a session
signed in on one host opens the other's pages, a change made on one shows on the other,
and a sign-out on one ends the session on the other."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from octomem.service.app import create_app
from octomem.service.ui.session import COOKIE
from octomem.settings import load_settings

pytestmark = pytest.mark.integration
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_two_hosts_share_keys_sessions_and_sign_outs_and_see_one_truth(
    tmp_path: Path, server_stores: dict[str, Any]
) -> None:
    secret = {"service": {"jwt_secret": "ui-server-mode-" + "s" * 40}}
    hosts = [
        create_app(load_settings(data_dir=tmp_path / f"host{n}", **server_stores, **secret))
        for n in (1, 2)
    ]
    with TestClient(hosts[0]) as one, TestClient(hosts[1]) as two:
        keys = hosts[0].state.octomem.keys
        _, key = one.portal.call(
            functools.partial(keys.create, project="default", scopes=["read", "write", "delete"])
        )
        api = {"Authorization": f"Token {key}"}
        for text in ("I live in Paris.", "I moved to Berlin."):
            body = {"messages": text, "user_id": "ana"}
            assert one.post("/v1/process", json=body, headers=api).status_code == 200
        form = one.get("/ui/login")
        token = CSRF.search(form.text)
        assert token
        signed = one.post("/ui/login", data={"key": key, "csrf": token.group(1)})
        assert signed.status_code == 200 and "ana" in signed.text
        two.cookies.update(one.cookies)  # the same browser, sent to the other host
        page = two.get("/ui/users/ana?agent=semantic&all=true")
        assert page.status_code == 200, page.text
        assert "Berlin" in page.text and "superseded" in page.text
        paris = re.search(r'/memories/([A-Za-z0-9_]+)">[^<]*Paris', page.text)
        assert paris
        story = two.get(f"/ui/users/ana/memories/{paris.group(1)}")
        assert "SUPERSEDE" in story.text and "I live in Paris" in story.text
        graph = one.get("/ui/users/ana/graph")
        assert '"classes": "invalid"' in graph.text and '"classes": "current"' in graph.text
        csrf = CSRF.search(story.text)
        assert csrf
        done = two.post("/ui/users/ana/forget", data={"csrf": csrf.group(1), "confirm": "ana"})
        assert done.status_code == 200 and "ana is forgotten" in done.text
        assert one.get("/v1/records", params={"user_id": "ana"}, headers=api).json() == []
        assert one.get("/ui/users").status_code == 200
        out = two.post("/ui/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
        assert out.status_code == 303 and COOKIE not in two.cookies
        # host one still holds the cookie: the session is over there too
        gone = one.get("/ui/users", follow_redirects=False)
        assert (gone.status_code, gone.headers["location"]) == (303, "/ui/login")
