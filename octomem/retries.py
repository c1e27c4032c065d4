"""How octomem retries: one tenacity policy per kind of failure a retry can cure.

Each store says which of its errors may pass (`curable`); the policy here says how long to
keep trying and how long to wait between tries. Every operation retried is idempotent
(upserts and deletes by id, reads, transactions whose retry sees the other writer's
result), so a retry changes nothing but the outcome. The LLM's policy is in `octomem.llm`
(its numbers are the provider's to set: `llm.max_retries`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_delay,
    stop_before_delay,
    wait_exponential,
    wait_random_exponential,
)

Curable = Callable[[BaseException], bool]


def chroma_call(
    retry_s: float, curable: Curable, on_retry: Callable[[BaseException], None]
) -> AsyncRetrying:
    """A Chroma server that cannot be reached (down, restarting, a broken connection):
    try again for up to `retry_s` (0: once; embedded Chroma has nothing to wait for),
    waits from 50 ms doubling to 2 s, randomised so that many clients do not return at
    once. No try starts after the deadline."""
    return AsyncRetrying(
        retry=retry_if_exception(curable),
        stop=stop_before_delay(retry_s),
        wait=wait_random_exponential(multiplier=0.05, max=2.0),
        before_sleep=lambda state: on_retry(_exception(state)),
        reraise=True,
    )


GRAPH_TRANSACTION_S = 30.0  # as long as the Neo4j driver retries a transaction function


def graph_transaction(
    curable: Curable,
    *,
    duplicates: int,
    is_duplicate: Curable,
    within_s: float = GRAPH_TRANSACTION_S,
) -> AsyncRetrying:
    """A graph transaction that failed for a reason a retry can cure (a concurrent writer,
    a lost connection or leader): again for up to `within_s` (the graph client's bound,
    `graph.timeout_s`; `GRAPH_TRANSACTION_S` by default). A unique key
    taken by a concurrent writer (`is_duplicate`) is retried at most `duplicates` times:
    the retry finds the other writer's node. The waits are short and random, from 5 ms
    doubling to 1 s: these transactions are small, and the driver's own back-off (from
    1 s) is far too long for them."""
    seen = 0

    def retry(exc: BaseException) -> bool:
        nonlocal seen
        if is_duplicate(exc):
            seen += 1
            return seen <= duplicates
        return curable(exc)

    return AsyncRetrying(
        retry=retry_if_exception(retry),
        stop=stop_after_delay(within_s),
        wait=wait_random_exponential(multiplier=0.005, max=1.0),
        reraise=True,
    )


def lease_wait(wait_s: float) -> AsyncRetrying:
    """Wait for a lease that another process holds: try to take it again, from 5 ms
    doubling to 250 ms, for up to `wait_s`; the last answer (0: still held) once that has
    passed."""
    return AsyncRetrying(
        retry=retry_if_result(lambda token: not token),
        stop=stop_after_delay(wait_s),
        wait=wait_exponential(multiplier=0.005, max=0.25),
        retry_error_callback=lambda state: 0,
    )


SQLITE_OPEN_S = 30.0


def sqlite_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "busy": another connection holds a lock its busy
    timeout does not wait for (switching to WAL, creating tables, a checkpoint)."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def sqlite_setup(timeout_s: float = SQLITE_OPEN_S, curable: Curable = sqlite_locked) -> Retrying:
    """Setting up a SQLite file another process opens at the same moment: again while it
    is locked (or while `curable` holds: a checkpoint that a reader blocks, `WalInUse`),
    for up to `timeout_s`, waits from 10 ms doubling to 500 ms."""
    return Retrying(
        retry=retry_if_exception(curable),
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.01, max=0.5),
        reraise=True,
    )


class WalInUse(sqlite3.OperationalError):
    """A checkpoint could not reset the WAL: another connection still reads it."""


def _exception(state: RetryCallState) -> BaseException:
    """The failure about to be retried (before_sleep runs only after one)."""
    assert state.outcome is not None
    exc = state.outcome.exception()
    assert exc is not None
    return exc
