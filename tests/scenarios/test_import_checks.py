"""An import checks every line before it writes: bad scope ids, oversized texts and ids of
another tenant are rejected, named with their line and reason, and change nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from octomem import ImportRejectedError, Orchestrator
from octomem.cli import app
from octomem.models import MemoryType, content_hash
from tests.conftest import T0


def _export(orch: Orchestrator, user_id: str) -> list[dict[str, Any]]:
    buffer = io.StringIO()
    orch.export_jsonl(buffer, user_id=user_id)
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def _file(lines: list[dict[str, Any]]) -> io.StringIO:
    return io.StringIO("\n".join(json.dumps(line) for line in lines) + "\n")


def _record_lines(lines: list[dict[str, Any]]) -> list[int]:
    return [i for i, line in enumerate(lines) if line["type"] == "memory" and line["record"]]


def _as_user(line: dict[str, Any], user_id: str) -> dict[str, Any]:
    """The line re-owned by `user_id`, ids unchanged: what a hostile export would hold."""
    line = json.loads(json.dumps(line))
    if line["type"] == "memory":
        if line["record"]:
            line["record"]["user_id"] = user_id
        for event in line["history"]:
            event["user_id"] = user_id
            if event.get("record"):
                event["record"]["user_id"] = user_id
    else:
        line["user_id"] = user_id
    return line


def _everything(orch: Orchestrator, user_id: str) -> list[tuple[str, str, str | None]]:
    return sorted(
        (r.id, r.content_hash, r.user_id)
        for r in orch.get_all(user_id=user_id, include_superseded=True)
    )


@pytest.fixture(params=["embedded", "server"])
def bob(request: pytest.FixtureRequest, make_orch: Any) -> Orchestrator:
    """Bob's memories, on embedded stores and on the Chroma + Bolt servers the tests start."""
    servers = request.getfixturevalue("server_stores") if request.param == "server" else {}
    orch = make_orch(**servers)
    orch.process("I'm Bob. I live in Oslo and work at Statoil.", user_id="bob", timestamp=T0)
    return orch


def test_a_scope_id_the_api_refuses_is_rejected_and_nothing_is_written(
    make_orch: Any,
) -> None:
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    lines = _export(source, "alice")
    bad = _as_user(lines[_record_lines(lines)[0]], "x" * 1000 + "\x00z")
    target = make_orch()
    with pytest.raises(ImportRejectedError, match="user_id") as caught:
        target.import_jsonl(_file([*lines, bad]))
    assert [r.line for r in caught.value.rejected] == [len(lines) + 1]  # type: ignore[attr-defined]
    assert target.stats().totals.memories == 0
    assert target.stats().totals.history_events == 0


@pytest.mark.parametrize("field", ["user_id", "agent_id"])
def test_a_scope_id_that_is_not_unicode_is_rejected_not_a_crash(make_orch: Any, field: str) -> None:
    """A lone surrogate ("\\ud800" in the JSON) as a record's user or agent: the line is
    rejected like any other bad scope id, not hashed for its scope's erasures first (a
    bare UnicodeEncodeError ended the import)."""
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    lines = _export(source, "alice")
    bad = json.loads(json.dumps(lines[_record_lines(lines)[0]]))
    bad["record"][field] = "\ud800"
    target = make_orch()
    with pytest.raises(ImportRejectedError, match=field) as caught:
        target.import_jsonl(_file([lines[0], bad]))  # the header, then the line
    assert [r.line for r in caught.value.rejected] == [2]  # type: ignore[attr-defined]
    assert target.stats().totals.memories == 0
    target.import_jsonl(_file([lines[0], bad]), skip_invalid=True)
    assert target.check().consistent


def test_another_tenants_record_id_cannot_be_taken_over(bob: Orchestrator) -> None:
    """Reusing bob's ids in an import for mallory must not move bob's records to her,
    change their text, or add to their history."""
    lines = _export(bob, "bob")
    before = _everything(bob, "bob")
    history_before = {i: len(bob.history(i)) for i, _, _ in before}
    hostile = [lines[0]] + [_as_user(line, "mallory") for line in lines[1:]]
    for at in _record_lines(hostile):  # the record and what its history logs, both
        for record in [hostile[at]["record"], *(e["record"] for e in hostile[at]["history"])]:
            if record:
                record["content"] = "Bob's secrets now belong to mallory"
                record["content_hash"] = ""

    with pytest.raises(ImportRejectedError, match="another user"):
        bob.import_jsonl(_file(hostile))
    summary = bob.import_jsonl(_file(hostile), skip_invalid=True)

    reasons = {r.kind: r.reason for r in summary.rejected}
    assert summary.memories == 0 and summary.entities == 0 and summary.relations == 0
    assert summary.rejected_count == len(lines) - 1  # every line but the header
    assert "another user" in reasons["memory"] and "another user" in reasons["entity"]
    assert _everything(bob, "bob") == before
    assert {i: len(bob.history(i)) for i, _, _ in before} == history_before
    assert bob.get_all(user_id="mallory", include_superseded=True) == []
    if bob.settings.graph.provider == "ladybug":  # a shared Bolt server holds other tests' too
        assert bob.check().consistent


@pytest.mark.parametrize("field", ["content", "valid_to"])
def test_a_record_that_is_not_what_its_history_logs_is_rejected(make_orch: Any, field: str) -> None:
    """A line edited by hand - its record's text or validity, not the history event that
    logs it - would leave stores that disagree (`check()` not consistent): rejected."""
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    lines = _export(source, "alice")
    at = _record_lines(lines)[0]
    edited = json.loads(json.dumps(lines[at]))
    if field == "content":
        edited["record"]["content"] = "I live in Rome."
        edited["record"]["content_hash"] = ""
    else:
        edited["record"]["valid_to"] = T0.isoformat()
    target = make_orch()
    with pytest.raises(ImportRejectedError, match="what its last history event logs"):
        target.import_jsonl(_file([lines[0], edited]))
    assert target.stats().totals.memories == 0
    target.import_jsonl(_file([*lines[:at], edited, *lines[at + 1 :]]), skip_invalid=True)
    assert target.check().consistent


def _with_edges(make_orch: Any) -> list[dict[str, Any]]:
    """An export holding knowledge edges, one closed: Eva moved from Rome to Milan."""
    source = make_orch()
    source.process(
        "I live in Paris and my sister Eva lives in Rome.", user_id="alice", timestamp=T0
    )
    source.process("Eva lives in Milan now.", user_id="alice", timestamp=T0 + timedelta(days=1))
    lines = _export(source, "alice")
    assert any(line["type"] == "relation" and line["invalid_at"] for line in lines)
    return lines


@pytest.mark.parametrize(
    ("field", "value"),
    [("predicate", "HATES"), ("fact", "Eva hates Rome."), ("invalid_at", T0.isoformat())],
)
def test_a_relation_that_is_not_its_knowledge_records_edge_is_rejected(
    make_orch: Any, field: str, value: str
) -> None:
    """A relation line edited by hand - its predicate, fact or validity, not its knowledge
    record - would leave a graph `check()` flags: rejected, its record in the file
    (wherever the line lies) or stored already."""
    lines = _with_edges(make_orch)
    at = next(
        i for i, line in enumerate(lines) if line["type"] == "relation" and not line["invalid_at"]
    )
    edited = [*lines[:at], {**lines[at], field: value}, *lines[at + 1 :]]
    target = make_orch()
    with pytest.raises(ImportRejectedError, match="its knowledge record") as caught:
        target.import_jsonl(_file(edited))
    rejected: list[Any] = caught.value.rejected  # type: ignore[attr-defined]
    assert [(r.line, r.kind) for r in rejected] == [(at + 1, "relation")]
    assert target.stats().totals.memories == 0
    # the relation lines before the memory lines: the same line rejected
    reordered = [edited[0], *edited[at:], *edited[1:at]]
    with pytest.raises(ImportRejectedError, match="its knowledge record"):
        target.import_jsonl(_file(reordered))
    summary = target.import_jsonl(_file(edited), skip_invalid=True)
    assert [r.line for r in summary.rejected] == [at + 1]
    assert target.check().consistent
    # its record stored already (the file holds the relation alone)
    with pytest.raises(ImportRejectedError, match="its knowledge record"):
        target.import_jsonl(_file([lines[0], edited[at]]))
    assert target.import_jsonl(_file([lines[0], lines[at]])).relations == 1  # as it was
    assert target.check().consistent


def test_a_current_edge_of_no_knowledge_record_is_rejected(make_orch: Any) -> None:
    """A current edge whose knowledge memory is in neither the file nor the stores, or
    whose memory line is rejected, or whose id is no knowledge memory's, is an edge of no
    record: rejected. Closed, it is kept (a deleted memory's edge is closed, never
    deleted)."""
    lines = _with_edges(make_orch)
    at = next(
        i for i, line in enumerate(lines) if line["type"] == "relation" and not line["invalid_at"]
    )
    target = make_orch()
    for nowhere in ("kg_" + "0" * 24, "*", "sem_" + "0" * 24):
        orphan = {**lines[at], "id": nowhere, "memory_id": nowhere}
        edited = [*lines[:at], orphan, *lines[at + 1 :]]
        with pytest.raises(
            ImportRejectedError, match="current edge of no knowledge record"
        ) as caught:
            target.import_jsonl(_file(edited))
        assert [r.line for r in caught.value.rejected] == [at + 1]  # type: ignore[attr-defined]
    edited[at]["invalid_at"] = T0.isoformat()
    target.import_jsonl(_file(edited))
    assert target.check().consistent

    # its memory line rejected (its record not what its history logs): its edge too
    record_at = next(i for i in _record_lines(lines) if lines[i]["id"] == lines[at]["id"])
    edited = json.loads(json.dumps(lines))
    edited[record_at]["record"]["content"] = "Eva lives in Oslo."
    other = make_orch()
    summary = other.import_jsonl(_file(edited), skip_invalid=True)
    assert [r.line for r in summary.rejected] == [record_at + 1, at + 1]
    assert other.check().consistent


def test_an_unedited_export_with_edges_imports_consistent_and_twice_changes_nothing(
    make_orch: Any,
) -> None:
    lines = _with_edges(make_orch)
    target = make_orch()
    summary = target.import_jsonl(_file(lines))
    assert summary.rejected_count == 0
    assert summary.relations == sum(line["type"] == "relation" for line in lines)
    assert target.check().consistent
    before = _export(target, "alice")[1:]
    again = target.import_jsonl(_file(lines))
    assert again.rejected_count == 0 and again.relations == 0 and again.history_events == 0
    assert _export(target, "alice")[1:] == before
    assert target.check().consistent
    # in another order: the relation lines first, the memory lines last
    other = make_orch()
    other.import_jsonl(_file([lines[0], *reversed(lines[1:])]))
    assert other.check().consistent


def test_an_id_claimed_twice_in_one_file_goes_to_the_first_scope(make_orch: Any) -> None:
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    lines = _export(source, "alice")
    at = _record_lines(lines)[0]
    stolen = _as_user(lines[at], "mallory")
    target = make_orch()
    summary = target.import_jsonl(_file([*lines, stolen]), skip_invalid=True)
    assert [(r.line, r.id) for r in summary.rejected] == [(len(lines) + 1, lines[at]["id"])]
    assert target.get(lines[at]["id"]).user_id == "alice"
    assert target.get_all(user_id="mallory") == []


def test_an_id_given_twice_in_one_scope_is_rejected_the_second_time(make_orch: Any) -> None:
    """The same memory twice with different texts (an edited or spliced file): the later
    line is rejected, so the record and its history agree and one text is current."""
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    lines = _export(source, "alice")
    at = _record_lines(lines)[0]
    twin = json.loads(json.dumps(lines[at]))
    twin["record"]["content"] = "Alice lives in Rome."
    twin["history"] = []
    target = make_orch()
    with pytest.raises(ImportRejectedError, match="earlier line"):
        target.import_jsonl(_file([*lines, twin]))
    assert target.stats().totals.memories == 0
    summary = target.import_jsonl(_file([*lines, twin]), skip_invalid=True)
    assert [(r.line, r.id) for r in summary.rejected] == [(len(lines) + 1, lines[at]["id"])]
    assert summary.memories == len(_record_lines(lines))
    assert target.get(lines[at]["id"]).content == lines[at]["record"]["content"]
    assert target.check().consistent


def test_a_history_event_holding_another_memorys_record_is_rejected(bob: Orchestrator) -> None:
    """An event of mallory's memory whose logged record is bob's (his id, his user): the
    log would hold, as the state of her memory, a record of his, which a store restores
    from the log. The line is rejected and bob's memory is as it was."""
    theirs = next(line for line in _export(bob, "bob") if line["type"] == "memory")
    source = bob  # mallory's own memory, in the same project
    source.process("I collect stamps.", user_id="mallory", timestamp=T0)
    lines = _export(source, "mallory")
    at = _record_lines(lines)[0]
    forged = json.loads(json.dumps(theirs["record"]))
    forged["content"] = "Bob owes Mallory 500 euros."
    lines[at]["history"][-1]["record"] = forged
    before = _everything(bob, "bob")
    with pytest.raises(ImportRejectedError, match="different"):
        bob.import_jsonl(_file(lines))
    summary = bob.import_jsonl(_file(lines), skip_invalid=True)
    assert [r.line for r in summary.rejected] == [at + 1]
    assert _everything(bob, "bob") == before
    assert all("500 euros" not in e.new_value for e in bob.history(theirs["id"]) if e.new_value)


def test_a_relation_to_another_users_entity_is_rejected(bob: Orchestrator) -> None:
    """An edge of mallory's pointing at bob's entity would put bob's node in her graph."""
    lines = _export(bob, "bob")
    entity = next(line for line in lines if line["type"] == "entity")
    relation = next(line for line in lines if line["type"] == "relation")
    edge = {**relation, "id": "rel_mallory", "user_id": "mallory", "memory_id": None}
    mine = {**entity, "id": "ent_mallory", "user_id": "mallory", "name": "Mallory"}
    edge["subject_id"] = mine["id"]  # her own subject, bob's object
    summary = bob.import_jsonl(_file([lines[0], mine, edge]), skip_invalid=True)
    assert summary.entities == 1 and summary.relations == 0
    assert [r.reason for r in summary.rejected] == ["it links an entity of another user"]
    dangling = {**edge, "id": "rel_dangling", "object_id": "ent_nowhere"}
    summary = bob.import_jsonl(_file([lines[0], dangling]), skip_invalid=True)
    assert [r.reason for r in summary.rejected] == ["it links an entity that is missing"]


def test_texts_over_the_limit_are_rejected_control_characters_removed(make_orch: Any) -> None:
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    lines = _export(source, "alice")
    # a canonical record (the human block would be rendered again from the facts)
    at = next(
        i for i in _record_lines(lines) if "projection_of" not in lines[i]["record"]["internal"]
    )
    target = make_orch(input={"max_message_chars": 50})

    huge = json.loads(json.dumps(lines))
    huge[at]["record"]["content"] = "word " * 40  # 200 characters > 2 x 50
    with pytest.raises(ImportRejectedError, match="the limit is 100"):
        target.import_jsonl(_file(huge))

    dirty = json.loads(json.dumps(lines))
    dirty[at]["record"]["content"] = "I live\x00 in Par\x07is.\x1b[31m"
    dirty[at]["history"][-1]["record"]["content"] = dirty[at]["record"]["content"]
    dirty[at]["record"]["metadata"] = {"note\x00": "x"}
    with pytest.raises(ImportRejectedError, match="control characters"):
        target.import_jsonl(_file(dirty))
    dirty[at]["record"]["metadata"] = {"note": "a\x00b"}
    target.import_jsonl(_file(dirty))
    record = target.get(dirty[at]["id"])
    assert record.content == "I live in Paris.[31m"
    assert record.metadata == {"note": "ab"}
    assert record.content_hash == content_hash(record.content)  # of the text kept
    assert target.recall("Paris", user_id="alice").hits
    report = target.check()
    assert report.consistent, report


def test_a_valid_export_still_imports_whole(bob: Orchestrator, make_orch: Any) -> None:
    lines = _export(bob, "bob")
    target = make_orch()  # embedded, from either
    summary = target.import_jsonl(_file(lines))
    assert summary.rejected == [] and summary.rejected_count == 0
    assert _everything(target, "bob") == _everything(bob, "bob")
    assert summary.by_type.get(MemoryType.SEMANTIC.value, 0) >= 1


def test_the_cli_lists_rejected_lines_whose_ids_look_like_markup(tmp_path: Path) -> None:
    """The id and type of a rejected line are the file's text, shown as they are: a
    "[/x]" in them is no markup that ends the command with an internal error."""
    path = tmp_path / "hostile.jsonl"
    header = {"type": "header", "format": "octomem-export", "version": 1, "user_id": None}
    lines = [
        header,
        {"type": "memory", "id": "[/oops]", "memory_type": "semantic", "record": None},
        {"type": "[/kind]", "id": "[bold]x"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    done = CliRunner().invoke(
        app, ["import", str(path), "--data-dir", str(tmp_path / "data"), "--skip-invalid"]
    )
    assert done.exit_code == 3, done.output
    assert "internal error" not in done.output
    assert "rejected line 2 (memory [/oops])" in done.output
    assert "rejected line 3 ([/kind] [bold]x)" in done.output


def test_the_cli_shows_imported_ids_and_actors_that_look_like_markup(
    make_orch: Any, tmp_path: Path
) -> None:
    """An id and a history event's actor come from the file as they are; `list` and
    `history` show them as text, not as rich markup that ends the command."""
    data_dir = tmp_path / "data"
    source = make_orch()
    source.process("I live in Paris.", user_id="alice", timestamp=T0)
    lines = _export(source, "alice")
    line = lines[_record_lines(lines)[0]]
    memory_id = line["id"].split("_")[0] + "_[/x]"
    line["id"] = line["record"]["id"] = memory_id
    for event in line["history"]:
        event["memory_id"] = memory_id
        event["actor"] = "[/actor]"
        if event.get("record"):
            event["record"]["id"] = memory_id
    target = make_orch(data_dir=data_dir)
    target.import_jsonl(_file(lines))
    target.close()
    runner = CliRunner()
    listed = runner.invoke(app, ["list", "-u", "alice", "--data-dir", str(data_dir)])
    assert listed.exit_code == 0, listed.output
    shown = runner.invoke(app, ["history", memory_id, "-u", "alice", "--data-dir", str(data_dir)])
    assert shown.exit_code == 0, shown.output
    assert "[/actor]" in shown.output
