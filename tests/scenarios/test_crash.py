"""A process killed (SIGKILL) anywhere in a write leaves stores that agree once reopened,
and retrying the call gives exactly what a clean run gives.

Each case runs a large `process()` (300 messages), a `delete_all`, a `forget` or an
`import_jsonl` of that process's export in a child process (tests/crash_child.py) that
kills itself at one point - before, during or after one call of one store, or of the write
journal - or that the test kills from outside after a delay (halved and tried again on
fresh data while the call finishes first: every case ends in a kill). The test then opens
the data directory again, asks `check()` (every store against the canonical one), retries
the call and compares everything stored - records with their validity, every memory's
history, the graph's entities and relations - with a run that was never interrupted.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks.synthetic import memories
from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings
from tests.conftest import T0

CHILD = Path(__file__).resolve().parents[1] / "crash_child.py"
USER, SESSION = "crash-user", "crash-session"

FACTS = [
    "Hi, I'm Dana. I live in Paris and I work at Acme.",
    "I like jazz and I love hiking.",
    "My sister Maria lives in Rome.",
    "Big news: I moved to Berlin last week!",
    "Here is the plan: https://example.com/plan.pdf",
    "To deploy: 1. run the tests 2. build the image 3. push it to the registry",
    "I'm working on the tax report today.",
    "I now work at Initech as a designer.",
    "I don't like jazz any more, I like opera.",
    "Actually I moved again, to Munich.",
]


def _conversation() -> list[dict[str, Any]]:
    said = memories(140, seed=11)
    messages: list[dict[str, Any]] = []
    for i, text in enumerate(said):
        if i % 14 == 0:
            text = FACTS[i // 14]
        messages.append({"role": "user", "content": text})
        messages.append({"role": "assistant", "content": f"Noted ({i})."})
    messages += [{"role": "user", "content": t} for t in FACTS[-2:]] * 10  # repeats
    messages = messages[:300]
    for minute, message in enumerate(messages):
        message["timestamp"] = (T0 + timedelta(minutes=minute)).isoformat()
    return messages


MESSAGES = _conversation()

# (store, method, nth call, when): every step of the one journaled write of a process()
# with no model (its raw turns and the memories extracted from them), of a delete_all, a
# forget and an import
PROCESS_POINTS = [
    ("journal", "begin", 1, "before"),  # extracted, nothing written
    ("journal", "begin", 1, "after"),
    ("graph", "link_memories", 1, "before"),
    ("keyword", "upsert", 1, "during"),
    ("history", "record", 1, "after"),
    ("vector", "upsert", 1, "during"),
    ("graph", "upsert_relations", 1, "after"),
    ("keyword", "upsert", 2, "after"),
    ("history", "record", 2, "during"),
    ("vector", "upsert", 2, "after"),
    ("vector", "upsert", 3, "during"),
    ("journal", "finish", 1, "before"),
]
DELETE_POINTS = [
    ("journal", "begin", 1, "after"),
    ("history", "record", 1, "during"),
    ("graph", "invalidate_relation", 1, "after"),
    ("graph", "delete_memory", 40, "before"),
    ("keyword", "delete", 1, "after"),
    ("vector", "delete", 1, "after"),
    ("vector", "delete", 2, "during"),
    ("journal", "finish", 1, "before"),
]
FORGET_POINTS = [
    ("journal", "begin", 1, "after"),  # the erase, journaled with its ids
    ("graph", "forget", 1, "during"),
    ("keyword", "delete", 1, "after"),
    ("vector", "delete", 3, "during"),
    ("history", "discard", 1, "before"),
    ("vector", "purge_deleted", 1, "during"),
    ("graph", "compact", 1, "during"),
    ("history", "compact", 1, "after"),
    ("journal", "finish", 1, "before"),
]
# an import of the process's export (one user: 3 parts of past history events, 3 of records,
# 1 of entities, 1 of relations, then the views of its facts), journaled as one write
IMPORT_POINTS = [
    ("journal", "begin", 1, "after"),  # not all its parts journaled: dropped on reopen
    ("journal", "add_part", 5, "during"),
    ("journal", "add_part", 8, "after"),  # journaled whole, nothing applied yet
    ("history", "record", 1, "during"),  # the past history events
    ("history", "record", 3, "after"),
    ("graph", "link_memories", 1, "before"),  # the records
    ("keyword", "upsert", 2, "during"),
    ("history", "record", 5, "after"),
    ("vector", "upsert", 2, "after"),
    ("vector", "upsert", 7, "during"),
    ("graph", "upsert_entities", 4, "after"),  # the graph as it was exported
    ("graph", "upsert_relations", 2, "during"),
    ("vector", "list", 3, "before"),  # rendering the views of the facts
    ("journal", "finish", 1, "before"),
]
KILL_AFTER_S = [0.5, 1.5, 3.0]  # from outside, at moments nobody chose
KILL_ATTEMPTS = 6  # a call that finished first is run again with half the delay
# words only the crash user said: none may be left on disk once a forget is complete
FORGOTTEN_WORDS = [b"initech", b"munich", b"tax report"]


State = tuple[list[tuple[Any, ...]], dict[str, list[str]], list[str]]


def _state(orch: Orchestrator) -> State:
    """Everything stored for the user: records with validity, each memory's history, and
    the graph's entities and relations (as an export lists them; whether an edge is
    invalidated, not when: a delete invalidates at its own clock)."""
    records = sorted(
        (r.id, r.memory_type.value, r.content_hash, r.valid_to, r.superseded_by, r.version)
        for r in orch.get_all(user_id=USER, include_superseded=True)
    )
    history: dict[str, list[str]] = defaultdict(list)
    for event in orch.run_sync(services_of(orch).history.for_user(USER)):
        history[event.memory_id].append(event.operation.value)
    export = io.StringIO()
    orch.export_jsonl(export, user_id=USER)
    graph = []
    for line in map(json.loads, export.getvalue().splitlines()):
        if line["type"] in ("entity", "relation"):
            line["invalid_at"] = line.get("invalid_at") is not None
            graph.append(json.dumps(line, sort_keys=True))
    return records, dict(history), sorted(graph)


def _open(path: Path, embedder: Embedder) -> Orchestrator:
    return Orchestrator(load_settings(data_dir=path), embedder=embedder)


def _call(orch: Orchestrator, call: str, export: Path) -> None:
    if call == "process":
        orch.process(MESSAGES, user_id=USER, session_id=SESSION)
    elif call == "forget":
        orch.forget(user_id=USER)
    elif call == "import":
        orch.import_jsonl(export)
    else:
        orch.delete_all(user_id=USER)


def _words_on_disk(data: Path) -> list[str]:
    return [
        f"{path.relative_to(data)}: {word.decode()}"
        for path in data.rglob("*")
        if path.is_file()
        for word in FORGOTTEN_WORDS
        if word in path.read_bytes().lower()
    ]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[dict[str, Any]]:
    """Uninterrupted runs: the state after process(), a copy of that data directory and
    its export, the state after delete_all() on it and after importing the export into a
    fresh data directory."""
    root = tmp_path_factory.mktemp("clean")
    export = root / "export.jsonl"
    orch = _open(root / "processed", embedder)
    _call(orch, "process", export)
    processed = _state(orch)
    orch.export_jsonl(export)
    orch.close()
    shutil.copytree(root / "processed", root / "template")
    orch = _open(root / "processed", embedder)
    _call(orch, "delete_all", export)
    deleted = _state(orch)
    orch.close()
    (root / "imported").mkdir()
    shutil.copy2(root / "processed" / "id.key", root / "imported" / "id.key")
    orch = _open(root / "imported", embedder)
    _call(orch, "import", export)
    imported = _state(orch)
    orch.close()
    assert imported == processed  # an import restores the export exactly
    yield {
        "process": processed,
        "delete_all": deleted,
        "forget": ([], {}, []),
        "import": imported,
        "export": export,
        "template": root / "template",
        "id_key": root / "processed" / "id.key",
    }


def _child(spec: dict[str, Any]) -> subprocess.Popen[str]:
    root = str(CHILD.parent.parent)  # this checkout's octomem, not the one installed
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": path},
    )


def _prepare(call: str, tmp_path: Path, clean: dict[str, Any]) -> Path:
    data = tmp_path / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    if call in ("delete_all", "forget"):
        shutil.copytree(clean["template"], data)
    else:  # the clean run's id key, so the same call makes the same ids to compare
        data.mkdir()
        shutil.copy2(clean["id_key"], data / "id.key")
    return data


def _spec(
    call: str, data: Path, point: tuple[str, str, int, str] | None, clean: dict[str, Any]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "data_dir": str(data),
        "call": call,
        "messages": MESSAGES,
        "user_id": USER,
        "session_id": SESSION,
        "source": str(clean["export"]),
    }
    if point is not None:
        spec.update(zip(("store", "method", "nth", "when"), point, strict=True))
    return spec


def _reopen_check_retry(call: str, data: Path, embedder: Embedder, clean: dict[str, Any]) -> None:
    orch = _open(data, embedder)
    try:
        report = orch.check()  # opening completed what the journal held
        assert report.consistent, report.model_dump()
        assert orch.check(repair=True).remaining == 0
        _call(orch, call, clean["export"])
        assert _state(orch) == clean[call]
        assert orch.check().consistent
    finally:
        orch.close()
    if call == "forget":
        assert _words_on_disk(data) == []


@pytest.mark.parametrize(
    ("call", "point"),
    [("process", p) for p in PROCESS_POINTS]
    + [("delete_all", p) for p in DELETE_POINTS]
    + [("forget", p) for p in FORGET_POINTS]
    + [("import", p) for p in IMPORT_POINTS],
    ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v)),
)
def test_killed_at_a_store_call(
    call: str,
    point: tuple[str, str, int, str],
    tmp_path: Path,
    clean: dict[str, Any],
    embedder: Embedder,
) -> None:
    data = _prepare(call, tmp_path, clean)
    child = _child(_spec(call, data, point, clean))
    output, _ = child.communicate(timeout=600)
    assert child.returncode == -signal.SIGKILL, f"the kill point was not reached:\n{output}"
    _reopen_check_retry(call, data, embedder, clean)


@pytest.mark.parametrize("delay", KILL_AFTER_S)
@pytest.mark.parametrize("call", ["process", "delete_all", "forget", "import"])
def test_killed_from_outside(
    call: str, delay: float, tmp_path: Path, clean: dict[str, Any], embedder: Embedder
) -> None:
    """The child is killed `delay` after its stores are open. A call that finished before
    the kill proves nothing: it runs again on fresh data with half the delay, until a kill
    lands (or the attempts run out, which fails)."""
    for attempt in range(KILL_ATTEMPTS):
        data = _prepare(call, tmp_path / f"attempt{attempt}", clean)
        child = _child(_spec(call, data, None, clean))
        assert child.stdout is not None
        before: list[str] = []
        for line in child.stdout:  # wait until the stores are open
            if line.strip() == "ready":
                break
            before.append(line)
        time.sleep(delay / 2**attempt)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        output, _ = child.communicate(timeout=600)
        output = "".join(before) + output
        if child.returncode == -signal.SIGKILL:
            break
        assert child.returncode == 0, f"the call failed before the kill:\n{output}"
    assert child.returncode == -signal.SIGKILL, (
        f"the call finished before the kill in all {KILL_ATTEMPTS} attempts "
        f"(last delay {delay / 2 ** (KILL_ATTEMPTS - 1):.3f} s):\n{output}"
    )
    _reopen_check_retry(call, data, embedder, clean)
