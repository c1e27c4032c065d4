"""Several write statements sent as one, in one round trip: each in a `CALL { }` subquery
of its own (its parameters renamed apart), run in order, behind the writer's fence as a
gate - the lease nodes checked and written first, as every fenced write does
(`neo4j_client`); no row comes back, and nothing is written, if a lease passed to
another writer. Neo4j and ArcadeDB both run unit subqueries (ones that return nothing),
each once for the one row the gate lets through, whatever its statement matched.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, LiteralString, cast

Statement = tuple[LiteralString, Mapping[str, Any]]

_PARAM = re.compile(r"\$(\w+)")
_GATE: LiteralString = (
    "UNWIND $fences AS f MATCH (l:OctomemLease {key: f.key}) WHERE l.token = f.token "
    "SET l.fenced = f.token WITH count(l) AS held WHERE held = $held "
)
_OPEN: LiteralString = "WITH 1 AS held "


def combined(
    statements: Sequence[Statement], tokens: Sequence[tuple[str, int]]
) -> tuple[LiteralString, dict[str, Any]]:
    """One statement that runs `statements` in order, behind the gate of the leases
    `tokens` (none: no gate); it returns one row if they ran."""
    params: dict[str, Any] = {}
    parts: list[str] = [_GATE if tokens else _OPEN]
    if tokens:
        params["fences"] = [{"key": key, "token": token} for key, token in tokens]
        params["held"] = len(tokens)
    for index, (query, given) in enumerate(statements):
        prefix = f"s{index}_"
        parts.append("CALL { " + _PARAM.sub(rf"${prefix}\1", query) + " } ")
        params.update({prefix + name: value for name, value in given.items()})
    # built from the stores' constant statements only, never from user text
    return cast(LiteralString, "".join(parts) + "RETURN held"), params


def grouped(works: Sequence[tuple[str, object]]) -> Iterator[object]:
    """The deferred works in order, each run of consecutive statement lists as one list."""
    run: list[Statement] = []
    for _, work in works:
        if isinstance(work, list):
            run.extend(work)
            continue
        if run:
            yield run
            run = []
        yield work
    if run:
        yield run


async def run(
    tx: Any, works: Sequence[tuple[str, object]], tokens: Sequence[tuple[str, int]]
) -> bool:
    """Run deferred `works` in the transaction `tx`, in order - each run of statements as
    one (`combined`), a unit of work as itself - the first behind the gate of the leases
    `tokens`. False, with nothing run, if a lease passed to another writer."""
    gate = tokens
    for group in grouped(works):
        query, params = combined(group if isinstance(group, list) else [], gate)
        if (gate or isinstance(group, list)) and not await _rows(tx, query, params):
            return False
        if not isinstance(group, list):
            await cast(Callable[[Any], Awaitable[None]], group)(tx)
        gate = ()
    return True


async def _rows(tx: Any, query: LiteralString, params: Mapping[str, Any]) -> list[Any]:
    result = await tx.run(query, params)
    return [record async for record in result]
