"""Kept originals (media.keep_originals) at their edges: doctor's repair racing a write
that counts on a blob already there, a blob directory that cannot be written, and an
import naming as kept something that is not a sha256."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from octomem import ImportRejectedError, StoreError
from octomem.orchestrator import doctor
from octomem.orchestrator.internals import services_of
from tests.scenarios.test_crash import _child as crash_child
from tests.scenarios.test_originals import KEEP, NOTES, doc_message, originals_of, sha


def test_repair_keeps_an_old_blob_a_write_counted_on_meanwhile(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An orphan a crash left long ago, then the same file sent again while doctor runs
    (after its snapshot of the records): the write finds the blob intact and counts on it,
    so repair must not remove it as a directory no user claims."""
    orch = make_orch(data_dir=tmp_path / "data", **KEEP)
    orch.process("hello", user_id="other")
    blobs = services_of(orch).blobs
    blobs.put("maya", sha(NOTES), NOTES)  # no record names it: an orphan
    old = time.time() - 86_400
    os.utime(blobs.root / blobs.user_key("maya") / sha(NOTES), (old, old))
    real, sent = doctor._snapshot, []

    async def snapshot(services: Any, who: Any) -> Any:
        taken = await real(services, who)
        if not sent:
            sent.append(await orch.aprocess([doc_message(NOTES)], user_id="maya"))
        return taken

    monkeypatch.setattr(doctor, "_snapshot", snapshot)
    orch.check(repair=True)
    monkeypatch.setattr(doctor, "_snapshot", real)
    assert sent and originals_of(orch, "maya") == {sha(NOTES): "kept"}
    assert orch.get_original(sha(NOTES), user_id="maya") == NOTES
    assert all(not s.missing for s in orch.check().stores if s.store == "blobs")


def test_an_unwritable_blob_directory_is_a_store_error_and_nothing_is_stored(
    make_orch: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir, **KEEP)
    orch.process("hello", user_id="other")
    root = services_of(orch).blobs.root
    root.write_bytes(b"")  # where the directory should be, a file
    with pytest.raises(StoreError, match="blob directory"):
        orch.process([doc_message(NOTES)], user_id="maya")
    assert orch.get_all(user_id="maya") == []
    root.unlink()  # the operator fixes it; the retry keeps the file
    orch.process([doc_message(NOTES)], user_id="maya")
    assert orch.get_original(sha(NOTES), user_id="maya") == NOTES


def test_an_import_naming_a_kept_file_by_something_else_than_a_sha256_is_refused(
    make_orch: Any, tmp_path: Path
) -> None:
    source = make_orch(data_dir=tmp_path / "a", **KEEP)
    source.process([doc_message(NOTES)], user_id="maya")
    out = io.StringIO()
    source.export_jsonl(out, user_id="maya")
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    edited = 0
    for line in lines:
        holders = [line.get("record"), *(e.get("record") for e in line.get("history") or [])]
        for holder in holders:
            media = (holder or {}).get("internal", {}).get("media")
            for item in media if isinstance(media, list) else [media]:
                if isinstance(item, dict) and item.get("original") == "kept":
                    item["sha256"] = "../../id.key"
                    edited += 1
    assert edited
    text = "".join(json.dumps(line) + "\n" for line in lines if line["type"] != "blob")
    target = make_orch(data_dir=tmp_path / "b", **KEEP)
    with pytest.raises(ImportRejectedError, match="not by a sha256"):
        target.import_jsonl(io.StringIO(text))
    assert target.get_all(user_id="maya") == []
    target.export_jsonl(io.StringIO(), user_id="maya")  # still exports


@pytest.mark.parametrize(
    "point",
    [("journal", "finish", 1, "before"), ("vector", "delete", 1, "after")],
    ids=lambda p: "-".join(map(str, p)),
)
def test_a_delete_killed_mid_way_leaves_no_blob_once_reopened(
    make_orch: Any, tmp_path: Path, point: tuple[str, str, int, str]
) -> None:
    """A delete_all killed (SIGKILL) after its journaled delete began: the next open
    completes the delete, and with it removes the blobs no remaining record names, as the
    call would have - not left on disk until a `doctor --repair`."""
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir, **KEEP)
    orch.process([doc_message(NOTES)], user_id="maya")
    orch.close()
    _killed({"data_dir": str(data_dir), "call": "delete_all", "user_id": "maya"}, point)
    _nothing_of_maya(make_orch(data_dir=data_dir, **KEEP))


@pytest.mark.parametrize(
    "point",
    [("journal", "begin", 1, "after"), ("journal", "add_part", 1, "after")],
    ids=lambda p: "-".join(map(str, p)),
)
def test_an_import_killed_before_its_parts_are_journaled_leaves_no_blob(
    make_orch: Any, tmp_path: Path, point: tuple[str, str, int, str]
) -> None:
    """An import killed (SIGKILL) before all of a user's parts reached the journal is
    dropped when the stores reopen - its blobs too, not left as orphans that `check()`
    reports (and `--repair` keeps for `lease_ttl_s`, the user having no record) - and
    importing the file again gives what an uninterrupted import gives."""
    source = make_orch(data_dir=tmp_path / "source", **KEEP)
    source.process([doc_message(NOTES)], user_id="maya")
    export = tmp_path / "export.jsonl"
    source.export_jsonl(export)
    data_dir = tmp_path / "data"
    spec = {"data_dir": str(data_dir), "call": "import", "user_id": "maya"}
    _killed(spec | {"source": str(export)}, point)
    orch = make_orch(data_dir=data_dir, **KEEP)
    _nothing_of_maya(orch)
    assert orch.import_jsonl(export).blobs == 1
    assert orch.get_original(sha(NOTES), user_id="maya") == NOTES
    assert originals_of(orch, "maya") == originals_of(source, "maya")
    assert orch.check().consistent


def _killed(spec: dict[str, Any], point: tuple[str, str, int, str]) -> None:
    """Run `spec`'s call in a child with originals kept, SIGKILLed at `point` (store,
    method, nth call, before or after it)."""
    spec |= dict(zip(("store", "method", "nth", "when"), point, strict=True))
    child = crash_child(spec | {"settings": KEEP})
    output, _ = child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL, output


def _nothing_of_maya(orch: Any) -> None:
    """No record and no blob of maya's, and the stores consistent."""
    assert orch.get_all(user_id="maya", include_superseded=True) == []
    report = orch.check()
    assert report.consistent, report.model_dump()
    assert orch.get_original(sha(NOTES), user_id="maya") is None
