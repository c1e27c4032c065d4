"""One connection to a Neo4j (or Bolt + Cypher) server, shared by every store on it (graph,
history, journal, keyword index: nothing durable stays on the app host in server mode).

It runs each unit of work in one transaction, retries writes that a concurrent writer or a
passing failure broke (`_write`), maps driver errors to octomem's, and fences writes: a
write given the `Fence` of its writer's scope leases (`octomem.stores.fence`) checks and
writes the lease nodes in the same transaction, so a writer whose lease passed to another
fails whole. Neo4j locks (a writer waits for the other's commit); ArcadeDB checks at commit
(a concurrent change to the same record, or a second node with one unique key, fails one
transaction), hence the retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, LiteralString, TypeVar

from neo4j import (
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    AsyncSession,
    AsyncTransaction,
    Bookmarks,
)
from neo4j import exceptions as neo4j_errors
from opentelemetry import trace

from octomem import retries
from octomem.errors import (
    ConfigurationError,
    InvalidInputError,
    OctomemError,
    StoreError,
    StoreUnavailableError,
)
from octomem.stores import causal, gather, neo4j_batch, stuck
from octomem.stores import fence as fences
from octomem.stores.cypher_graph import Statement
from octomem.stores.fence import Fence, LeaseLostError
from octomem.stores.graph_common import Namespace
from octomem.stores.neo4j_round_trips import AutoCommit, pipelined
from octomem.telemetry import traced

tracer = trace.get_tracer(__name__)

T = TypeVar("T")


Tx = AsyncManagedTransaction | AsyncTransaction | AutoCommit

# failures that may pass: an unreachable server, a lost session or leader, a deadlock
_PASSING = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.TransientError,
)
DEFAULT_TIMEOUT_S = 30.0  # graph.timeout_s
_DUPLICATE_RETRIES = 5  # a unique key taken by a concurrent MERGE is there on the retry

# Fencing, first in a fenced write: every lease the writer holds must still carry its
# token. The lease node is written (not only read) so that a concurrent take-over and this
# transaction serialise: Neo4j's node lock, ArcadeDB's commit-time version check.
_FENCE: LiteralString = (
    "UNWIND $fences AS f MATCH (l:OctomemLease {key: f.key}) WHERE l.token = f.token "
    "SET l.fenced = f.token RETURN count(l) AS held"
)


async def records(tx: Tx, query: LiteralString, **params: Any) -> list[Any]:
    result = await tx.run(query, params)
    return [record async for record in result]


async def _held(tx: Tx, query: LiteralString, tokens: Sequence[tuple[str, int]]) -> bool:
    rows = [{"key": key, "token": token} for key, token in tokens]
    found = await records(tx, query, fences=rows)
    return bool(found) and int(found[0]["held"]) == len(rows)


async def _write(session: AsyncSession, work: Callable[[Tx], Awaitable[T]], timeout_s: float) -> T:
    """Run `work` in a transaction, again while it fails for a reason a retry can cure: a
    concurrent writer (Neo4j: a deadlock; ArcadeDB: a change to the same record, found at
    commit), a lost connection or leader, or - a few times - a unique key taken meanwhile
    (ArcadeDB: two MERGEs created the same node, where Neo4j makes the second one wait and
    match). Every write here is idempotent and the retry sees the other writer's result
    (`retries.graph_transaction`): MERGEs and deletes by key, creates guarded by a read of
    the same key or preceded by the delete of the same keys, lease takes that give the
    same owner the same token. So a connection lost while the commit was under way
    (`IncompleteCommit`: committed or not, nobody knows) is retried too: done twice, it
    stores what it stores once."""

    async def once() -> T:
        with pipelined(session):
            tx = await session.begin_transaction(timeout=timeout_s)
        async with tx:
            return await work(tx)  # committed on leaving the block

    policy = retries.graph_transaction(
        _curable, duplicates=_DUPLICATE_RETRIES, is_duplicate=_duplicate, within_s=timeout_s
    )
    return await policy(once)


async def _autocommit(
    session: AsyncSession, work: Callable[[Tx], Awaitable[T]], timeout_s: float
) -> T:
    """`work`, a read, with its statements auto-committed; again while it fails for a
    reason a retry can cure (it changed nothing)."""
    policy = retries.graph_transaction(
        _curable, duplicates=0, is_duplicate=lambda exc: False, within_s=timeout_s
    )
    return await policy(work, AutoCommit(session, timeout_s))


def _curable(exc: BaseException) -> bool:
    """A failure that may pass: those the driver calls retryable, and a connection lost
    during the commit (the driver never retries it: for a write that is not idempotent the
    outcome is unknown; ours are, and a read changed nothing)."""
    if isinstance(exc, neo4j_errors.IncompleteCommit):
        return True
    return isinstance(exc, neo4j_errors.Neo4jError | neo4j_errors.DriverError) and (
        exc.is_retryable()
    )


def _duplicate(exc: BaseException) -> bool:
    return isinstance(exc, neo4j_errors.ConstraintError)


# what a call to the server raises when it did not get its answer: an error of the
# server or the driver, the network's, or the call's bound passed
UNREACHED = (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError, TimeoutError)


class Neo4jClient:
    """A driver for one server and database, and the transactions of the stores on it.

    Causal consistency: the bookmarks of every transaction this client commits are passed
    to the next one it starts (the driver's bookmark manager), so within a process a read
    always sees the writes before it, on a cluster too. Across hosts the caller carries
    them (`octomem.stores.causal`, docs/deployment.md)."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        *,
        database: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """`timeout_s` bounds each call, retries included: connecting, waiting for a pooled
        connection, the transaction (asked of the server too, which may not honour it: the
        client cancels the call, and the driver closes the connection it had)."""
        self.uri = uri
        self.database = database
        self.timeout_s = timeout_s
        self._closed = False
        try:
            self._driver = AsyncGraphDatabase.driver(
                uri,
                auth=(user, password),
                connection_timeout=timeout_s,
                connection_acquisition_timeout=timeout_s,
                max_transaction_retry_time=timeout_s,
            )
        except (ValueError, neo4j_errors.ConfigurationError) as exc:
            raise ConfigurationError(
                f"Invalid Neo4j URI {uri!r}: {exc}. Use a URI such as "
                "neo4j://localhost:7687, neo4j+s://host or bolt://host:7687."
            ) from exc
        self._bookmarks = AsyncGraphDatabase.bookmark_manager()

    @property
    def where(self) -> str:
        return f"Neo4j at {self.uri}" + (f" (database {self.database!r})" if self.database else "")

    def error(self, op: str, exc: Exception, what: str = "graph") -> StoreError:
        if isinstance(exc, neo4j_errors.IncompleteCommit):
            hint = (
                "the connection was lost while the server committed, so whether it stored the "
                "transaction was unknown; octomem tried it again (every transaction is "
                f"idempotent) within graph.timeout_s ({self.timeout_s:g} s) and the server "
                "stayed unreachable. "
                "Retry the call once the server is back: every write is idempotent, and an "
                "unfinished one is completed from the journal by the next write of its scope"
            )
        elif isinstance(exc, TimeoutError):
            hint = (
                f"no answer within graph.timeout_s ({self.timeout_s:g} s): the server is "
                "stalled, overloaded or unreachable; the connection was closed. Retry the call "
                "later: every write is idempotent, and an unfinished one is completed from "
                "the journal by the next write of its scope"
            )
        elif isinstance(exc, neo4j_errors.AuthError):
            hint = "the server rejected the credentials: check the configured user and password"
        elif isinstance(exc, neo4j_errors.ServiceUnavailable):
            hint = (
                "cannot connect: check that the server is running and reachable, and that the "
                "URI's scheme, host and port (7687 by default for Bolt) are right"
            )
        elif isinstance(exc, neo4j_errors.SessionExpired | neo4j_errors.TransientError):
            hint = "a transient failure (leader switch, deadlock, timeout); retry the operation"
        elif isinstance(exc, neo4j_errors.Forbidden):
            hint = "the user lacks the rights for this operation: grant them or use another user"
        elif isinstance(exc, neo4j_errors.ClientError) and "DatabaseNotFound" in (exc.code or ""):
            hint = "the database does not exist: create it or fix the configured database name"
        else:
            hint = "check the server logs"
        detail = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        message = f"{self.where}: {what} operation '{op}' failed ({detail}): {hint}."
        if isinstance(exc, (*_PASSING, TimeoutError)):  # still failing after the retries
            return StoreUnavailableError(message)
        return StoreError(message)

    async def call(
        self,
        op: str,
        work: Callable[[Tx], Awaitable[T]],
        *,
        write: bool = True,
        fence: Fence | None = None,
        what: str = "graph",
    ) -> T:
        """Run `work`: a write in one transaction, retried (`_write`); a read with each of
        its statements alone (`AutoCommit`: no read needs a snapshot), retried too. A
        write under a `fence` (the leases its writer holds) checks it first in the same
        transaction: `fence.LeaseLostError` if another writer has taken over. What the
        caller's gathering deferred (`deferred`) runs first, so that this call sees it."""
        gathering = gather.active()
        if gathering is not None and gathering.owner is self and gathering.works:
            await gather.flush(gathering)
        held = fence if write else None
        proving = gathering if gathering is not None and gathering is gather.current(held) else None

        async def fenced_work(tx: Tx) -> T:
            if held is not None and held.tokens and not await _held(tx, _FENCE, held.tokens):
                late = proving.late() if proving is not None else None
                raise late or fences.lost([key for key, _ in held.tokens])
            return await work(tx)

        call = causal.current()
        after = call.after if call is not None else ()
        bound_s = self.timeout_s
        with traced(tracer, f"{what}.{op}", {"db.system": "neo4j"}), stuck.watched(bound_s):
            try:
                # client-side too: a server may not honour the transaction's timeout, and a
                # stalled one answers nothing; cancelled, the driver kills the connection
                async with asyncio.timeout(bound_s):
                    async with self._driver.session(
                        database=self.database,
                        bookmark_manager=self._bookmarks,
                        bookmarks=Bookmarks.from_raw_values(after) if after else None,
                    ) as session:
                        if not write:
                            return await _autocommit(session, work, bound_s)
                        done = await _write(session, fenced_work, bound_s)
                    if proving is not None:  # the vector writes before it landed in time
                        proving.confirmed()
                    if call is not None:  # a request that returns them; else no work
                        call.wrote(sorted(await self._bookmarks.get_bookmarks()))
                    return done
            except OctomemError as exc:
                await self._raise_if_lost(exc, held.tokens if held is not None else (), proving)
                raise
            except UNREACHED as exc:
                if after and "bookmark" in (getattr(exc, "code", None) or "").lower():
                    raise InvalidInputError(
                        "the Octomem-Bookmark sent is not one this deployment's graph server "
                        "gave; send the header of a response of this deployment, or none"
                    ) from exc
                raise self.error(op, exc, what) from exc

    async def deferred(
        self,
        op: str,
        work: neo4j_batch.Deferred,
        *,
        fence: Fence | None,
        what: str = "graph",
    ) -> None:
        """`call` a fenced write of statements, or, while its writer gathers
        (`octomem.stores.gather`), defer it to the gathering's one transaction, where the
        statements deferred go as one (`neo4j_batch`)."""
        gathering = gather.current(fence)
        if gathering is not None and gathering.owner in (None, self):
            gathering.owner, gathering.flush = self, self._flush
            gathering.works.append((op, work))
            return
        run = functools.partial(neo4j_batch.run, works=[(op, work)], tokens=())
        await self.call(op, run, fence=fence, what=what)

    async def _flush(self, gathering: gather.Gathering) -> None:
        """The writes `gathering` deferred, in one transaction, the fence checked first
        (with the first statements, as their gate)."""
        works, gathering.works = list(gathering.works), []
        fence = gathering.fence

        async def work(tx: Tx) -> None:
            if not await neo4j_batch.run(tx, works, fence.tokens):
                raise gathering.late() or fences.lost([key for key, _ in fence.tokens])

        try:
            await self.call("commit", work)
        except OctomemError as exc:
            await self._raise_if_lost(exc, fence.tokens, gathering)
            raise
        gathering.flushed()  # the vector writes before it landed in time

    async def query(
        self,
        op: str,
        query: LiteralString,
        *,
        write: bool = True,
        fence: Fence | None = None,
        what: str = "graph",
        **params: Any,
    ) -> list[Any]:
        """One statement in a transaction of its own (a read: auto-committed): its
        records."""

        async def work(tx: Tx) -> list[Any]:
            return await records(tx, query, **params)

        return await self.call(op, work, write=write, fence=fence, what=what)

    async def _raise_if_lost(
        self,
        exc: OctomemError,
        tokens: Sequence[tuple[str, int]],
        gathering: gather.Gathering | None,
    ) -> None:
        """For `exc`, raised inside a transaction fenced by `tokens`: if their lease passed
        to another writer meanwhile, raise `LeaseLostError` (the gathering's `LandedLate`)
        from it, the write's real fate. A writer that stalled with its transaction open
        resumes in one whose reads need not agree with the graph (on ArcadeDB, the entities
        it merged may not be found). Returns when `exc` stands - at once if the server is
        not answering (`StoreUnavailableError`): a check would wait as long again."""
        if not tokens or isinstance(exc, (LeaseLostError, StoreUnavailableError)):
            return
        try:
            if await self.fence_holds(tokens):
                return
        except OctomemError:
            return  # cannot tell: the error seen stands
        late = gathering.late() if gathering is not None else None
        raise (late or fences.lost([key for key, _ in tokens])) from exc

    async def fence_holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        """Whether every (lease key, token) is still the lease's newest token: a write
        transaction that writes the lease nodes, so it serialises with a take-over (under
        load, ArcadeDB answered a read transaction with a token two take-overs old)."""
        return await self.call("fence_holds", lambda tx: _held(tx, _FENCE, tokens))

    async def run_schema(self, statements: Sequence[LiteralString], what: str = "graph") -> str:
        """Check the connection and run schema statements (idempotent); the server's agent."""
        with traced(tracer, f"{what}.init", {"db.system": "neo4j"}):
            try:
                async with asyncio.timeout(self.timeout_s):
                    await self._driver.verify_connectivity()
                    async with self._driver.session(database=self.database) as session:
                        for statement in statements:
                            result = await session.run(statement)
                            await result.consume()
                    server = await self._driver.get_server_info()
            except UNREACHED as exc:
                raise self.error("init", exc, what) from exc
        return str(server.agent)

    async def close(self) -> None:
        """Close the driver; idempotent (every store on this client closes it)."""
        if not self._closed:
            self._closed = True
            # a stalled server would hold the goodbye: the sockets close all the same
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timeout_s):
                    await self._driver.close()


class ServerStore:
    """A store on the `Neo4jClient` the server stores share (its writes fenced, its reads
    following the client's bookmarks), in one project's `Namespace`. Subclasses set `WHAT`
    (named in spans and errors) and `SCHEMA`."""

    WHAT: ClassVar[str]
    SCHEMA: ClassVar[tuple[LiteralString, ...]]

    def __init__(self, client: Neo4jClient, *, namespace: str = "") -> None:
        self._db = client
        self._ns = Namespace(namespace)

    async def init(self) -> None:
        await self._db.run_schema(self.SCHEMA, what=self.WHAT)

    async def _call(
        self,
        op: str,
        work: Callable[[Tx], Awaitable[T]],
        *,
        write: bool = True,
        fence: Fence | None = None,
    ) -> T:
        return await self._db.call(op, work, write=write, fence=fence, what=self.WHAT)

    async def _deferred(
        self,
        op: str,
        work: list[Statement],
        *,
        fence: Fence | None,
    ) -> None:
        await self._db.deferred(op, work, fence=fence, what=self.WHAT)

    async def _query(
        self,
        op: str,
        query: LiteralString,
        *,
        write: bool = True,
        fence: Fence | None = None,
        **params: Any,
    ) -> list[Any]:
        return await self._db.query(op, query, write=write, fence=fence, what=self.WHAT, **params)

    async def _drain(
        self, op: str, query: LiteralString, *, fence: Fence | None = None, **params: Any
    ) -> None:
        """Run a batched delete (it returns how many it `deleted`) until it deletes none."""
        while (await self._query(op, query, fence=fence, **params))[0]["deleted"]:
            pass

    async def compact(self) -> bool:
        return False  # the server owns its files (and its transaction logs)

    async def close(self) -> None:
        await self._db.close()  # idempotent: every store on the client closes it
