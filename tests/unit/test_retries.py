"""The retry policies (octomem.retries): what they retry, and when they give up."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from tenacity import AsyncRetrying

from octomem import retries
from octomem.stores.sqlite_base import checkpoint_truncate


class Flaky:
    """Fails with the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_a_chroma_call_is_retried_while_the_server_cannot_be_reached() -> None:
    seen: list[BaseException] = []
    call = Flaky(ConnectionError("refused"), ConnectionError("refused"))
    policy = retries.chroma_call(5.0, lambda e: isinstance(e, ConnectionError), seen.append)
    assert asyncio.run(policy(call)) == "ok"
    assert call.calls == 3 and len(seen) == 2  # each retry was reported


def test_a_chroma_call_is_not_retried_for_a_failure_no_retry_cures() -> None:
    call = Flaky(ValueError("bad where clause"), ValueError("bad"))
    policy = retries.chroma_call(5.0, lambda e: isinstance(e, ConnectionError), print)
    with pytest.raises(ValueError, match="bad where clause"):
        asyncio.run(policy(call))
    assert call.calls == 1


def test_with_no_time_to_retry_a_chroma_call_is_tried_once() -> None:
    call = Flaky(ConnectionError("refused"))
    policy = retries.chroma_call(0.0, lambda e: isinstance(e, ConnectionError), print)
    with pytest.raises(ConnectionError):
        asyncio.run(policy(call))
    assert call.calls == 1


class Duplicate(Exception):
    pass


class Deadlock(Exception):
    pass


def _graph_policy() -> AsyncRetrying:
    return retries.graph_transaction(
        lambda e: isinstance(e, Deadlock),
        duplicates=2,
        is_duplicate=lambda e: isinstance(e, Duplicate),
    )


def test_a_graph_transaction_is_retried_a_few_times_for_a_taken_key_and_through_deadlocks() -> None:
    call = Flaky(Duplicate(), Deadlock(), Deadlock(), Deadlock(), Duplicate())
    assert asyncio.run(_graph_policy()(call)) == "ok"
    assert call.calls == 6
    call = Flaky(Duplicate(), Duplicate(), Duplicate())
    with pytest.raises(Duplicate):  # a key still taken after two retries is a real conflict
        asyncio.run(_graph_policy()(call))
    assert call.calls == 3


def test_a_lease_held_by_another_is_waited_for_then_given_up_on() -> None:
    answers = [0, 0, 7]

    async def acquire() -> int:
        return answers.pop(0)

    assert asyncio.run(retries.lease_wait(10.0)(acquire)) == 7

    async def held() -> int:
        return 0

    assert asyncio.run(retries.lease_wait(0.05)(held)) == 0  # still held: the caller decides


def test_a_checkpoint_waits_for_a_reader_to_finish(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = sqlite3.connect(path, check_same_thread=False, timeout=0.01)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x)")
    writer.execute("INSERT INTO t VALUES (1)")
    writer.commit()
    reader = sqlite3.connect(path, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()  # holds a snapshot: the WAL is in use
    with pytest.raises(retries.WalInUse):
        checkpoint_truncate(writer, timeout_s=0.1)
    attempts, retried = [], threading.Event()

    def traced(sql: str) -> None:  # the reader finishes once a checkpoint was retried
        if "wal_checkpoint" in sql:
            attempts.append(sql)
            if len(attempts) == 2:
                retried.set()

    writer.set_trace_callback(traced)
    finished = threading.Thread(target=lambda: retried.wait(60) and reader.rollback(), daemon=True)
    finished.start()
    checkpoint_truncate(writer, timeout_s=30)  # retried until the reader has finished
    finished.join(60)
    assert retried.is_set() and len(attempts) >= 2
    assert (tmp_path / "db.sqlite-wal").stat().st_size == 0
    reader.close()
    writer.close()


def test_setting_up_a_locked_sqlite_file_is_retried_only_while_it_is_locked() -> None:
    attempts: list[int] = []

    def set_up() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise sqlite3.OperationalError("database is locked")

    retries.sqlite_setup()(set_up)
    assert len(attempts) == 3

    def broken() -> None:
        attempts.append(1)
        raise sqlite3.OperationalError("no such table: x")

    attempts.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retries.sqlite_setup()(broken)
    assert len(attempts) == 1
