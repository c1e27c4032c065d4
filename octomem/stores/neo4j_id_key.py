"""The id key of a namespace, kept on the graph server (`octomem.id_key` decides what to do
with it): one ``OctomemIdKey`` node per namespace, unique on it, created by whichever host
comes first. Two hosts creating it at once cannot both commit (the constraint fails one),
and the retry (`neo4j_client._write`) reads the winner's node.
"""

from __future__ import annotations

from typing import LiteralString

from octomem.stores.base import StoredIdKey
from octomem.stores.graph_common import NAMESPACED, Namespace
from octomem.stores.neo4j_client import Neo4jClient, Tx, records

_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT octomem_id_key IF NOT EXISTS "
    "FOR (k:OctomemIdKey) REQUIRE k.namespace IS UNIQUE",
)
_READ: LiteralString = (
    "MATCH (k:OctomemIdKey {namespace: $ns}) RETURN k.key AS key, k.check AS check"
)
_CREATE: LiteralString = (
    "CREATE (k:OctomemIdKey {namespace: $ns, key: $key, check: $check, created_at: timestamp()})"
)
# whether the namespace already holds memories (written under some key)
_ANY_MEMORY: LiteralString = "MATCH (n:Memory) WHERE " + NAMESPACED + " RETURN n.id AS id LIMIT 1"


class Neo4jIdKeyStore:
    """The id keys on the graph server `client` reaches; see `octomem.stores.base.IdKeyStore`."""

    def __init__(self, client: Neo4jClient) -> None:
        self._client = client

    @property
    def where(self) -> str:
        return self._client.where

    async def load_or_store(
        self, namespace: str, key: str | None, check: str, *, only_if_empty: bool
    ) -> StoredIdKey | None:
        client = self._client
        await client.run_schema(_SCHEMA, what="id key")

        async def work(tx: Tx) -> StoredIdKey | None:
            found = await records(tx, _READ, ns=namespace)
            if found:
                return StoredIdKey(found[0]["key"], str(found[0]["check"]))
            if only_if_empty and await records(tx, _ANY_MEMORY, **Namespace(namespace).params):
                return None
            await records(tx, _CREATE, ns=namespace, key=key, check=check)
            return StoredIdKey(key, check)

        return await client.call("id_key", work, what="id key")
