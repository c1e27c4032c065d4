"""The id key in server mode lives on the graph server: hosts with no `id_key` configured
share the key the first of them created there (one per deployment and project), make
the same ids, and keep no key file; a host whose configured key or key file disagrees
with the stored key is refused before it writes anything."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from octomem import ConfigurationError, Orchestrator
from octomem.embeddings import Embedder
from octomem.id_key import fingerprint, project_key
from octomem.orchestrator import lifecycle
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings
from octomem.stores.neo4j_client import Neo4jClient

pytestmark = pytest.mark.integration
TALK = "Hi, I'm Alice. I live in Paris and I love jazz."
KEY = "configured-id-key-" + "c" * 32


@pytest.fixture
def servers(server_stores: dict[str, Any]) -> dict[str, Any]:
    """Server mode with no configured id key."""
    return {k: v for k, v in server_stores.items() if k != "id_key"}


@pytest.fixture
def host(tmp_path: Path, servers: dict[str, Any], embedder: Embedder) -> Iterator[Any]:
    """Factory: an Orchestrator on the servers, with a data directory of its own."""
    opened: list[Orchestrator] = []

    def make(name: str, **overrides: Any) -> Orchestrator:
        settings = load_settings(data_dir=tmp_path / name, **{**servers, **overrides})
        orch = Orchestrator(settings, embedder=embedder)
        opened.append(orch)
        return orch

    yield make
    for orch in opened:
        orch.close()


def _ids(orch: Orchestrator, user: str = "alice") -> set[str]:
    return {r.id for r in orch.get_all(user_id=user, include_superseded=True)}


def _stored(servers: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    graph = servers["graph"]

    async def read() -> list[dict[str, Any]]:
        client = Neo4jClient(
            graph["uri"], graph["user"], graph["password"], database=graph["database"]
        )
        try:
            rows = await client.query(
                "read",
                "MATCH (k:OctomemIdKey {namespace: $ns}) RETURN k.key AS key, k.check AS check",
                write=False,
                ns=namespace,
            )
            return [dict(row) for row in rows]
        finally:
            await client.close()

    return asyncio.run(read())


def test_hosts_share_the_key_the_first_one_stored(
    host: Callable[..., Orchestrator], servers: dict[str, Any], tmp_path: Path
) -> None:
    a, b = host("a"), host("b")
    a.process(TALK, user_id="alice", session_id="s1")
    retried = b.process(TALK, user_id="alice", session_id="s1")  # a retry, on another host
    assert {op.operation.value for op in retried.all_operations()} <= {"NOOP"}
    assert _ids(a) == _ids(b) and len(_ids(a)) > 3
    assert services_of(a).id_key == services_of(b).id_key is not None
    assert not [p for p in tmp_path.rglob("id.key*")]  # no key file on the app hosts
    [node] = _stored(servers, load_settings(**servers).namespace)
    assert node["key"].encode() == services_of(a).id_key
    assert node["check"] == fingerprint(node["key"])

    # the data directory of a host is lost: its replacement makes the same ids
    a.close()
    shutil.rmtree(tmp_path / "a")
    again = host("a")
    again.process(TALK, user_id="alice", session_id="s1")
    assert _ids(again) == _ids(b)


def test_hosts_opening_at_once_agree_on_one_key(
    tmp_path: Path, servers: dict[str, Any], embedder: Embedder
) -> None:
    """Six hosts open a fresh namespace at the same moment (each its own connection):
    one key is created, all six read it."""
    settings = [load_settings(data_dir=tmp_path / f"h{i}", **servers) for i in range(6)]
    services = [lifecycle.build_services(s, embedder=embedder) for s in settings]

    async def open_all() -> list[bytes | None]:
        try:
            await asyncio.gather(*(lifecycle.open_services(s) for s in services))
            return [s.id_key for s in services]
        finally:
            for s in services:
                await lifecycle.close(s)

    keys = asyncio.run(open_all())
    assert len(set(keys)) == 1 and keys[0] is not None
    assert len(_stored(servers, settings[0].namespace)) == 1


def test_every_deployment_and_project_its_own_key(
    host: Callable[..., Orchestrator], servers: dict[str, Any]
) -> None:
    other = f"x{uuid.uuid4().hex[:10]}"
    orchs = [host("a"), host("b", project="acme"), host("c", deployment=other)]
    for orch in orchs:
        orch.process(TALK, user_id="alice", session_id="s1")
    keys = [services_of(orch).id_key for orch in orchs]
    assert len(set(keys)) == 3
    ids = [_ids(orch) for orch in orchs]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    again = host("d", project="acme")  # the same project on another host: the same key
    assert _ids(again) == ids[1] and services_of(again).id_key == keys[1]


def test_a_configured_key_that_disagrees_with_the_stored_one_is_refused(
    host: Callable[..., Orchestrator], servers: dict[str, Any]
) -> None:
    first = host("a")
    first.process(TALK, user_id="alice", session_id="s1")
    before = _ids(first)
    late = host("b", id_key=KEY)
    with pytest.raises(ConfigurationError, match="another id key") as refused:
        late.process(TALK, user_id="alice", session_id="s1")
    assert KEY not in str(refused.value)
    assert _ids(first) == before  # nothing written under the other key


def test_configured_keys_store_only_a_fingerprint(
    host: Callable[..., Orchestrator], servers: dict[str, Any], tmp_path: Path
) -> None:
    a = host("a", id_key=KEY)
    a.process(TALK, user_id="alice", session_id="s1")
    namespace = load_settings(**servers).namespace
    [node] = _stored(servers, namespace)
    assert node["key"] is None  # the secret never leaves the hosts that configure it
    assert node["check"] == fingerprint(project_key(KEY, namespace))
    b = host("b", id_key=KEY)  # the same key on another host: welcome
    assert _ids(b) == _ids(a)
    with pytest.raises(ConfigurationError, match="another configured id_key"):
        host("c", id_key="another-configured-key-" + "d" * 32).get_all(user_id="alice")
    with pytest.raises(ConfigurationError, match="set the same id_key"):
        host("d").get_all(user_id="alice")  # no key: it cannot make these ids
    assert not [p for p in tmp_path.rglob("id.key*")]


def test_a_key_file_from_an_earlier_version_moves_to_the_server(
    host: Callable[..., Orchestrator], servers: dict[str, Any], tmp_path: Path
) -> None:
    """Hosts that shared a copied ``id.key``: the first to open stores it on the server,
    a new host without the file gets it, a host with another file is refused."""
    copied = "copied-key-file-" + "f" * 40

    def key_file(name: str, key: str) -> None:  # where the default deployment has data_dir
        folder = load_settings(data_dir=tmp_path / name, **servers).store_dir
        folder.mkdir(parents=True)
        (folder / "id.key").write_text(key + "\n")

    key_file("a", copied)
    a = host("a")
    a.process(TALK, user_id="alice", session_id="s1")
    assert services_of(a).id_key == copied.encode()
    fresh = host("c")
    assert _ids(fresh) == _ids(a) and services_of(fresh).id_key == copied.encode()
    key_file("d", "another-key-file-" + "e" * 40)
    with pytest.raises(ConfigurationError, match="differs from the one stored"):
        host("d").get_all(user_id="alice")


def test_memories_without_a_stored_key_are_never_given_a_new_one(
    host: Callable[..., Orchestrator], servers: dict[str, Any]
) -> None:
    """A namespace whose memories were written before the key moved to the server (here:
    its key node lost) gets no random key that would give them other ids."""
    a = host("a")
    a.process(TALK, user_id="alice", session_id="s1")
    graph = servers["graph"]
    namespace = load_settings(**servers).namespace

    async def drop_key() -> None:
        client = Neo4jClient(
            graph["uri"], graph["user"], graph["password"], database=graph["database"]
        )
        try:
            await client.query(
                "drop", "MATCH (k:OctomemIdKey {namespace: $ns}) DELETE k", ns=namespace
            )
        finally:
            await client.close()

    asyncio.run(drop_key())
    with pytest.raises(ConfigurationError, match="holds memories but no id key"):
        host("b").get_all(user_id="alice")
    assert _stored(servers, namespace) == []
    with_key = host("c", id_key=KEY)  # a configured key is the operator's word: accepted
    assert _ids(with_key) == _ids(a)
    assert [node["key"] for node in _stored(servers, namespace)] == [None]
