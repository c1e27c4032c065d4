"""Fewer round trips to a Bolt server: BEGIN sent with a transaction's first statement,
and reads that need no snapshot run statement by statement, each auto-committed (one round
trip each; a read transaction takes one more, for its commit)."""

from __future__ import annotations

import contextlib
from typing import Any, LiteralString

from neo4j import AsyncResult, AsyncSession, Query


def pipelined(session: AsyncSession) -> contextlib.AbstractContextManager[object]:
    """While in force, `session` sends BEGIN with the transaction's first statement, not
    in a round trip of its own (as the driver's `execute_query` does: a switch of its
    session, not public API; a driver without it begins in a round trip of its own)."""
    switch = getattr(session, "_pipelined_begin", None)
    if isinstance(switch, contextlib.AbstractContextManager):
        return switch
    return contextlib.nullcontext()


class AutoCommit:
    """Stands for a read transaction: runs each statement in an auto-commit transaction of
    its own (`Neo4jClient.call` of a read)."""

    def __init__(self, session: AsyncSession, timeout_s: float) -> None:
        self._session, self._timeout_s = session, timeout_s

    async def run(self, query: LiteralString, params: dict[str, Any]) -> AsyncResult:
        return await self._session.run(Query(query, timeout=self._timeout_s), params)
