"""Which key store a service uses: on the graph server when the graph is one, so every host
of a deployment shares its keys and revocations; else the data directory's SQLite file."""

from __future__ import annotations

import time
from collections.abc import Callable

from octomem.service.keys import Keys, KeyStore
from octomem.service.keys_neo4j import Neo4jKeyStore
from octomem.settings import Settings
from octomem.stores.open import graph_server


def open_keys(settings: Settings, *, clock: Callable[[], float] = time.time) -> Keys:
    """The key store of `settings`: on the graph server when the graph is one, else the file.
    `clock`: the time keys are created, revoked and checked for expiry at."""
    server = graph_server(settings)
    if server is not None:
        return Neo4jKeyStore(server, deployment=settings.deployment, clock=clock)
    return KeyStore(settings.data_dir, clock=clock)
