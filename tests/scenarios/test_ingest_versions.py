"""`ingest PATH` and the versions of a file: a file whose name or folder holds a secret is
stored masked and still found by the next run (idempotent); an edited file reverted to
an earlier version, or deleted and written again, has that version current again; two
runs racing edits of one file leave one current version."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from octomem.orchestrator import ingest as ingest_module
from tests.scenarios.test_ingest import ingested
from tests.scenarios.test_media import files_holding

SECRET = "Quokka7731Zephyr"


def write(path: Path, text: str, bump_s: int) -> None:
    """`text` in `path`, its mtime moved `bump_s` seconds on (edits within one clock tick
    must still look changed)."""
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump_s * 10**9))


def resources(orch: Any, user: str, *, superseded: bool = False) -> list[Any]:
    records = ingested(orch, user, superseded=superseded)
    return [r for r in records if r.memory_type.value == "resource"]


def snapshot(orch: Any, user: str) -> dict[str, Any]:
    return {
        r.id: (r.content_hash, r.valid_to, r.version, len(orch.history(r.id)))
        for r in ingested(orch, user, superseded=True)
    }


def test_a_secret_in_a_file_or_folder_name_is_masked_and_the_file_still_found(
    make_orch: Any, tmp_path: Path
) -> None:
    vault = tmp_path / f"password: {SECRET}" / "vault"
    vault.mkdir(parents=True)
    secret_note = vault / f"password: {SECRET}.md"
    write(secret_note, "# Garden\n\nTomatoes go in the north bed.\n", 0)
    write(vault / "plain.md", "# Soup\n\nLentils and cumin.\n", 0)
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    first = orch.ingest(vault, user_id="maya")
    assert sorted(first.added) == ["password: Quokka7731Zephyr.md", "plain.md"]
    stored = ingested(orch, "maya")
    assert all(SECRET not in str(r.metadata) for r in stored)  # shown masked
    shown = {r.metadata["ingest_path"] for r in stored}
    assert shown == {"password: [MASKED password]", "plain.md"}
    before = snapshot(orch, "maya")

    for _ in range(2):  # untouched: nothing deleted, re-added or reported as new
        again = orch.ingest(vault, user_id="maya")
        assert again.counts() == {**again.counts(), "added": 0, "removed": 0, "updated": 0}
        assert again.counts()["unchanged"] == 2
        assert snapshot(orch, "maya") == before

    write(secret_note, "# Garden\n\nTomatoes go in the south bed now.\n", 5)
    edited = orch.ingest(vault, user_id="maya")
    assert edited.updated == ["password: Quokka7731Zephyr.md"] and edited.added == []
    [current] = [r for r in resources(orch, "maya") if "Tomatoes" in r.content]
    assert "south bed" in current.content  # the old version closed: one current
    assert orch.ingest(vault, user_id="maya").counts()["unchanged"] == 2
    secret_note.unlink()
    gone = orch.ingest(vault, user_id="maya")
    assert gone.removed == ["password: [MASKED password]"]  # the path as stored
    assert not any("Tomatoes" in r.content for r in resources(orch, "maya"))
    assert orch.check().consistent
    orch.close()
    assert files_holding(data_dir, SECRET) == []  # the secret never reached the disk


def test_a_reverted_file_has_its_earlier_version_current_again(
    make_orch: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    plan = folder / "plan.md"
    v1, v2 = "# Plan\n\nThe meeting is on Monday.\n", "# Plan\n\nThe meeting moved to Tuesday.\n"
    orch = make_orch(data_dir=tmp_path / "data")
    write(plan, v1, 0)
    orch.ingest(folder, user_id="maya")
    [first] = resources(orch, "maya")
    write(plan, v2, 5)
    assert orch.ingest(folder, user_id="maya").updated == ["plan.md"]
    write(plan, v1, 10)  # undo, git checkout: the same bytes as before
    assert orch.ingest(folder, user_id="maya").updated == ["plan.md"]
    [current] = resources(orch, "maya")
    assert current.id == first.id and "Monday" in current.content
    assert current.valid_to is None and current.superseded_by is None
    assert [e.operation.value for e in orch.history(first.id)] == ["ADD", "SUPERSEDE", "UPDATE"]
    [old] = [r for r in resources(orch, "maya", superseded=True) if "Tuesday" in r.content]
    assert old.superseded_by == first.id  # history keeps every step
    hits = orch.recall("when is the meeting?", user_id="maya", limit=3)
    assert "Monday" in hits.hits[0].text
    before = snapshot(orch, "maya")
    assert orch.ingest(folder, user_id="maya").unchanged == ["plan.md"]
    assert snapshot(orch, "maya") == before  # settled: a re-run changes nothing

    # deleted, then written again as a version stored before: that version is current
    plan.unlink()
    assert orch.ingest(folder, user_id="maya").removed == ["plan.md"]
    write(plan, v2, 15)
    assert orch.ingest(folder, user_id="maya").added == ["plan.md"]
    [current] = resources(orch, "maya")
    assert "Tuesday" in current.content
    assert orch.ingest(folder, user_id="maya").unchanged == ["plan.md"]
    assert orch.check().consistent


def test_two_runs_racing_edits_of_one_file_leave_one_current_version(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run A reads v2 and is held before its write; meanwhile the file becomes v3 and run
    B stores it (closing v1). A's write then closes what is current under the lock (v3),
    not the v1 it read before: one version current, and the next run settles on v3."""
    folder = tmp_path / "notes"
    folder.mkdir()
    plan = folder / "plan.md"
    write(plan, "# Plan\n\nVersion one: the meeting is on Monday.\n", 0)
    orch = make_orch(data_dir=tmp_path / "data")
    orch.ingest(folder, user_id="maya")
    reached, done = asyncio.Event(), asyncio.Event()
    real_ingest = ingest_module.ingest_path

    async def ingest_holding_run_a(engine: Any, *args: Any, **kwargs: Any) -> Any:
        real = engine.run

        async def held(inputs: Any) -> Any:
            if not reached.is_set():  # run A, after reading v2
                reached.set()
                await done.wait()
            return await real(inputs)

        return await real_ingest(dataclasses.replace(engine, run=held), *args, **kwargs)

    monkeypatch.setattr(ingest_module, "ingest_path", ingest_holding_run_a)

    async def both() -> tuple[Any, Any]:
        write(plan, "# Plan\n\nVersion two: the meeting moved to Tuesday.\n", 5)
        run_a = asyncio.create_task(orch.aingest(folder, user_id="maya"))
        await reached.wait()
        write(plan, "# Plan\n\nVersion three: the meeting moved to Wednesday.\n", 10)
        run_b = await orch.aingest(folder, user_id="maya")
        done.set()
        return await run_a, run_b

    run_a, run_b = orch.run_sync(both())
    assert run_a.updated == run_b.updated == ["plan.md"]
    assert len(resources(orch, "maya")) == 1  # never two versions current
    monkeypatch.undo()
    orch.ingest(folder, user_id="maya")
    [current] = resources(orch, "maya")
    assert "Wednesday" in current.content  # what the file holds
    assert orch.ingest(folder, user_id="maya").unchanged == ["plan.md"]
    assert orch.check().consistent
