"""A writer's deferred graph writes sent as one statement, in one round trip: each in a
`CALL { }` subquery of its own (its parameters renamed apart), run in order, behind the
writer's fence as a gate - the lease nodes checked and written first, as every fenced
write does (`neo4j_client`); no row comes back, and nothing is written, if a lease passed
to another writer. Neo4j and ArcadeDB both run unit subqueries (ones that return nothing)
once for the one row the gate lets through, whatever their statement matched; an
answered statement's rows are collected into that row (a subquery within its own).

A statement that may lead (`Answered.leads`) opens the whole statement instead, before the
gate: ArcadeDB plans a match of edges by an indexed property (`WHERE r.id IN $ids`) with
that index only as a statement's first clause - in a subquery it read every edge (126 ms
against 6 ms at 40,000 memories). Run before the gate, it is rolled back with the rest
when the gate finds a lease lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, LiteralString, TypeAlias, cast

from octomem.stores.cypher_graph import Row, Statement


@dataclass(frozen=True)
class Answered:
    """Statements whose last one answers rows of one column (named by its last `AS`),
    `told` to the writer once they ran, inside their transaction: an error `told` raises
    rolls it back, with every write sent with them."""

    statements: Sequence[Statement]
    told: Callable[[list[Row]], None]
    # the first statement reads and writes nothing that the writes deferred before it
    # touch: it may lead the combined statement, if no other does
    leads: bool = False


# what a store defers: statements whose answers it reads nothing of, or `Answered` ones
Deferred: TypeAlias = Sequence[Statement] | Answered

_PARAM = re.compile(r"\$(\w+)")
_ALIAS = re.compile(r"\bRETURN\s.*\bAS\s+(\w+)\s*$", re.DOTALL)  # its one column
_GATE: LiteralString = (
    "UNWIND $fences AS f MATCH (l:OctomemLease {key: f.key}) WHERE l.token = f.token "
    "SET l.fenced = f.token WITH count(l) AS held WHERE held = $held "
)
_OPEN: LiteralString = "WITH 1 AS held "


@dataclass(frozen=True)
class Combined:
    """One statement for a writer's deferred writes, and whom to tell the answers of
    the `Answered` ones (their columns, in order, after `held`)."""

    query: LiteralString
    params: dict[str, Any]
    told: list[Callable[[list[Row]], None]]


def combined(works: Sequence[Deferred], tokens: Sequence[tuple[str, int]]) -> Combined:
    """One statement that runs `works`' statements in order, behind the gate of the leases
    `tokens` (none: no gate); it returns one row if they ran."""
    params: dict[str, Any] = {}
    parts: list[str] = [_GATE if tokens else _OPEN]
    if tokens:
        params["fences"] = [{"key": key, "token": token} for key, token in tokens]
        params["held"] = len(tokens)
    lead = next((w for w in works if isinstance(w, Answered) and w.leads), None)
    returned, told, index = ["held"], [], 0
    for work in works:
        statements = work.statements if isinstance(work, Answered) else work
        for position, (query, given) in enumerate(statements, start=1):
            prefix, index = f"s{index}_", index + 1
            text = _PARAM.sub(rf"${prefix}\1", query)
            params.update({prefix + name: value for name, value in given.items()})
            if work is lead and position == 1:  # one row whatever it matched
                parts.insert(0, f"{text} WITH count(*) AS {prefix}led ")
                continue
            if isinstance(work, Answered) and position == len(statements):
                alias = _ALIAS.search(text)
                if alias is None:
                    raise ValueError(f"an answered statement names no column: {query!r}")
                returned.append(prefix + alias.group(1))
                # its rows collected into one: however many it answers (none, several),
                # the statement keeps its one row - no later write run twice, and no row
                # only when the gate let none through
                text = f"CALL {{ {text} }} RETURN collect([{alias.group(1)}]) AS {returned[-1]}"
                told.append(work.told)
            parts.append("CALL { " + text + " } ")
    # built from the stores' constant statements only, never from user text
    query = cast(LiteralString, "".join(parts) + "RETURN " + ", ".join(returned))
    return Combined(query, params, told)


async def run(
    tx: Any, works: Sequence[tuple[str, Deferred]], tokens: Sequence[tuple[str, int]]
) -> bool:
    """Run deferred `works` in the transaction `tx`, as one statement (`combined`) behind
    the gate of the leases `tokens`, and tell the answered ones their answers. False if a
    lease passed to another writer: none of the writes ran but a leading one, which the
    caller's failing transaction rolls back."""
    statement = combined([work for _, work in works], tokens)
    result = await tx.run(statement.query, statement.params)
    rows = [record async for record in result]
    if not rows:
        return False
    for column, told in enumerate(statement.told, start=1):
        told([list(row) for row in rows[0][column]])
    return True
