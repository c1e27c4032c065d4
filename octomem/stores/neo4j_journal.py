"""Journal on the graph server (server mode): the write-ahead intents of every host, so that
any host can complete the writes another left unfinished. Nodes in the project's namespace
(`graph_common.Namespace`):

- OctomemIntent: an intent's JSON `body`, the users it writes (`users`, read without the
  body by `pending(touching=...)`), its `owner` (host and process), its `created` time
  (server clock, ms) and `seq`, its place in the order of intents;
- OctomemIntentPart: part `n` of an intent too large for one node (an import), each in a
  transaction of its own.

`seq` is `max(server clock in ms, the largest seq of the namespace's pending intents + 1)`:
an intent begun after another committed (as every write of one user is, under its lock)
sorts after it, whichever host began them and whatever the server's clock does. Intents of
different users begun at once may share a `seq` and sort by id; their order does not
matter.
"""

from __future__ import annotations

import json
import os
import socket
from typing import LiteralString

from octomem import offload
from octomem.memory_types import BUILTIN_REGISTRY, TypeRegistry
from octomem.models import IntentPart, WriteIntent
from octomem.stores.fence import Fence
from octomem.stores.graph_common import SEPARATOR
from octomem.stores.neo4j_client import Neo4jClient, ServerStore, Tx, records

_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT octomem_intent_key IF NOT EXISTS "
    "FOR (i:OctomemIntent) REQUIRE i.key IS UNIQUE",
    "CREATE INDEX octomem_intent_ns IF NOT EXISTS FOR (i:OctomemIntent) ON (i.ns)",
    "CREATE CONSTRAINT octomem_intent_part_key IF NOT EXISTS "
    "FOR (p:OctomemIntentPart) REQUIRE p.key IS UNIQUE",
    "CREATE INDEX octomem_intent_part_intent IF NOT EXISTS FOR (p:OctomemIntentPart) ON (p.intent)",
    "CREATE INDEX octomem_intent_part_ns IF NOT EXISTS FOR (p:OctomemIntentPart) ON (p.ns)",
)
# `seq` from the largest of the namespace and the server's clock, in the same statement
_BEGIN: LiteralString = (
    "OPTIONAL MATCH (x:OctomemIntent) WHERE x.ns = $ns "
    "WITH coalesce(max(x.seq), 0) AS top, timestamp() AS now "
    "MERGE (i:OctomemIntent {key: $key}) "
    "SET i.ns = $ns, i.id = $id, i.users = $users, i.body = $body, i.owner = $owner, "
    "i.created = now, i.seq = CASE WHEN top + 1 > now THEN top + 1 ELSE now END"
)
_ADD_PART: LiteralString = (
    "MERGE (p:OctomemIntentPart {key: $key}) "
    "SET p.ns = $ns, p.intent = $intent, p.n = $n, p.body = $body"
)
_PART: LiteralString = "MATCH (p:OctomemIntentPart {key: $key}) RETURN p.body AS body"
# its parts, then the intent: no part outlives it
_DROP: LiteralString = (
    "OPTIONAL MATCH (p:OctomemIntentPart) WHERE p.intent = $intent DELETE p "
    "WITH count(*) AS parts OPTIONAL MATCH (i:OctomemIntent {key: $intent}) DELETE i"
)
_PENDING: LiteralString = (
    "MATCH (i:OctomemIntent) WHERE i.ns = $ns "
    "RETURN i.key AS key, i.users AS users ORDER BY i.seq, i.key"
)
_BODIES: LiteralString = (
    "UNWIND $keys AS k MATCH (i:OctomemIntent {key: k}) RETURN i.key AS key, i.body AS body"
)
_IS_PENDING: LiteralString = "MATCH (i:OctomemIntent {key: $key}) RETURN i.key AS key"
# `reset`, in batches
_RESET: tuple[LiteralString, ...] = tuple(
    "MATCH (n:" + label + ") WHERE n.ns = $ns WITH n LIMIT 1000 DELETE n RETURN count(*) AS deleted"
    for label in ("OctomemIntentPart", "OctomemIntent")
)


def this_process() -> str:
    """The owner of the intents this process begins: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Neo4jJournal(ServerStore):
    """Write-ahead intents on a Neo4j (or Bolt + Cypher) server; see
    `octomem.stores.base.Journal` and this module's docstring. Its intents' `owner` is
    this process's host name and pid, taken at each `begin` (a forked worker names
    itself)."""

    WHAT = "journal"
    SCHEMA = _SCHEMA

    def __init__(
        self,
        client: Neo4jClient,
        *,
        namespace: str = "",
        types: TypeRegistry = BUILTIN_REGISTRY,
    ) -> None:
        """`types`: the memory types its intents' records are read as (those of types
        it lacks - another Orchestrator's agents' - as `CustomMemory`)."""
        super().__init__(client, namespace=namespace)
        self._types = types

    def _part_key(self, intent_id: str, index: int) -> str:
        return f"{self._ns.key(intent_id)}{SEPARATOR}{index}"

    async def begin(self, intent: WriteIntent, *, fence: Fence | None = None) -> None:
        size = len(intent.writes) + len(intent.rewrites) + len(intent.deletes)
        body = await offload.cpu(size, intent.model_dump_json)  # a large one: off the loop
        ns = self._ns.project
        params = {
            "key": self._ns.key(intent.id),
            "ns": ns,
            "id": intent.id,
            "users": json.dumps(intent.user_ids()),
            "body": body,
            "owner": this_process(),
        }

        await self._deferred("begin", [(_BEGIN, params)], fence=fence)

    async def add_part(
        self, intent_id: str, index: int, part: IntentPart, *, fence: Fence | None = None
    ) -> None:
        await self._query(
            "add_part",
            _ADD_PART,
            fence=fence,
            key=self._part_key(intent_id, index),
            ns=self._ns.project,
            intent=self._ns.key(intent_id),
            n=index,
            body=part.model_dump_json(),
        )

    async def part(self, intent_id: str, index: int) -> IntentPart | None:
        rows = await self._query("part", _PART, write=False, key=self._part_key(intent_id, index))
        if not rows:
            return None
        return IntentPart.model_validate_json(rows[0]["body"], context=self._types.reading_context)

    async def finish(self, intent_id: str, *, fence: Fence | None = None) -> None:
        await self._deferred("finish", [(_DROP, {"intent": self._ns.key(intent_id)})], fence=fence)

    async def pending(self, touching: set[str | None] | None = None) -> list[WriteIntent]:
        async def read(tx: Tx) -> list[str]:
            rows = await records(tx, _PENDING, ns=self._ns.project)
            keys = [
                row["key"]
                for row in rows
                if touching is None or touching & set(json.loads(row["users"]))
            ]
            if not keys:
                return []
            bodies = {row["key"]: row["body"] for row in await records(tx, _BODIES, keys=keys)}
            return [bodies[key] for key in keys if key in bodies]  # one finished meanwhile

        return [
            WriteIntent.model_validate_json(body, context=self._types.reading_context)
            for body in await self._call("pending", read, write=False)
        ]

    async def is_pending(self, intent_id: str) -> bool:
        rows = await self._query(
            "is_pending", _IS_PENDING, write=False, key=self._ns.key(intent_id)
        )
        return bool(rows)

    async def reset(self) -> None:
        """Delete this namespace's intents and parts (other deployments' and
        projects' stay)."""
        for query in _RESET:
            await self._drain("reset", query, ns=self._ns.project)
