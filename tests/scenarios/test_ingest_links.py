"""`ingest` of a folder where what it ingested before is now behind a symbolic link - a
subfolder or a mailbox moved elsewhere and linked back, a folder that is now a link: the
run never follows the link (it may point outside the folder), and the memories of what is
behind it are kept, reported as such, not removed as those of files gone from the folder;
removing the link removes them, putting the files back changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from octomem import InvalidInputError
from tests.scenarios.test_ingest import make_vault
from tests.scenarios.test_ingest_archives import MAIL, OTHER, shared_mail

LINK = "a symbolic link (not followed)"
SECRET_NAME = "password: hunter2.md"  # a name stored masked: the run knows its folder only


def _ids(orch: Any, user: str) -> set[str]:
    return {r.id for r in orch.get_all(user_id=user)}


def test_a_subfolder_moved_elsewhere_and_linked_back_keeps_its_memories(
    make_orch: Any, tmp_path: Path
) -> None:
    vault = make_vault(tmp_path / "vault")
    (vault / "trips" / "porto").mkdir()
    (vault / "trips" / "porto" / "bridge.md").write_text("The Dom Luis bridge has two decks.\n")
    (vault / "trips" / SECRET_NAME).write_text("The Quillby ferry sails at noon.\n")
    orch = make_orch(data_dir=tmp_path / "data")
    first = orch.ingest(vault, user_id="al")
    assert first.added == [
        "garden.md",
        "trips/lisbon.md",
        f"trips/{SECRET_NAME}",
        "trips/porto/bridge.md",
    ]
    stored = _ids(orch, "al")
    elsewhere = tmp_path / "disk" / "trips"
    elsewhere.parent.mkdir()
    (vault / "trips").rename(elsewhere)
    (vault / "trips").symlink_to(elsewhere, target_is_directory=True)

    linked = orch.ingest(vault, user_id="al")
    assert ("trips", LINK) in linked.skipped and not linked.removed
    kept = dict(linked.kept)
    assert len(linked.kept) == 3 and "trips/lisbon.md" in kept and "trips/porto/bridge.md" in kept
    assert all("trips is now a symbolic link" in why for why in kept.values())
    assert linked.counts()["kept"] == 3 and linked.memories == 0
    assert _ids(orch, "al") == stored and orch.check().consistent
    # the disk unmounted: the link points nowhere, and the memories still wait for it
    elsewhere.rename(tmp_path / "disk" / "away")
    assert len(orch.ingest(vault, user_id="al").kept) == 3 and _ids(orch, "al") == stored
    (tmp_path / "disk" / "away").rename(elsewhere)

    # the folder put back: nothing new, nothing kept
    (vault / "trips").unlink()
    elsewhere.rename(vault / "trips")
    back = orch.ingest(vault, user_id="al")
    assert back.added == [] and back.removed == [] and back.kept == [] and back.memories == 0
    assert len(back.unchanged) == 4 and _ids(orch, "al") == stored

    # the link removed (the files moved away for good): their memories go
    (vault / "trips").rename(elsewhere)
    (vault / "trips").symlink_to(elsewhere, target_is_directory=True)
    assert len(orch.ingest(vault, user_id="al").kept) == 3
    (vault / "trips").unlink()
    gone = orch.ingest(vault, user_id="al")
    assert len(gone.removed) == 3 and "trips/lisbon.md" in gone.removed and not gone.kept
    assert {r.metadata["ingest_path"] for r in orch.get_all(user_id="al")} == {"garden.md"}
    assert orch.check().consistent


def test_a_folder_that_is_now_a_link_and_a_file_replaced_by_one_keep_their_memories(
    make_orch: Any, tmp_path: Path
) -> None:
    """The whole of a nested folder, and a single file, moved and linked back in one run;
    a folder beside the link whose name starts as the link's is not behind it."""
    vault = make_vault(tmp_path / "vault")
    (vault / "tripsy").mkdir()
    (vault / "tripsy" / "oslo.md").write_text("The Oslo ferry leaves from pier 7.\n")
    orch = make_orch(data_dir=tmp_path / "data")
    added = orch.ingest(vault, user_id="al").added
    assert added == ["garden.md", "trips/lisbon.md", "tripsy/oslo.md"]
    stored = {r.id for r in orch.get_all(user_id="al") if "oslo" not in r.content}
    for name in ("garden.md", "trips"):
        (vault / name).rename(tmp_path / name)
        (vault / name).symlink_to(tmp_path / name)
    shutil.rmtree(vault / "tripsy")
    report = orch.ingest(vault, user_id="al")
    assert dict(report.skipped) == {
        "garden.md": LINK,
        "notes.docx": dict(report.skipped)["notes.docx"],
        "trips": LINK,
    }
    assert [p for p, _ in report.kept] == ["trips/lisbon.md"]  # garden.md is not gone
    assert report.removed == ["tripsy/oslo.md"] and _ids(orch, "al") == stored
    assert orch.check().consistent


def test_a_mail_of_a_deleted_eml_waits_for_the_mailbox_behind_a_link(
    make_orch: Any, tmp_path: Path
) -> None:
    """`box.mbox` holds the mail stored from `a-dentist.eml` (it skipped it as stored
    once): moved elsewhere and linked back in the run that deletes the `.eml`, the mail is
    kept, as for a mailbox not read; once the mailbox is back, it takes the mail over."""
    orch, folder, stored = shared_mail(make_orch, tmp_path)
    (folder / "box.mbox").rename(tmp_path / "box.mbox")
    (folder / "box.mbox").symlink_to(tmp_path / "box.mbox")
    (folder / "a-dentist.eml").unlink()
    linked = orch.ingest(folder, user_id="eve")
    assert dict(linked.skipped) == {"box.mbox": LINK}
    assert [p for p, _ in linked.kept] == ["a-dentist.eml"] and not linked.removed
    assert "box.mbox" in dict(linked.kept)["a-dentist.eml"]
    assert _ids(orch, "eve") == stored and orch.check().consistent
    (folder / "box.mbox").unlink()
    (tmp_path / "box.mbox").rename(folder / "box.mbox")
    back = orch.ingest(folder, user_id="eve")
    assert back.removed == ["a-dentist.eml"] and not back.kept and back.memories == 0
    turns = [r for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
    assert {r.metadata["ingest_path"] for r in turns} == {"box.mbox"}
    assert _ids(orch, "eve") == stored and orch.check().consistent


def test_a_mail_of_a_deleted_eml_waits_for_a_linked_folder_that_held_its_mailbox(
    make_orch: Any, tmp_path: Path
) -> None:
    """The mailbox in a subfolder, the subfolder moved and linked back in the run that
    deletes the `.eml`: both the mailbox's memories and the mail are kept; a link where
    nothing was ingested (`test_a_gone_mail_no_file_holds_is_removed_only_by_a_run_that_
    reads_every_mailbox`) keeps nothing."""
    folder = tmp_path / "mail"
    (folder / "archive").mkdir(parents=True)
    (folder / "a-dentist.eml").write_bytes(MAIL.split(b"\n", 1)[1])
    (folder / "archive" / "box.mbox").write_bytes(MAIL + OTHER)
    orch = make_orch(data_dir=tmp_path / "data")
    assert orch.ingest(folder, user_id="eve").added == ["a-dentist.eml", "archive/box.mbox"]
    stored = _ids(orch, "eve")
    (folder / "archive").rename(tmp_path / "archive")
    (folder / "archive").symlink_to(tmp_path / "archive", target_is_directory=True)
    (folder / "a-dentist.eml").unlink()
    linked = orch.ingest(folder, user_id="eve")
    assert [p for p, _ in linked.kept] == ["a-dentist.eml", "archive/box.mbox"]
    assert "archive" in dict(linked.kept)["a-dentist.eml"] and not linked.removed
    assert _ids(orch, "eve") == stored and orch.check().consistent
    (folder / "archive").unlink()
    (tmp_path / "archive").rename(folder / "archive")
    back = orch.ingest(folder, user_id="eve")
    assert back.removed == ["a-dentist.eml"] and not back.kept and back.memories == 0
    assert _ids(orch, "eve") == stored and orch.check().consistent


def test_a_folder_swapped_for_a_link_while_the_run_reads_is_not_read_through(
    make_orch: Any, tmp_path: Path
) -> None:
    """A subfolder (or an unpacked Slack export) replaced by a link to a folder outside
    after the run walked the folder - here as its file is started, from the progress
    callback - is not followed: the file outside it, where the link points, is not read
    (it is skipped) and what was stored from the folder's files is kept."""
    vault = make_vault(tmp_path / "vault")
    export = vault / "team"
    (export / "launch").mkdir(parents=True)
    (export / "users.json").write_text('[{"id": "U1", "name": "pria"}]')
    (export / "channels.json").write_text('[{"id": "C1", "name": "launch"}]')
    day = '[{"type": "message", "user": "U1", "text": "%s", "ts": "1709546400.0"}]'
    (export / "launch" / "2024-03-04.json").write_text(day % "The launch is in the Quillby hall.")
    orch = make_orch(data_dir=tmp_path / "data")
    assert orch.ingest(vault, user_id="al").added == ["garden.md", "team", "trips/lisbon.md"]
    stored = _ids(orch, "al")
    (vault / "trips" / "lisbon.md").write_text("The tram to Belem is the number 15.\n")
    outside = tmp_path / "outside"
    (outside / "launch").mkdir(parents=True)
    (outside / "lisbon.md").write_text("The vault combination is Zephyrine-77.\n")
    (outside / "users.json").write_text('[{"id": "U1", "name": "pria"}]')
    (outside / "launch" / "2024-03-04.json").write_text(day % "The safe code is Vorplex-12.")

    def swap(done: int, total: int, path: str | None) -> None:
        for folder, away in (("trips", outside), ("team", outside)):
            if path == folder or (path or "").startswith(folder + "/"):
                shutil.rmtree(vault / folder)
                (vault / folder).symlink_to(away, target_is_directory=True)

    export.touch()  # changed: read again
    (export / "launch" / "2024-03-04.json").write_text(day % "The launch moved to Friday.")
    swapped = orch.ingest(vault, user_id="al", progress=swap)
    skipped = dict(swapped.skipped)
    assert "trips on its way is now a symbolic link" in skipped["trips/lisbon.md"]
    assert "team on its way is now a symbolic link" in skipped["team"]
    assert not swapped.added and not swapped.updated and not swapped.removed
    texts = " ".join(r.content for r in orch.get_all(user_id="al"))
    assert "Zephyrine" not in texts and "Vorplex" not in texts
    assert _ids(orch, "al") == stored and orch.check().consistent


@pytest.mark.parametrize("name", ["Cafe\u0301", "plans\x1b", "bidi\u202e"], ids=repr)
def test_a_folder_whose_name_is_stored_cleaned_keeps_its_memories_behind_a_link(
    make_orch: Any, tmp_path: Path, name: str
) -> None:
    """A path is stored cleaned (composed accents, no control or bidi characters): a
    subfolder named otherwise - accents decomposed, as macOS writes them, or with a control
    character - moved elsewhere and linked back keeps its memories like any other."""
    vault = make_vault(tmp_path / "vault")
    (vault / name).mkdir()
    (vault / name / "ferry.md").write_text("The Quillby ferry sails at noon.\n")
    orch = make_orch(data_dir=tmp_path / "data")
    orch.ingest(vault, user_id="al")
    stored = _ids(orch, "al")
    (vault / name).rename(tmp_path / "away")
    (vault / name).symlink_to(tmp_path / "away", target_is_directory=True)
    linked = orch.ingest(vault, user_id="al")
    assert not linked.removed and len(linked.kept) == 1
    assert _ids(orch, "al") == stored and orch.check().consistent


def test_a_subfolder_that_cannot_be_listed_keeps_its_memories(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subfolder the run cannot list (no permission, an I/O error; made so here, where
    tests may run as root) is skipped with that reason and its files' memories are kept,
    not removed as gone; a root that cannot be listed is refused before anything is
    removed. The next run that lists it finds its files unchanged."""
    import os

    vault = make_vault(tmp_path / "vault")
    orch = make_orch(data_dir=tmp_path / "data")
    orch.ingest(vault, user_id="al")
    stored = _ids(orch, "al")
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path).name in blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    blocked = {"trips"}
    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", scandir)
        unlisted = orch.ingest(vault, user_id="al")
        assert "cannot be listed" in dict(unlisted.skipped)["trips"] and not unlisted.removed
        assert [path for path, _ in unlisted.kept] == ["trips/lisbon.md"]
        assert _ids(orch, "al") == stored
        blocked = {"vault"}
        with pytest.raises(InvalidInputError, match="cannot list"):
            orch.ingest(vault, user_id="al")
    assert _ids(orch, "al") == stored and orch.check().consistent
    listed = orch.ingest(vault, user_id="al")
    assert not listed.kept and not listed.removed and len(listed.unchanged) == 2
