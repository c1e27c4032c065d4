"""API keys in server mode live on the graph server, scoped by the deployment: a key
created on one host works on every host of the deployment, a revocation on one counts on
all from their next request, no host keeps a key file, and another deployment on the
same server never accepts or lists them, nor sees their signed-out inspector sessions.
Both key stores keep the same contract, ended sessions included."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from octomem import InvalidInputError, NotFoundError
from octomem.service.key_stores import open_keys
from octomem.service.keys import Keys, KeyStore, digest, keys_path
from octomem.service.keys_neo4j import Neo4jKeyStore
from octomem.settings import load_settings
from tests.service_support import Service, octomem

pytestmark = pytest.mark.integration
JWT = "keys-server-jwt-" + "j" * 40


def _servers(server_stores: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in server_stores.items() if k != "id_key"}


class Clock:
    """The key store's clock, which the test moves: it starts at the real time, and each
    reading is a millisecond after the last, as a running clock's would be."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "neo4j"])
def keys(
    request: pytest.FixtureRequest, tmp_path: Path, server_stores: dict[str, Any], clock: Clock
) -> Keys:
    """A key store on `clock`, not yet opened (its driver belongs to the event loop that
    opens it)."""
    if request.param == "sqlite":
        return KeyStore(tmp_path, clock=clock)
    store = open_keys(load_settings(data_dir=tmp_path, **_servers(server_stores)), clock=clock)
    assert isinstance(store, Neo4jKeyStore)
    return store


def test_the_key_store_contract(keys: Keys, clock: Clock) -> None:
    async def run() -> None:
        await keys.init()
        try:
            await contract()
        finally:
            await keys.close()

    async def contract() -> None:
        row, key = await keys.create(project="acme", scopes=["read", "admin"], name="ci")
        assert await keys.verify(key) == row
        assert await keys.verify_secret(row.id, key) == row
        assert await keys.verify_secret("0" * 16, key) is None
        assert await keys.get(row.id) == row
        pinned, pinned_key = await keys.create(project="b", user_id="ana", rate_limit=7)
        assert (await keys.verify(pinned_key)) == pinned
        assert (pinned.user_id, pinned.rate_limit, pinned.scopes) == (
            "ana",
            7,
            ("read", "write", "delete"),
        )
        assert [k.id for k in await keys.list()] == [row.id, pinned.id]
        assert [k.id for k in await keys.list("b")] == [pinned.id]
        for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), "om_x", "", pinned_key + "x"):
            assert await keys.verify(wrong) is None
        in_an_hour = datetime.fromtimestamp(clock.now + 3600, UTC)
        expiring, expiring_key = await keys.create(project="acme", expires_at=in_an_hour)
        assert expiring.expires_at is not None
        assert await keys.verify(expiring_key) == expiring
        revoked = await keys.revoke(row.id)
        assert revoked.revoked_at is not None and revoked.view()["status"] == "revoked"
        assert (await keys.revoke(row.id)).revoked_at == revoked.revoked_at  # kept once
        assert await keys.verify(key) is None
        assert await keys.verify(pinned_key) == pinned  # the others stand
        with pytest.raises(NotFoundError, match="keys list"):
            await keys.revoke("f" * 16)
        clock.now = expiring.expires_at - 1.0  # a second before its expiry: still good
        assert await keys.verify(expiring_key) == expiring
        assert await keys.verify_secret(expiring.id, expiring_key) == expiring
        clock.now = expiring.expires_at  # from its expiry on: refused, whatever the way
        assert await keys.verify(expiring_key) is None
        assert await keys.verify_secret(expiring.id, expiring_key) is None
        assert (await keys.get(expiring.id)) == expiring  # still listed, as expired
        with pytest.raises(InvalidInputError, match="future"):  # not made already expired
            await keys.create(project="acme", expires_at=in_an_hour)

    asyncio.run(run())


def test_the_ended_sessions_contract(keys: Keys, clock: Clock, tmp_path: Path) -> None:
    """An inspector session signed out stays ended until its own expiry, then its record
    goes with the next sign-out; the nonce itself is never stored."""

    async def run() -> None:
        await keys.init()
        try:
            await contract()
        finally:
            await keys.close()

    async def contract() -> None:
        soon, later = "nonce-soon-" + "s" * 11, "nonce-later-" + "l" * 10
        assert not await keys.session_ended(soon)
        soon_until = clock.now + 60
        await keys.end_session(soon, soon_until)
        await keys.end_session(later, clock.now + 3600)
        await keys.end_session(later, clock.now + 3600)  # twice: once
        assert await keys.session_ended(soon) and await keys.session_ended(later)
        assert not await keys.session_ended("another-nonce")
        clock.now = soon_until - 1.0  # not yet past: kept through a write
        await keys.end_session("third", clock.now + 3600)
        assert await keys.session_ended(soon)
        clock.now = soon_until + 1.0  # past: the next write drops it
        assert await keys.session_ended(soon)
        await keys.end_session("fourth", clock.now + 3600)
        assert not await keys.session_ended(soon)
        for kept in (later, "third", "fourth"):
            assert await keys.session_ended(kept), kept
        if isinstance(keys, KeyStore):
            with sqlite3.connect(keys_path(tmp_path)) as conn:
                rows = {r[0] for r in conn.execute("SELECT nonce FROM ended_sessions")}
            assert rows == {digest(n) for n in (later, "third", "fourth")}

    asyncio.run(run())


def test_deployments_on_one_server_never_share_keys(
    tmp_path: Path, server_stores: dict[str, Any]
) -> None:
    servers = _servers(server_stores)
    mine = open_keys(load_settings(data_dir=tmp_path / "a", **servers))
    other_deployment = f"o{uuid.uuid4().hex[:10]}"
    their_clock = Clock()
    theirs = open_keys(
        load_settings(data_dir=tmp_path / "b", **{**servers, "deployment": other_deployment}),
        clock=their_clock,
    )

    async def run() -> None:
        try:
            row, key = await mine.create(project="default", scopes=["admin"])
            assert await theirs.verify(key) is None
            assert await theirs.get(row.id) is None
            assert await theirs.list() == []
            with pytest.raises(NotFoundError):
                await theirs.revoke(row.id)
            assert await mine.verify(key) == row  # untouched by the other's revoke
            # a session signed out in one deployment is not ended in the other
            await mine.end_session("shared-nonce", time.time() + 60)
            assert await mine.session_ended("shared-nonce")
            assert not await theirs.session_ended("shared-nonce")
            await theirs.end_session("theirs-only", time.time() + 3600)
            assert not await mine.session_ended("theirs-only")
            # the other's sign-outs neither clash with nor prune this one's
            their_clock.now = time.time() + 120
            await theirs.end_session("shared-nonce", their_clock.now + 3600)
            assert await theirs.session_ended("shared-nonce")
            assert await mine.session_ended("shared-nonce")
        finally:
            await mine.close()
            await theirs.close()

    asyncio.run(run())


def test_a_key_made_on_one_host_works_on_every_host_until_revoked_on_any(
    tmp_path: Path, server_stores: dict[str, Any]
) -> None:
    config = tmp_path / "server.yaml"
    config.write_text(yaml.safe_dump(_servers(server_stores)))
    env = {"OCTOMEM_SERVICE__JWT_SECRET": JWT}
    for host in ("a", "b"):
        (tmp_path / host).mkdir()
    with (
        Service.start(tmp_path / "a", config=config, env=env) as a,
        Service.start(tmp_path / "b", config=config, env=env) as b,
    ):
        key = a.key(scopes="read,write")  # `octomem keys create` on host a
        token = httpx.post(
            b.url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(a.key_id(key), key),
            timeout=120,
        ).json()["access_token"]
        for host in (a, b):
            for credential in (key, token):
                answer = httpx.get(
                    host.url + "/v1/records",
                    params={"user_id": "ana"},
                    headers={"Authorization": f"Bearer {credential}"},
                    timeout=120,  # a host's first request opens its project's stores
                )
                assert answer.status_code == 200, answer.text
        listed = octomem("keys", "list", "--json", "--config", str(config), env=b.env)
        assert a.key_id(key) in listed  # host b's CLI sees host a's key
        octomem("keys", "revoke", a.key_id(key), "--config", str(config), env=b.env)
        for host in (a, b):  # the next request, on either host
            for credential in (key, token):
                answer = httpx.get(
                    host.url + "/v1/records",
                    params={"user_id": "ana"},
                    headers={"Authorization": f"Bearer {credential}"},
                    timeout=120,  # a host's first request opens its project's stores
                )
                assert answer.status_code == 401, answer.text
        for host in (a, b):
            assert not (host.data_dir / "service" / "keys.sqlite").exists()
