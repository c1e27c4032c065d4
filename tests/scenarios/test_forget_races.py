"""`forget` while other calls run on the same Orchestrator.

- Other users' reads and writes go on around it, and the store stays sound: Chroma's
  database passes SQLite's integrity check, reopens, and keeps everyone else's memories
  (its files are rewritten only with Chroma's engine closed: `stores/chroma_engine`).
- A `process()` of the forgotten user that is under way stores nothing after the forget
  returns: it fails with ConflictError at its next write (`locks.check_erasures`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic import memories
from octomem import ConflictError, MemoryType, Orchestrator
from octomem.orchestrator.internals import services_of
from octomem.prompts.extraction import ExtractionOutput
from octomem.testing import ScriptedModel, ScriptedRequest, from_extraction
from tests.scenarios.test_llm import fact, facts

MARK = "zorblax"  # in every message of the user who is forgotten


def _zoe_messages(count: int, seed: int = 3) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": f"{text} ({MARK} {i})"}
        for i, text in enumerate(memories(count, seed=seed))
    ]


def _leaks(data_dir: Path) -> list[str]:
    return [
        str(path.relative_to(data_dir))
        for path in data_dir.rglob("*")
        if path.is_file() and MARK.encode() in path.read_bytes().lower()
    ]


def _assert_zoe_gone(orch: Orchestrator) -> None:
    assert orch.get_all(user_id="zoe", include_superseded=True) == []
    assert orch.stats(user_id="zoe").totals.model_dump() == {
        "memories": 0,
        "current": 0,
        "history_events": 0,
    }


def test_forget_while_other_users_read_and_write_keeps_the_store_sound(
    make_orch: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    orch.process([{"role": "user", "content": t} for t in memories(60, seed=7)], user_id="bob")
    bob_before = {m.id for m in orch.get_all(user_id="bob", include_superseded=True)}
    errors: list[BaseException] = []
    stored: list[str] = []  # ann's turns whose process() returned
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                hits = orch.recall("where do I live?", user_id="bob").hits
                assert all(h.memory.user_id == "bob" for h in hits)
            except BaseException as exc:
                errors.append(exc)
                return

    def writer() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            try:
                result = orch.process(f"I like board game number {count}.", user_id="ann")
                stored.extend(result.turn_memory_ids)
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=f) for f in (reader, reader, writer)]
    for thread in threads:
        thread.start()
    reports = []
    try:
        for round_ in range(3):  # each forget rewrites the files while the others run
            zoe = _zoe_messages(400, seed=round_)
            for start in range(0, len(zoe), 100):
                orch.process(zoe[start : start + 100], user_id="zoe", infer=False)
            reports.append(orch.forget(user_id="zoe"))
            _assert_zoe_gone(orch)
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    assert errors == []
    assert all(r.total_memories >= 400 and "vector" in r.files_rewritten for r in reports)
    orch.close()

    database = sqlite3.connect(data_dir / "chroma" / "chroma.sqlite3")
    try:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        database.close()
    assert _leaks(data_dir) == []
    again = make_orch(data_dir=data_dir)
    assert {m.id for m in again.get_all(user_id="bob", include_superseded=True)} == bob_before
    turns = again.get_all(user_id="ann", memory_types=["episodic"])
    assert set(stored) <= {m.id for m in turns}
    _assert_zoe_gone(again)
    assert again.check().consistent


def _hold_extraction(make_orch: Any, **overrides: Any) -> Any:
    """An Orchestrator whose (scripted) model's extraction waits until released: a
    process() is then in flight with its raw turns stored, outside the user's lock, and
    its extracted memories not yet, once `release` is cleared. (Without a model,
    extraction runs under the lock the turns are written under:
    `test_a_forget_during_an_offline_process_waits_for_it_and_erases_what_it_stored`.)"""
    entered, release = threading.Event(), threading.Event()
    release.set()

    def extract(request: ScriptedRequest) -> ExtractionOutput:
        entered.set()
        assert release.wait(60)
        return facts(fact("residence", "Paris", "Zoe lives in Paris."))

    model = ScriptedModel(from_extraction(extract), name="forget-race").install()
    orch = make_orch(llm={"model": model.model, "max_retries": 1}, **overrides)
    return orch, model, entered, release


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_process_in_flight_when_its_user_is_forgotten_stores_nothing(
    make_orch: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    orch, model, entered, release = _hold_extraction(make_orch, data_dir=data_dir)
    try:
        orch.process(f"My name is Zoe. I live in Quibbleton ({MARK}).", user_id="zoe")
        entered.clear()
        release.clear()
        thread, outcome = _in_thread(
            lambda: orch.process(
                f"I work at Flumberdyne ({MARK}). I love quuxberry pie ({MARK}).", user_id="zoe"
            )
        )
        assert entered.wait(60)
        report = orch.forget(user_id="zoe")
        release.set()
        thread.join(60)
    finally:
        release.set()
        model.uninstall()

    assert report.total_memories >= 2
    assert isinstance(outcome.get("error"), ConflictError), outcome
    assert "forgotten while this call was running" in str(outcome["error"])
    _assert_zoe_gone(orch)
    assert orch.check().consistent
    orch.close()
    assert _leaks(data_dir) == []


def test_a_forget_during_an_offline_process_waits_for_it_and_erases_what_it_stored(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no model, extraction runs under the lock the call's turns are written under:
    a forget sent meanwhile waits for the call, which stores its turns and facts, then
    erases them with the rest of the user."""
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    orch.process(f"My name is Zoe. I live in Quibbleton ({MARK}).", user_id="zoe")
    entered, release = threading.Event(), threading.Event()
    agent = services_of(orch).agents[MemoryType.SEMANTIC]
    extract = agent.extract

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(60)
        return extract(*args, **kwargs)

    monkeypatch.setattr(agent, "extract", held)
    call, called = _in_thread(
        lambda: orch.process(f"I work at Flumberdyne ({MARK}).", user_id="zoe")
    )
    assert entered.wait(60)
    forget, forgot = _in_thread(lambda: orch.forget(user_id="zoe"))
    forget.join(0.5)
    waiting = forget.is_alive()  # on the call's lock (not asserted: a slow start looks alike)
    release.set()
    call.join(60)
    forget.join(60)

    assert "error" not in called and "error" not in forgot, (called, forgot, waiting)
    assert called["result"].operations[MemoryType.SEMANTIC]  # stored, then erased
    assert forgot["result"].total_memories >= 4
    _assert_zoe_gone(orch)
    assert orch.check().consistent
    orch.close()
    assert _leaks(data_dir) == []


def test_forgetting_one_agent_scope_leaves_the_users_other_calls_alone(make_orch: Any) -> None:
    orch, model, entered, release = _hold_extraction(make_orch)
    try:
        orch.process("I keep my bike at Quibbleton station.", user_id="zoe", agent_id="helper")
        entered.clear()
        release.clear()
        thread, outcome = _in_thread(lambda: orch.process("I live in Paris.", user_id="zoe"))
        assert entered.wait(60)
        orch.forget(user_id="zoe", agent_id="helper")
        release.set()
        thread.join(60)
    finally:
        release.set()
        model.uninstall()
    assert "error" not in outcome, outcome
    assert "Paris" in " ".join(m.content for m in orch.get_all(user_id="zoe"))
    assert orch.get_all(user_id="zoe", agent_id="helper") == []


def test_forget_racing_a_long_process_leaves_nothing_of_the_user(make_orch: Any) -> None:
    """No patching: forget lands somewhere inside a real process() of 200 messages (after
    its raw turns are stored). Either the call failed with ConflictError or it had finished
    before the forget began; nothing of the user is left in either case."""
    orch = make_orch()
    for trial in range(3):
        thread, outcome = _in_thread(
            lambda trial=trial: orch.process(_zoe_messages(200, seed=trial), user_id="zoe")
        )
        deadline = time.monotonic() + 120
        while not orch.get_all(user_id="zoe", memory_types=["episodic"], limit=1):
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        time.sleep(0.05 * trial)
        orch.forget(user_id="zoe")
        thread.join(300)
        if "error" in outcome:
            assert isinstance(outcome["error"], ConflictError), outcome
        _assert_zoe_gone(orch)
    assert orch.check().consistent


def test_a_reprocess_in_flight_when_its_user_is_forgotten_stores_nothing(
    make_orch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reprocess` reads the stored turns it runs the LLM over again, then processes them
    session by session. A forget landing after that read - while an earlier session's LLM
    call runs, say - must not see those turns written back as new raw turns."""
    from octomem.orchestrator import engine
    from octomem.testing import ScriptedModel

    broken = {"on": True}

    def script(request: Any) -> Any:  # the first run falls back; reprocess gets no memory
        return "not JSON" if broken["on"] else {"agents": []}

    with ScriptedModel(script, name="forget-reprocess") as model:
        orch = make_orch(llm={"model": model.model, "max_retries": 1})
        orch.process(f"I live in Quibbleton ({MARK}).", user_id="zoe", session_id="s1")
        orch.process(f"I work at Flumberdyne ({MARK}).", user_id="zoe", session_id="s2")
        broken["on"] = False
        read, release = threading.Event(), threading.Event()
        sessions = engine.sessions_to_reprocess

        async def held(*args: Any, **kwargs: Any) -> Any:
            found = await sessions(*args, **kwargs)
            read.set()  # the turns are read; the loop stays free for the forget
            assert await asyncio.to_thread(release.wait, 60)
            return found

        monkeypatch.setattr(engine, "sessions_to_reprocess", held)
        thread, outcome = _in_thread(lambda: orch.reprocess(user_id="zoe"))
        assert read.wait(60)
        orch.forget(user_id="zoe")
        release.set()
        thread.join(60)

        # the session's turns are gone (nothing to do) or it failed (ConflictError)
        assert outcome.get("result") == [] or isinstance(outcome.get("error"), ConflictError)
        _assert_zoe_gone(orch)
        assert orch.check().consistent


def test_an_import_in_flight_when_its_user_is_forgotten_stores_nothing_of_that_user(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import reads and checks the whole file before it writes a user's part. A forget
    of one of its users that completes in between must not see that user's memories come
    back: the import fails with ConflictError for that user (as a process() does), and
    the users it did not touch are imported as usual."""
    from octomem.orchestrator import transfer

    source = make_orch(data_dir=tmp_path / "source")
    source.process(f"I live in Quibbleton ({MARK}).", user_id="zoe")
    source.process("I live in Paris.", user_id="ann")
    export = tmp_path / "export.jsonl"
    source.export_jsonl(export)
    orch = make_orch(data_dir=tmp_path / "data")
    orch.process(f"I work at Flumberdyne ({MARK}).", user_id="zoe")
    real = transfer.check_lines

    async def checked_then_forgotten(*args: Any, **kwargs: Any) -> Any:
        found = await real(*args, **kwargs)
        await orch.aforget(user_id="zoe")  # acknowledged before the import writes
        return found

    monkeypatch.setattr(transfer, "check_lines", checked_then_forgotten)
    with pytest.raises(ConflictError, match="forgotten while this call was running"):
        orch.import_jsonl(export)
    _assert_zoe_gone(orch)
    assert "Paris" in " ".join(m.content for m in orch.get_all(user_id="ann"))
    assert orch.check().consistent


def test_an_ingest_in_flight_when_its_user_is_forgotten_stores_nothing_after_it(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ingest` reads what it stored of the folder, then processes file after file. A
    forget of its user that completes after that read stores nothing more of the run: it
    fails with ConflictError, as a process() under way does."""
    from octomem.orchestrator import ingest

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text(f"# Garden\n\nTomatoes in the north bed ({MARK}).\n")
    (folder / "b.md").write_text(f"# Soup\n\nLentils and cumin ({MARK}).\n")
    orch = make_orch()
    orch.process(f"I live in Quibbleton ({MARK}).", user_id="zoe")
    real = ingest.stored_files

    async def read_then_forgotten(*args: Any, **kwargs: Any) -> Any:
        found = await real(*args, **kwargs)
        await orch.aforget(user_id="zoe")  # acknowledged before the run writes
        return found

    monkeypatch.setattr(ingest, "stored_files", read_then_forgotten)
    with pytest.raises(ConflictError, match="forgotten while this call was running"):
        orch.ingest(folder, user_id="zoe")
    _assert_zoe_gone(orch)
    assert orch.check().consistent
