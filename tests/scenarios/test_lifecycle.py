"""close() while calls run, writes cut short (a store failing, a cancelled call), and CPU
work kept off the event loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from octomem import InvalidInputError, Orchestrator
from octomem.embeddings import Embedder
from octomem.errors import StoreError
from octomem.models import MemoryType, Operation
from octomem.orchestrator import lifecycle, studio
from octomem.orchestrator.internals import services_of
from octomem.scopes import scope_filter
from octomem.settings import load_settings
from tests.closing import IN_ORDER, HeldClose
from tests.conftest import T0
from tests.invariants import assert_one_current_home

CONVERSATION = [
    {"role": "user", "content": "I'm Alice. I live in Paris and I work at Acme."},
    {"role": "assistant", "content": "Nice to meet you."},
    {"role": "user", "content": "I moved to Berlin last week and I like jazz."},
]


def _open(path: Path, embedder: Embedder) -> Orchestrator:
    return Orchestrator(load_settings(data_dir=path), embedder=embedder)


def _state(orch: Orchestrator) -> list[tuple[Any, ...]]:
    return sorted(
        (r.id, r.content_hash, r.valid_to, r.version)
        for r in orch.get_all(user_id="alice", include_superseded=True)
    )


def _assert_agrees_with_a_clean_run(tmp_path: Path, embedder: Embedder) -> None:
    """The stores in tmp_path/a, reopened, agree with each other and hold what an
    uninterrupted run holds; the call made again changes nothing."""
    reopened = _open(tmp_path / "a", embedder)
    (tmp_path / "clean").mkdir()  # under the same id key, the same call makes the same ids
    shutil.copy2(tmp_path / "a" / "id.key", tmp_path / "clean" / "id.key")
    clean = _open(tmp_path / "clean", embedder)
    clean.process(CONVERSATION, user_id="alice", timestamp=T0)
    try:
        assert reopened.check().consistent
        assert _state(reopened) == _state(clean)
        again = reopened.process(CONVERSATION, user_id="alice", timestamp=T0)
        assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
    finally:
        reopened.close()
        clean.close()


def _hold_vector_writes(orch: Orchestrator, monkeypatch: pytest.MonkeyPatch, *, times: int):
    """Make the first `times` writes of extracted memories to the vector store wait until
    the returned event is set; signal `entered` when one waits."""
    vector = services_of(orch).vector
    real = vector.upsert
    entered, release = threading.Event(), threading.Event()
    held = {"left": times}

    async def upsert(memory_type, records, embeddings, **kwargs):
        if memory_type is not MemoryType.EPISODIC and held["left"] > 0:
            held["left"] -= 1
            entered.set()
            while not release.is_set():
                await asyncio.sleep(0.01)
        return await real(memory_type, records, embeddings, **kwargs)

    monkeypatch.setattr(vector, "upsert", upsert)
    return entered, release


def test_close_waits_for_a_running_process(tmp_path: Path, embedder: Embedder, monkeypatch):
    """close() refuses new calls at once, but lets a process held inside its vector write
    finish, and closes the stores only after it returned."""
    orch = _open(tmp_path / "a", embedder)
    entered, release = _hold_vector_writes(orch, monkeypatch, times=1)
    held = HeldClose(orch, monkeypatch)
    with ThreadPoolExecutor(2) as pool:
        aprocess = orch.aprocess(CONVERSATION, user_id="alice", timestamp=T0)
        running = pool.submit(held.run, aprocess)
        assert entered.wait(60)
        closing = held.close_then_release(pool, release)
        result = running.result(timeout=120)
        closing.result(timeout=120)
    assert held.order == IN_ORDER
    assert result.count(Operation.ADD) > 0
    with pytest.raises(InvalidInputError, match="closed"):
        orch.get_all(user_id="alice")

    _assert_agrees_with_a_clean_run(tmp_path, embedder)


@pytest.mark.parametrize("held", [1, 10**6], ids=["completed-by-close", "completed-on-open"])
def test_close_that_times_out_cancels_and_nothing_is_half_written(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, held: int
) -> None:
    """A call still running when close's timeout ends is cancelled; the write it began is
    completed from the journal by close itself or, if that cannot, by the next open."""
    orch = _open(tmp_path / "a", embedder)
    entered, release = _hold_vector_writes(orch, monkeypatch, times=held)
    if held > 1:  # close's recovery waits on the held write until its time is up
        monkeypatch.setattr(lifecycle, "_RECOVERY_S", 0.5)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(orch.process, CONVERSATION, user_id="alice", timestamp=T0)
        assert entered.wait(60)
        if held == 1:
            release.set()  # the process was cut off by then; close's recovery writes
        orch.close(timeout=0.2 if held > 1 else 0)
        with pytest.raises(InvalidInputError, match="closed while the call ran"):
            running.result(timeout=60)
    release.set()

    _assert_agrees_with_a_clean_run(tmp_path, embedder)


def test_async_close_waits_for_tasks(tmp_path: Path, embedder: Embedder) -> None:
    async def main() -> None:
        orch = _open(tmp_path / "a", embedder)
        task = asyncio.ensure_future(orch.aprocess(CONVERSATION, user_id="alice", timestamp=T0))
        await asyncio.sleep(0)  # started
        await orch.aclose()
        assert task.done() and task.result().turn_memory_ids

    asyncio.run(main())


@pytest.mark.parametrize("cut", ["store-failed", "cancelled"])
def test_a_write_cut_short_is_completed_before_the_users_next_write(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    """A move whose write stopped after the graph but before the vector store (the store
    failed, or the caller cancelled) is completed before the user's next write reads -
    not at the next open, after that write, where it would bring the old move back as a
    second current home."""
    orch = _open(tmp_path / "a", embedder)
    orch.process("I live in Paris.", user_id="mover")
    if cut == "store-failed":
        vector, failures = services_of(orch).vector, {"left": 1}
        real = vector.upsert

        async def upsert(memory_type, records, embeddings, **kwargs):
            if memory_type is not MemoryType.EPISODIC and failures["left"]:
                failures["left"] -= 1
                raise StoreError("the vector store is unreachable for a moment")
            return await real(memory_type, records, embeddings, **kwargs)

        monkeypatch.setattr(vector, "upsert", upsert)
        with pytest.raises(StoreError, match="unreachable"):
            orch.process("I moved to Berlin.", user_id="mover")
    else:
        entered, release = _hold_vector_writes(orch, monkeypatch, times=1)

        async def cancel_the_move() -> None:
            task = asyncio.ensure_future(orch.aprocess("I moved to Berlin.", user_id="mover"))
            assert await asyncio.to_thread(entered.wait, 60)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(cancel_the_move())
        release.set()
    orch.process("I moved to Rome.", user_id="mover")
    assert assert_one_current_home(orch, "mover", ["Paris", "Berlin", "Rome"]) == "Rome"
    orch.close()

    reopened = _open(tmp_path / "a", embedder)
    try:
        assert reopened.check().consistent
        assert assert_one_current_home(reopened, "mover", ["Paris", "Berlin", "Rome"]) == "Rome"
    finally:
        reopened.close()


def test_offline_extraction_leaves_the_event_loop_free(orch: Orchestrator, monkeypatch) -> None:
    """While one user's extraction is busy, another user's recall completes: the rules
    run in a worker thread, not on the loop every caller shares."""
    orch.process("I live in Oslo.", user_id="other")
    agent = services_of(orch).agents[MemoryType.SEMANTIC]
    real = agent.extract
    busy, release = threading.Event(), threading.Event()

    def slow_extract(turns, ctx):
        busy.set()
        assert release.wait(60), "the recall never got through"
        return real(turns, ctx)

    monkeypatch.setattr(agent, "extract", slow_extract)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(orch.process, "I live in Lima. " * 5000, user_id="big")
        assert busy.wait(60)
        hits = orch.recall("where do I live?", user_id="other")  # would hang on a blocked loop
        release.set()
        running.result(timeout=120)
    assert "Oslo" in " ".join(hits.texts())


def test_a_forget_cut_short_is_completed_before_the_users_next_write(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forget whose store failed after it began stays journaled; the user's next write
    completes it first, under the lock - not the next open, after that write, which would
    then forget what the write stored (acknowledged after the forget)."""
    orch = _open(tmp_path / "a", embedder)
    orch.process("I live in Paris.", user_id="ana")
    history = services_of(orch).history
    real = history.compact

    async def failing() -> bool:
        raise StoreError("the history log is unreachable for a moment")

    monkeypatch.setattr(history, "compact", failing)
    with pytest.raises(StoreError, match="unreachable"):
        orch.forget(user_id="ana")
    monkeypatch.setattr(history, "compact", real)
    orch.process("I moved to Rome.", user_id="ana")  # after the forget: kept
    kept = [m.content for m in orch.get_all(user_id="ana")]
    assert any("Rome" in text for text in kept) and not any("Paris" in t for t in kept)
    orch.close()

    reopened = _open(tmp_path / "a", embedder)
    try:
        assert sorted(m.content for m in reopened.get_all(user_id="ana")) == sorted(kept)
        assert reopened.check().consistent
    finally:
        reopened.close()


def _forget_cut_short(path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave in `path` a forget of ana that died before the vector store: her records stay
    there until the stores are next opened, which completes it."""
    orch = _open(path, embedder)
    orch.process("I live in Paris.", user_id="ana")

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patch:
        patch.setattr(services_of(orch).vector, "delete", crash)
        with pytest.raises(RuntimeError, match="died"):
            orch.forget(user_id="ana")
    orch.close()


def _stored(orch: Orchestrator, user_id: str) -> int:
    """How many records of `user_id` the vector store holds, read from the store itself
    (a call of the Orchestrator would open the stores)."""
    services = services_of(orch)

    async def count() -> int:
        where = scope_filter(user_id)
        return sum([len(await services.vector.list(t, where=where)) for t in services.types])

    return orch.run_sync(count())


def test_with_opens_the_stores_before_any_call(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forget_cut_short(tmp_path / "a", embedder, monkeypatch)
    orch = _open(tmp_path / "a", embedder)
    assert _stored(orch, "ana") > 0  # built, not opened: the forget is not completed yet
    with orch:
        assert _stored(orch, "ana") == 0  # opened on entry: completed before any call
        assert orch.get_all(user_id="ana") == []


_STUDIO_IMPORT = """
import sys, threading, types
if sys.argv[1] == "server":
    sys.modules["langgraph_api"] = types.ModuleType("langgraph_api")
from octomem.orchestrator import studio
for thread in threading.enumerate():
    if thread.name == "octomem-studio-open":
        thread.join()
opened = studio._opened.cache_info().currsize
print(opened, opened and studio.studio_orchestrator()._process_graph is not None)
"""


@pytest.mark.parametrize(("importer", "printed"), [("server", "1 True"), ("script", "0 0")])
def test_under_a_langgraph_server_the_studio_graphs_are_ready_before_first_use(
    tmp_path: Path, importer: str, printed: str
) -> None:
    """`langgraph dev` times a graph factory's first call and logs past 250 ms as an
    error: imported by it, the module opens the Orchestrator and compiles its graphs in
    a background thread; imported by anything else, it opens nothing."""
    env = {**os.environ, "OCTOMEM_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", _STUDIO_IMPORT, importer],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == printed.split()
    assert (tmp_path / "data").exists() == (importer == "server")


def test_the_studio_graphs_are_built_on_opened_stores(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graphs run no step that opens the stores: LangGraph Studio's factories open the
    Orchestrator they come from."""
    _forget_cut_short(tmp_path / "a", embedder, monkeypatch)
    monkeypatch.setenv("OCTOMEM_DATA_DIR", str(tmp_path / "a"))
    studio._opened.cache_clear()
    graph = asyncio.run(studio.process_graph())
    orch = studio.studio_orchestrator()
    try:
        assert graph is orch.process_graph
        assert _stored(orch, "ana") == 0
    finally:
        orch.close()
        studio._opened.cache_clear()
