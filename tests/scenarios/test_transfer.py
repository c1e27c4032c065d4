"""Export / import: a JSONL round trip loses nothing, superseded memories and graph edges too."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.errors import InvalidInputError, StoreError
from octomem.models import MemoryBase, MemoryType, Operation
from octomem.orchestrator.internals import services_of
from tests.conftest import T0
from tests.invariants import assert_one_current_home


def _fill(orch: Orchestrator) -> None:
    orch.process(
        [
            {
                "role": "user",
                "content": "Hi, I'm Alice. I live in Paris and work at Acme.",
                "metadata": {"source": "crm", "role": "caller-role"},
            },
            {"role": "assistant", "content": "Nice to meet you, Alice!"},
        ],
        user_id="alice",
        session_id="s1",
        metadata={"channel": "web"},
        timestamp=T0,
    )
    orch.process("Big news: I moved to Berlin last week!", user_id="alice", session_id="s2")
    orch.process("Maria works at Siemens. See https://example.org/guide.pdf", user_id="alice")
    orch.process("I love jazz.", user_id="bob")
    orch.delete_all(user_id="bob")  # bob survives only in the history log
    hiking = orch.process("I love hiking.", user_id="alice")
    added = [
        op.memory_id for op in hiking.all_operations() if op.memory_type is MemoryType.SEMANTIC
    ]
    orch.update(added[0], "Alice loves hiking in the Alps.", metadata={"checked": True})
    episodic = orch.get_all(user_id="alice", memory_types=["episodic"])
    # any turn but the one whose caller metadata the round trip checks
    turn = next(r for r in episodic if r.metadata.get("role") != "caller-role")
    orch.delete(turn.id)


def _body(lines: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(line, sort_keys=True) for line in lines if line["type"] != "header")


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in text.splitlines()]


def test_round_trip_loses_nothing(make_orch: Any, tmp_path: Path) -> None:
    source = make_orch()
    _fill(source)
    path = tmp_path / "export.jsonl"
    summary = source.export_jsonl(path)
    exported = _lines(path.read_text())
    assert exported[0]["type"] == "header" and exported[0]["format"] == "octomem-export"
    kinds = {line["type"] for line in exported}
    assert kinds == {"header", "memory", "entity", "relation"}
    assert summary.deleted_memories >= 2  # bob's memories and the deleted turn
    superseded = [
        line
        for line in exported
        if line["type"] == "memory" and line["record"] and line["record"]["valid_to"]
    ]
    assert any("Paris" in line["record"]["content"] for line in superseded)
    relations = [line for line in exported if line["type"] == "relation"]
    assert any(r["invalid_at"] for r in relations), "the LIVES_IN Paris edge is kept, invalid"

    target = make_orch()
    imported = target.import_jsonl(path)
    assert imported == summary
    # every record comes back exactly: the caller's metadata and octomem's internal keys
    originals = _records(source)
    assert _records(target) == originals
    raw = [r for r in originals.values() if r.internal.get("raw")]
    assert raw and all(r.internal["batch"] and "batch" not in r.metadata for r in raw)
    assert any(r.metadata.get("role") == "caller-role" for r in raw)
    again = io.StringIO()
    target.export_jsonl(again)
    assert _body(_lines(again.getvalue())) == _body(exported)

    # the restored stores answer like the originals
    for orch in (source, target):
        paris = orch.recall("Paris", user_id="alice", include_superseded=True)
        assert any("Paris" in hit.memory.content for hit in paris.hits)
    old = [m for m in target.get_all(user_id="alice", include_superseded=True) if not m.is_current]
    assert old and all(m.valid_to is not None for m in old)
    assert [e.id for e in target.history(old[0].id)] == [e.id for e in source.history(old[0].id)]
    assert target.stats() == source.stats()

    # importing twice changes nothing
    target.import_jsonl(path)
    twice = io.StringIO()
    target.export_jsonl(twice)
    assert _body(_lines(twice.getvalue())) == _body(exported)


def _records(orch: Orchestrator) -> dict[str, MemoryBase]:
    return {r.id: r for r in orch.get_all(user_id="alice", include_superseded=True)}


def test_export_one_user_and_stats(orch: Orchestrator) -> None:
    orch.process("I'm Alice. I live in Paris.", user_id="alice")
    orch.process("I love jazz.", user_id="bob")
    out = io.StringIO()
    orch.export_jsonl(out, user_id="bob")
    lines = _lines(out.getvalue())
    assert lines[0]["user_id"] == "bob"
    records = [line["record"] for line in lines if line["type"] == "memory"]
    assert records and {r["user_id"] for r in records} == {"bob"}
    stats = orch.stats(user_id="alice")
    assert stats.memories["semantic"].current >= 1
    assert stats.totals.history_events >= stats.totals.memories
    assert orch.stats().users == 2


def test_import_rejects_bad_files(orch: Orchestrator, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no export file"):
        orch.import_jsonl(tmp_path / "missing.jsonl")
    with pytest.raises(InvalidInputError, match="not an octomem export"):
        orch.import_jsonl(io.StringIO('{"type": "memory"}\n'))
    header = json.dumps({"type": "header", "format": "octomem-export", "version": 1})
    with pytest.raises(InvalidInputError, match="line 2"):
        orch.import_jsonl(io.StringIO(header + "\n{not json\n"))
    bad = json.dumps({"type": "memory", "record": {"memory_type": "semantic"}, "history": []})
    with pytest.raises(InvalidInputError, match=r"line 2 \(memory\): the record is not valid"):
        orch.import_jsonl(io.StringIO(header + "\n" + bad + "\n"))


def test_import_rejects_what_it_could_not_store_and_writes_nothing(
    make_orch: Any, tmp_path: Path
) -> None:
    """Records the stores could not read back (a NaN confidence, which Python's json reads),
    scope ids the API would refuse, ids that do not name their memory type, a history that
    is not a list, a file that is not UTF-8: an InvalidInputError naming the line, and the
    stores stay empty - not a foreign exception, nor a store no call can read any more."""
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    buffer = io.StringIO()
    source.export_jsonl(buffer, user_id="alice")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    at = next(i for i, line in enumerate(lines) if line["type"] == "memory" and line["record"])

    def spoilt(**change: Any) -> io.StringIO:
        bad = [dict(line) for line in lines]
        record = change.pop("record", {})
        bad[at] = {**bad[at], **change, "record": {**bad[at]["record"], **record}}
        return io.StringIO("\n".join(json.dumps(line) for line in bad) + "\n")

    target = make_orch()
    cases = [
        (spoilt(record={"confidence": float("nan")}), "must be finite"),
        (spoilt(record={"user_id": " "}), "user_id"),
        (spoilt(record={"id": "not-an-octomem-id"}), "id"),
        (spoilt(history=7), "history"),
    ]
    for stream, message in cases:
        with pytest.raises(InvalidInputError, match=f"line {at + 1} .*{message}"):
            target.import_jsonl(stream)
    (tmp_path / "latin1.jsonl").write_bytes(b'{"type": "header", "note": "caf\xe9"}\n')
    with pytest.raises(InvalidInputError, match="UTF-8"):
        target.import_jsonl(tmp_path / "latin1.jsonl")
    assert target.stats().totals.model_dump() == {"memories": 0, "current": 0, "history_events": 0}
    assert target.get_all(user_id="alice") == []


def test_import_writes_the_graph_under_the_users_lock(make_orch: Any) -> None:
    """A move processed while an import of the same user runs lands before or after that
    user's part of the import, never between its records and its graph: the imported
    (older) edge must not come back valid next to the new home."""
    source = make_orch()
    source.process("I live in Paris.", user_id="mover", timestamp=T0)
    buffer = io.StringIO()
    source.export_jsonl(buffer, user_id="mover")

    target = make_orch()
    graph = services_of(target).graph
    real = graph.upsert_entities
    calls: list[int] = []

    async def upsert_entities(entities, **kwargs):
        calls.append(len(entities))
        if len(calls) == 2:  # the import's own graph step, after its records
            move = asyncio.ensure_future(target.aprocess("I moved to Rome.", user_id="mover"))
            await asyncio.wait([move], timeout=5)  # runs now, unless the user is locked
        return await real(entities, **kwargs)

    graph.upsert_entities = upsert_entities  # type: ignore[method-assign]
    target.import_jsonl(io.StringIO(buffer.getvalue()))
    graph.upsert_entities = real  # type: ignore[method-assign]
    target.process("I moved to Rome.", user_id="mover")  # after the move (or it is a NOOP)
    assert assert_one_current_home(target, "mover", ["Paris", "Rome"]) == "Rome"
    assert target.check().consistent


def test_an_import_cut_short_by_a_store_is_completed_by_the_users_next_write(
    make_orch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that fails half-way through a user's import (its first part of records
    written, the next not) leaves the whole import in the journal: the user's next write
    completes all of it - records, history, graph, views - before it reads, and the
    stores agree."""
    source = make_orch()
    source.process("I'm Ann. I live in Paris.", user_id="ann", timestamp=T0)
    notes = [{"role": "user", "content": f"Note {i}: box {i} is on shelf {i}."} for i in range(140)]
    source.process(notes, user_id="ann", infer=False, timestamp=T0)  # > one part of records
    buffer = io.StringIO()
    source.export_jsonl(buffer)

    target = make_orch()
    vector, calls = services_of(target).vector, []
    real = vector.upsert

    async def upsert(memory_type, records, embeddings, **kwargs):
        calls.append(memory_type)
        if len(calls) == 2:
            raise StoreError("the vector store is unreachable for a moment")
        return await real(memory_type, records, embeddings, **kwargs)

    monkeypatch.setattr(vector, "upsert", upsert)
    with pytest.raises(StoreError, match="unreachable"):
        target.import_jsonl(io.StringIO(buffer.getvalue()))
    monkeypatch.setattr(vector, "upsert", real)
    target.process("I moved to Berlin.", user_id="ann", timestamp=T0 + timedelta(days=1))
    report = target.check()
    assert report.consistent, report.model_dump()
    stored = {r.id for r in target.get_all(user_id="ann", include_superseded=True)}
    assert {r.id for r in source.get_all(user_id="ann", include_superseded=True)} <= stored
    assert assert_one_current_home(target, "ann", ["Paris", "Berlin"]) == "Berlin"


def test_an_older_export_imported_again_does_not_reopen_what_was_superseded_since(
    make_orch: Any,
) -> None:
    """A backup taken before a fact changed, imported into the same store (a retried
    restore, a backup imported twice), leaves the newer truth alone: one current truth
    per fact, and the stores still agree."""
    orch = make_orch()
    orch.process("I live in Paris.", user_id="al", timestamp=T0)
    backup = io.StringIO()
    orch.export_jsonl(backup)
    orch.process(
        "I moved to Oslo, I no longer live in Paris.",
        user_id="al",
        timestamp=T0 + timedelta(days=30),
    )

    def current() -> list[tuple[str, str]]:
        return sorted((r.id, r.content) for r in orch.get_all(user_id="al"))

    before = current()
    assert assert_one_current_home(orch, "al", ["Paris", "Oslo"]) == "Oslo"
    orch.import_jsonl(io.StringIO(backup.getvalue()))
    assert current() == before
    assert assert_one_current_home(orch, "al", ["Paris", "Oslo"]) == "Oslo"
    report = orch.check()
    assert all(not (s.missing or s.extra or s.stale) for s in report.stores), report
    orch.import_jsonl(io.StringIO(backup.getvalue()))
    assert current() == before


def test_texts_holding_unicode_line_separators_survive_export_and_import(
    make_orch: Any, tmp_path: Path
) -> None:
    """U+2028 and U+2029 are written as they are inside JSON strings, and are no line
    ends of JSON Lines: an export holding them imports whole."""
    source = make_orch()
    source.process(
        {
            "role": "user",
            "content": "My locker code is 4417\u2028and my desk is B12.\u2029Thanks!",
            "metadata": {"note": "one\u2028two\u0085three"},
        },
        user_id="al",
        timestamp=T0,
    )
    path = tmp_path / "backup.jsonl"
    exported = source.export_jsonl(path)
    target = make_orch()
    imported = target.import_jsonl(path)
    assert imported.memories == exported.memories > 0

    def everything(orch: Orchestrator) -> list[tuple[str, str, Any]]:
        records = orch.get_all(user_id="al", include_superseded=True)
        return sorted((r.id, r.content, r.metadata) for r in records)

    assert everything(target) == everything(source)
    assert any("\u2028" in text for _, text, _ in everything(target))


def test_an_export_of_another_data_directory_leaves_the_user_one_human_block(
    make_orch: Any,
) -> None:
    """Another data directory's ids come from its own key, so its human block is another
    record than this directory's block of the same user, and its versions of the user's
    facts other records than this one's. The import closes the older version of each fact
    (as repair would), renders the user's block from the facts it then holds and removes
    the other block: one current truth, and no block saying what the facts do not."""
    here, there = make_orch(), make_orch()
    here.process("I live in Paris. I work at Acme.", user_id="al", timestamp=T0)
    there.process(
        "I live in Berlin. I work at Initech.", user_id="al", timestamp=T0 + timedelta(days=1)
    )
    export = io.StringIO()
    there.export_jsonl(export)

    def blocks() -> list[str]:
        return [r.content for r in here.get_all(user_id="al", memory_types=["core"])]

    here.import_jsonl(io.StringIO(export.getvalue()))
    assert here.check().consistent
    assert blocks() == ["Lives in: Berlin\nWorks at: Initech"]
    facts = here.get_all(user_id="al", memory_types=["semantic"])
    assert sorted(m.content for m in facts) == [
        "The user lives in Berlin.",
        "The user works at Initech.",
    ]
    everything = here.get_all(user_id="al", memory_types=["semantic"], include_superseded=True)
    (paris,) = [m for m in everything if "Paris" in m.content]
    assert paris.valid_to == T0 + timedelta(days=1)  # closed where Berlin began
    assert [(e.operation, e.actor) for e in here.history(paris.id)][-1] == (
        Operation.UPDATE,
        "import",
    )
    again = io.StringIO(export.getvalue())
    here.import_jsonl(again)  # the same file again changes nothing
    assert here.get_all(user_id="al", memory_types=["semantic"]) == facts
    assert here.check().consistent
