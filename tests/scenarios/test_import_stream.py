"""An import streams its file: it holds a batch of parsed lines, never the file; it writes
each user's part as one journaled write whose parts are journaled one by one as they are
read back from a masked spool (a crash before the last leaves nothing); and it refuses,
before writing anything, ids the stores hold with other content - while a file imported
again stores nothing new and says so."""

from __future__ import annotations

import io
import json
import os
import signal
import weakref
from pathlib import Path
from typing import Any

import pytest

from octomem import ImportRejectedError, Orchestrator
from octomem.errors import StoreError
from octomem.models import IntentPart, MemoryType
from octomem.orchestrator import import_checks
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.write import write_parts
from tests.conftest import T0
from tests.scenarios.test_crash import _child as crash_child

SECRET = "sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2


def _export(orch: Orchestrator, user_id: str | None = None) -> list[dict[str, Any]]:
    out = io.StringIO()
    orch.export_jsonl(out, user_id=user_id)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _text(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def _semantic(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        line
        for line in lines
        if line["type"] == "memory" and line["record"] and line["memory_type"] == "semantic"
    )


def _everything(orch: Orchestrator, user_id: str) -> Any:
    """Every record with its validity, and every event of every memory of the user."""
    records = orch.get_all(user_id=user_id, include_superseded=True)
    history = orch.run_sync(services_of(orch).history.for_user(user_id))
    return (
        sorted((r.id, r.content, r.valid_to) for r in records),
        sorted((e.id, e.memory_id, e.new_value) for e in history),
    )


def _deleted_memories(template: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """`count` lines of deleted memories (history only: nothing to embed), each with ids
    of its own, made from a real memory line."""
    lines = []
    for n in range(count):
        line = json.loads(json.dumps(template))
        prefix = line["id"].split("_")[0]
        memory_id = f"{prefix}_{n:024x}"
        line.update(id=memory_id, record=None)
        for k, event in enumerate(line["history"]):
            event.update(id=f"evt_{n:028x}{k:04x}", memory_id=memory_id, new_value=f"note {n}")
            event["record"].update(id=memory_id, content=f"note {n}")
        lines.append(line)
    return lines


def test_an_import_holds_a_batch_of_parsed_lines_never_the_file(
    make_orch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted through the checker of a memory line: however long the file, no more of
    its lines are alive as parsed objects than one batch (today's bound: the index keeps
    ids, not lines), while it is read and while it is written."""
    source = make_orch()
    source.process("I live in Paris.", user_id="al", timestamp=T0)
    lines = _export(source, "al")
    count = 612
    big = [lines[0], *_deleted_memories(_semantic(lines), count)]
    parsed: list[weakref.ref[Any]] = []
    most = [0]
    real = import_checks._memory_line

    def tracked(*args: Any, **kwargs: Any) -> Any:
        checked = real(*args, **kwargs)
        parsed.append(weakref.ref(checked))
        return checked

    monkeypatch.setattr(import_checks, "_memory_line", tracked)
    target = make_orch()
    services = services_of(target)
    for store, method in ((services.history, "for_memory"), (services.journal, "add_part")):
        original = getattr(store, method)

        async def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            most[0] = max(most[0], sum(ref() is not None for ref in parsed))
            return await _original(*args, **kwargs)

        monkeypatch.setattr(store, method, counted)
    summary = target.import_jsonl(io.StringIO(_text(big)))
    events = count * len(_semantic(lines)["history"])
    assert summary.deleted_memories == count and summary.history_events == events
    assert 0 < most[0] <= count // 2  # never the file

    from octomem.orchestrator import import_index  # its bound: one batch

    assert most[0] <= import_index.BATCH_LINES < count // 2
    assert len(target.run_sync(services.history.for_user("al"))) == events


def test_parts_are_journaled_as_they_come_and_a_wrong_count_writes_nothing(
    make_orch: Any,
) -> None:
    """`write_parts` asks for a part only once the one before is journaled; a body that
    gives fewer or more parts than it said is refused, and nothing of it is ever applied
    (the next open drops it: its last part was never journaled)."""
    orch = make_orch()
    orch.process("I live in Paris.", user_id="al", timestamp=T0)
    events = [e for line in _export(orch, "al") for e in line.get("history") or []]
    services = services_of(orch)
    steps: list[str] = []
    journal_add = services.journal.add_part

    async def add_part(intent_id: str, index: int, part: IntentPart, **kwargs: Any) -> None:
        steps.append(f"journaled {index}")
        await journal_add(intent_id, index, part, **kwargs)

    services.journal.add_part = add_part  # type: ignore[method-assign]

    async def body(given: int) -> Any:
        for n in range(given):
            steps.append(f"built {n}")
            yield IntentPart.model_validate({"events": [events[n]]})

    async def write(given: int, count: int) -> None:
        async with services.locks.hold("al") as fence:
            await write_parts(services, fence, body(given), count=count, users=["al"], actor="t")

    orch.run_sync(services.history.discard([e["memory_id"] for e in events]))
    orch.run_sync(write(3, 3))
    assert steps == [f"{kind} {n}" for n in range(3) for kind in ("built", "journaled")]
    assert len(orch.run_sync(services.history.for_user("al"))) == 3
    orch.run_sync(services.history.discard([e["memory_id"] for e in events]))
    for given, count in ((2, 3), (4, 3)):
        with pytest.raises(StoreError, match="parts"):
            orch.run_sync(write(given, count))
        assert orch.run_sync(services.history.for_user("al")) == []
    data_dir = orch.settings.data_dir
    orch.close()
    reopened = make_orch(data_dir=data_dir)
    assert reopened.get_all(user_id="al")  # opened: the journal recovered, both dropped
    assert reopened.run_sync(services_of(reopened).history.for_user("al")) == []
    assert reopened.run_sync(services_of(reopened).journal.pending()) == []


def test_a_logged_event_id_with_other_content_is_refused_and_nothing_is_written(
    make_orch: Any,
) -> None:
    """A file whose memory says something else under the same event ids (edited, or
    another store's), or a new memory reusing an event id of a stored one: the log would
    keep the stored event and the stores would disagree. Refused whole, nothing written;
    with skip_invalid the line is left out and the stores still agree."""
    orch = make_orch()
    orch.process("I live in Paris.", user_id="al", timestamp=T0)
    lines = _export(orch, "al")
    before = _everything(orch, "al")
    edited = json.loads(json.dumps(lines))
    line = _semantic(edited)
    for item in (line["record"], line["history"][-1]["record"]):
        item["content"] = item["content"].replace("Paris", "Rome")
    line["history"][-1]["new_value"] = line["record"]["content"]
    stolen = json.loads(json.dumps(_deleted_memories(_semantic(lines), 1)[0]))
    stolen["history"][0]["id"] = _semantic(lines)["history"][0]["id"]
    for bad in (edited, [lines[0], stolen]):
        with pytest.raises(ImportRejectedError, match="logged already with other content"):
            orch.import_jsonl(io.StringIO(_text(bad)))
        assert _everything(orch, "al") == before
    summary = orch.import_jsonl(io.StringIO(_text(edited)), skip_invalid=True)
    assert [r.id for r in summary.rejected] == [line["id"]]
    assert _everything(orch, "al") == before
    report = orch.check()
    assert report.consistent, report.model_dump()


def test_a_stored_memory_with_other_content_is_refused_and_nothing_is_written(
    make_orch: Any,
) -> None:
    """The same memory id with another text and a history the stored one does not share
    (a file of a store whose memory changed after it parted from this one's): refused,
    nothing written."""
    orch = make_orch()
    orch.process("I live in Paris.", user_id="al", timestamp=T0)
    lines = _export(orch, "al")
    before = _everything(orch, "al")
    other = json.loads(json.dumps(lines))
    line = _semantic(other)
    line["record"]["content"] = "I live in Rome."
    event = line["history"][-1]
    event.update(id="evt_" + "e" * 32, new_value="I live in Rome.", record=dict(line["record"]))
    line["history"] = [event]
    with pytest.raises(ImportRejectedError, match="does not continue"):
        orch.import_jsonl(io.StringIO(_text(other)))
    assert _everything(orch, "al") == before
    assert orch.check().consistent


def test_a_file_imported_again_stores_nothing_new_and_says_so(make_orch: Any) -> None:
    """The second import of the same export embeds and writes no record again, logs no
    event, and its summary counts every memory line as unchanged; the stores are as the
    first import left them."""
    source = make_orch()
    source.process("I'm Ann. I live in Paris and work at Acme.", user_id="ann", timestamp=T0)
    source.process("I moved to Berlin.", user_id="ann", timestamp=T0)
    text = _text(_export(source))
    target = make_orch()
    first = target.import_jsonl(io.StringIO(text))
    assert first.memories > 0 and first.unchanged == 0
    stored = _export(target)[1:]
    vector, upserts = services_of(target).vector, []
    real = vector.upsert

    async def upsert(memory_type: MemoryType, records: Any, embeddings: Any, **kwargs: Any) -> None:
        upserts.append(memory_type)
        await real(memory_type, records, embeddings, **kwargs)

    vector.upsert = upsert  # type: ignore[method-assign]
    again = target.import_jsonl(io.StringIO(text))
    assert upserts == []
    assert (again.memories, again.deleted_memories, again.history_events) == (0, 0, 0)
    assert again.unchanged == first.memories + first.deleted_memories
    assert again.relations == 0 and again.rejected_count == 0
    assert _export(target)[1:] == stored
    assert target.check().consistent


class _Pipe(io.RawIOBase):
    """A stream that can be read once, front to back (no seek, no second pass)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        return self._data.read(4096 if size is None or size < 0 else min(size, 4096))


def _open_files_under(folder: Path) -> dict[str, bytes]:
    """What each file this process holds open under `folder` holds (deleted ones too)."""
    found = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder)):
                found[target] = Path(f"/proc/self/fd/{fd}").read_bytes()
        except OSError:
            continue
    return found


def test_a_stream_read_once_is_spooled_masked_in_the_data_directory(make_orch: Any) -> None:
    """A stream that cannot be read twice imports whole. What the import keeps of it
    between reading and writing is a nameless file in the data directory, masked: no file
    the process holds there holds the secret the stream carries, while the import writes
    - and once it is done, no file of it is left."""
    source = make_orch()
    source.process("I live in Paris.", user_id="al", timestamp=T0)
    lines = _export(source, "al")
    line = _semantic(lines)
    for item in (line["record"], line["history"][-1]["record"]):
        item["content"] = f"My API key is {SECRET}, I live in Paris."
    data_dir = source.settings.data_dir.parent / "target"
    target = make_orch(data_dir=data_dir)
    services = services_of(target)
    seen: list[dict[str, bytes]] = []
    add_part = services.journal.add_part

    async def looking(*args: Any, **kwargs: Any) -> None:
        seen.append(_open_files_under(data_dir))
        await add_part(*args, **kwargs)

    services.journal.add_part = looking  # type: ignore[method-assign]
    summary = target.import_jsonl(_Pipe(_text(lines).encode()))  # type: ignore[arg-type]
    assert summary.memories == len([x for x in lines if x["type"] == "memory" and x["record"]])
    assert seen and all(SECRET.encode() not in held for files in seen for held in files.values())
    assert any(name.endswith("(deleted)") for files in seen for name in files)  # the spool
    assert not any(name.endswith("(deleted)") for name in _open_files_under(data_dir))
    [record] = [r for r in target.get_all(user_id="al") if r.id == line["id"]]
    assert SECRET not in record.content and "Paris" in record.content


def test_an_import_killed_between_its_parts_leaves_nothing(make_orch: Any, tmp_path: Path) -> None:
    """Killed (SIGKILL) once two parts of a user's import are journaled, before the rest:
    the next open drops the write - no record, no event, no graph of it - and importing
    the file again gives what an uninterrupted import gives."""
    source = make_orch()
    notes = [{"role": "user", "content": f"Note {i}: box {i} is on shelf {i}."} for i in range(140)]
    source.process(notes, user_id="ann", infer=False, timestamp=T0)  # > two parts
    export = tmp_path / "export.jsonl"
    source.export_jsonl(export)
    data_dir = tmp_path / "killed"
    spec = {"data_dir": str(data_dir), "call": "import", "user_id": "ann"}
    spec |= {"source": str(export), "store": "journal", "method": "add_part", "nth": 2}
    child = crash_child(spec | {"when": "after"})
    output, _ = child.communicate(timeout=600)
    assert child.returncode == -signal.SIGKILL, output
    target = make_orch(data_dir=data_dir)
    assert target.get_all(user_id="ann", include_superseded=True) == []
    assert target.stats().totals.model_dump() == {"memories": 0, "current": 0, "history_events": 0}
    assert target.stats().graph.relations == 0
    report = target.check()
    assert report.consistent, report.model_dump()
    target.import_jsonl(export)
    assert _everything(target, "ann") == _everything(source, "ann")


def test_a_later_export_deletes_what_was_deleted_since_the_first(make_orch: Any) -> None:
    """A store restored from a backup imports a later export in which a memory was deleted
    since: its history continues the stored one with the deletion, so the memory is
    deleted here too (not left as a record whose last event deletes it), and the stores
    agree."""
    source = make_orch()
    source.process("I live in Paris. I love jazz.", user_id="al", timestamp=T0)
    first = _text(_export(source))
    jazz = next(
        r
        for r in source.get_all(user_id="al")
        if "jazz" in r.content and r.memory_type is MemoryType.SEMANTIC
    )
    source.delete(jazz.id, user_id="al")
    later = _text(_export(source))
    target = make_orch()
    target.import_jsonl(io.StringIO(first))
    assert target.get(jazz.id, user_id="al") is not None
    assert source.check().consistent
    summary = target.import_jsonl(io.StringIO(later))
    assert summary.deleted_memories == 1 and summary.rejected_count == 0
    assert jazz.id not in {r.id for r in target.get_all(user_id="al", include_superseded=True)}
    assert [e.operation for e in target.history(jazz.id)] == [
        e.operation for e in source.history(jazz.id)
    ]
    report = target.check()
    assert report.consistent, report.model_dump()
    assert _everything(target, "al") == _everything(source, "al")


def test_an_import_leaves_the_recall_cache_to_what_recall_reads(make_orch: Any) -> None:
    """The records an import writes are not put in the recall cache (embedded Chroma's,
    filled by what recall reads): what recall had cached stays, and a cached record the
    import changes is dropped from it, so that the next read serves the imported state."""
    source = make_orch()
    source.process("I live in Paris.", user_id="al", timestamp=T0)
    target = make_orch()
    target.import_jsonl(io.StringIO(_text(_export(source))))
    target.process("I love jazz.", user_id="bo", timestamp=T0)
    vector = services_of(target).vector
    cache = vector._cache
    assert cache is not None

    def stored(orch: Orchestrator, user_id: str, kind: MemoryType, word: str) -> Any:
        return next(
            r
            for r in orch.get_all(user_id=user_id, include_superseded=True)
            if word in r.content and r.memory_type is kind
        )

    def cached(kind: MemoryType, *ids: str) -> dict[str, str]:
        return cache.lookup(vector.collection_name(kind), ids)

    episodic, semantic = MemoryType.EPISODIC, MemoryType.SEMANTIC
    paris, jazz = stored(target, "al", semantic, "Paris"), stored(target, "bo", episodic, "jazz")
    assert set(cached(semantic, paris.id)) == {paris.id}  # read: kept
    assert set(cached(episodic, jazz.id)) == {jazz.id}
    source.process("I moved to Berlin.", user_id="al", timestamp=T0.replace(year=T0.year + 1))
    summary = target.import_jsonl(io.StringIO(_text(_export(source))))
    assert summary.memories >= 2 and summary.rejected_count == 0
    moved = stored(source, "al", episodic, "Berlin")
    assert cached(episodic, moved.id) == {}  # written by the import: not kept
    assert set(cached(episodic, jazz.id)) == {jazz.id}  # what recall read stays
    # changed by the import: the stale state is gone (the views the import renders read
    # the user's facts again, and those reads are kept)
    for payload in cached(semantic, paris.id).values():
        assert json.loads(payload)["valid_to"] is not None
    closed = target.get(paris.id, user_id="al")
    assert closed is not None and closed.valid_to is not None
    assert _everything(target, "al") == _everything(source, "al")
