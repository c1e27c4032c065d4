"""The API keys of a deployment in server mode, on its graph server: one ``OctomemApiKey``
node per key (unique on its id), scoped by the deployment, holding what the SQLite table
holds - the SHA-256 of the key, never the key. Every host of the deployment reads the
same nodes, so a key created on one host works on all, and a revocation on one counts on
all from their next request (no host caches a key).

The inspector's ended sessions likewise: one ``OctomemEndedSession`` node per signed-out
session, scoped by the deployment, holding the SHA-256 of its nonce and its expiry (unique
on ``key``, the deployment and that digest), so a sign-out on one host ends the session on
every host; a write drops the deployment's nodes past their expiry."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, LiteralString

from octomem.service.keys import (
    FIELDS,
    ApiKey,
    Keys,
    digest,
    from_stored,
    stored,
    unknown,
)
from octomem.stores.neo4j_client import Neo4jClient, Tx, records

_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT octomem_api_key_id IF NOT EXISTS "
    "FOR (k:OctomemApiKey) REQUIRE k.id IS UNIQUE",
    "CREATE CONSTRAINT octomem_ended_session_key IF NOT EXISTS "
    "FOR (s:OctomemEndedSession) REQUIRE s.key IS UNIQUE",
    "CREATE INDEX octomem_ended_session_until IF NOT EXISTS "
    "FOR (s:OctomemEndedSession) ON (s.until)",
)
_ROW: LiteralString = (
    " RETURN k.id AS id, k.project AS project, k.scopes AS scopes, k.user_id AS user_id, "
    "k.rate_limit AS rate_limit, k.name AS name, k.created_at AS created_at, "
    "k.expires_at AS expires_at, k.revoked_at AS revoked_at, k.digest AS digest"
)
_MINE: LiteralString = "MATCH (k:OctomemApiKey {id: $id, deployment: $deployment})"
_CREATE: LiteralString = "CREATE (k:OctomemApiKey) SET k = $props"
_LIST: LiteralString = (
    "MATCH (k:OctomemApiKey {deployment: $deployment}) "
    "WHERE $project IS NULL OR k.project = $project" + _ROW + " ORDER BY k.created_at, k.id"
)
_REVOKE: LiteralString = _MINE + " SET k.revoked_at = coalesce(k.revoked_at, $now)" + _ROW
# ended sessions: those of the deployment past their expiry go first, a bounded batch per
# write (each write adds one node, so the batches keep up)
_PRUNE: LiteralString = (
    "MATCH (s:OctomemEndedSession) WHERE s.until <= $now AND s.deployment = $deployment "
    "WITH s LIMIT 1000 DELETE s"
)
_END: LiteralString = (
    "MERGE (s:OctomemEndedSession {key: $key}) "
    "SET s.deployment = $deployment, s.nonce = $nonce, s.until = $until"
)
_ENDED: LiteralString = (
    "MATCH (s:OctomemEndedSession {key: $key}) WHERE s.deployment = $deployment "
    "RETURN s.until AS until"
)


def _key(row: Any) -> ApiKey:
    return from_stored([row[name] for name in FIELDS])


class Neo4jKeyStore(Keys):
    """The API keys of `deployment` on the graph server `client` reaches."""

    def __init__(
        self, client: Neo4jClient, *, deployment: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = client
        self._deployment = deployment
        self._ready = False
        self.clock = clock

    async def init(self) -> None:
        """The uniqueness constraint (the first call runs it if nobody did: the CLI)."""
        await self._db.run_schema(_SCHEMA, what="API key")
        self._ready = True

    async def _query(self, op: str, query: LiteralString, **params: Any) -> list[Any]:
        if not self._ready:
            await self.init()
        return await self._db.query(
            op,
            query,
            write=op in ("create", "revoke"),
            what="API key",
            deployment=self._deployment,
            **params,
        )

    async def close(self) -> None:
        await self._db.close()

    async def _insert(self, row: ApiKey, key_digest: str) -> None:
        props = {**stored(row), "deployment": self._deployment, "digest": key_digest}
        await self._query("create", _CREATE, props=props)

    async def list(self, project: str | None = None) -> list[ApiKey]:
        return [_key(row) for row in await self._query("list", _LIST, project=project)]

    async def revoke(self, key_id: str) -> ApiKey:
        rows = await self._query("revoke", _REVOKE, id=key_id, now=self.clock())
        if not rows:
            raise unknown(key_id)
        return _key(rows[0])

    async def _stored(self, op: str, key_id: str) -> tuple[str, ApiKey] | None:
        rows = await self._query(op, _MINE + _ROW, id=key_id)
        return (str(rows[0]["digest"]), _key(rows[0])) if rows else None

    async def end_session(self, nonce: str, until: float) -> None:
        if not self._ready:
            await self.init()
        mine = self._deployment

        async def work(tx: Tx) -> None:
            await records(tx, _PRUNE, now=self.clock(), deployment=mine)
            await records(
                tx,
                _END,
                key=self._session_key(nonce),
                deployment=mine,
                nonce=digest(nonce),
                until=float(until),
            )

        await self._db.call("end_session", work, what="API key")

    async def session_ended(self, nonce: str) -> bool:
        return bool(await self._query("session_ended", _ENDED, key=self._session_key(nonce)))

    def _session_key(self, nonce: str) -> str:
        """An ended session's unique key: its deployment's (which holds no '.') and its
        nonce's digest."""
        return f"{self._deployment}.{digest(nonce)}"
