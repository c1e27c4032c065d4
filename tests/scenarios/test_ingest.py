"""`ingest PATH`: a folder of Markdown notes, a PDF and an image stored as resource
memories, incrementally: a second run changes nothing, an edited note supersedes its old
version (history keeps both), a deleted note's memories go, a corrupt PDF is skipped with
a reason, recall finds the content, forget leaves no trace of it on disk."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from octomem import InvalidInputError
from tests.media_files import make_pdf, needs, render
from tests.scenarios.test_media import files_holding


def ingested(orch: Any, user: str, *, superseded: bool = False) -> list[Any]:
    return [
        r
        for r in orch.get_all(user_id=user, include_superseded=superseded)
        if "ingest_path" in r.metadata
    ]


def paths(records: list[Any], memory_type: str = "resource") -> set[str]:
    return {r.metadata["ingest_path"] for r in records if r.memory_type.value == memory_type}


def make_vault(root: Path) -> Path:
    (root / "trips").mkdir(parents=True)
    (root / "garden.md").write_text(
        "# Garden\n\nThe quince tree by the shed was planted by Ottoline in spring.\n\n"
        "## Watering\n\nWater the ferns every Thursday.\n",
        encoding="utf-8",
    )
    (root / "trips" / "lisbon.md").write_text(
        "# Lisbon\n\nThe tram to Belem leaves from Praca da Figueira.\n", encoding="utf-8"
    )
    (root / ".obsidian").mkdir()
    (root / ".obsidian" / "app.json").write_text('{"theme": "dark"}', encoding="utf-8")
    (root / "notes.docx").write_bytes(b"PK\x03\x04 not read")
    return root


def test_a_vault_is_ingested_incrementally_with_history_and_forgotten(
    make_orch: Any, tmp_path: Path
) -> None:
    needs("pypdf")
    data_dir = tmp_path / "data"
    vault = make_vault(tmp_path / "vault")
    (vault / "manual.pdf").write_bytes(make_pdf(["Boiler manual", "Reset code is 4417-Tamarind"]))
    (vault / "broken.pdf").write_bytes(make_pdf(["Never read"])[:300])
    orch = make_orch(data_dir=data_dir)
    seen: list[tuple[int, int]] = []
    first = orch.ingest(
        vault, user_id="nell", progress=lambda done, total: seen.append((done, total))
    )
    assert sorted(first.added) == ["garden.md", "manual.pdf", "trips/lisbon.md"]
    assert seen[-1] == (4, 4)  # the four supported files, broken one included
    reasons = dict(first.skipped)
    assert set(reasons) == {"broken.pdf", "notes.docx"}  # hidden .obsidian is not looked at
    assert "PDF" in reasons["broken.pdf"] or "pdf" in reasons["broken.pdf"].lower()
    assert "not a supported kind" in reasons["notes.docx"]
    records = ingested(orch, "nell")
    assert paths(records) == {"garden.md", "manual.pdf", "trips/lisbon.md"}
    garden = [r for r in records if r.metadata["ingest_path"] == "garden.md"]
    assert all(r.metadata["ingest_root"] == str(vault.resolve()) for r in garden)
    assert all(len(r.metadata["ingest_sha256"]) == 64 for r in garden)
    hits = orch.recall("who planted the quince tree?", user_id="nell", limit=5)
    assert any("Ottoline" in hit.text for hit in hits.hits[:3])
    hits = orch.recall("boiler reset code", user_id="nell", limit=5)
    assert any("4417-Tamarind" in hit.text for hit in hits.hits[:3])

    # a second run changes nothing (idempotent); a touched file is hashed, still unchanged
    before = {r.id: (r.content_hash, r.valid_to) for r in ingested(orch, "nell", superseded=True)}
    os.utime(vault / "trips" / "lisbon.md", ns=(1_700_000_000_000_000_000,) * 2)
    again = orch.ingest(vault, user_id="nell")
    assert (again.added, again.updated, again.removed) == ([], [], [])
    assert sorted(again.unchanged) == ["garden.md", "manual.pdf", "trips/lisbon.md"]
    after = {r.id: (r.content_hash, r.valid_to) for r in ingested(orch, "nell", superseded=True)}
    assert after == before

    # an edited note supersedes its old version; a deleted note's memories go
    (vault / "garden.md").write_text(
        "# Garden\n\nThe quince tree died; Ottoline planted a medlar instead.\n", encoding="utf-8"
    )
    (vault / "trips" / "lisbon.md").unlink()
    third = orch.ingest(vault, user_id="nell")
    assert (third.updated, third.removed, third.added) == (["garden.md"], ["trips/lisbon.md"], [])
    current = [r for r in ingested(orch, "nell") if r.metadata["ingest_path"] == "garden.md"]
    assert current and all(
        "medlar" in r.content or r.memory_type.value != "resource" for r in current
    )
    everything = ingested(orch, "nell", superseded=True)
    old = [
        r for r in everything if r.metadata["ingest_path"] == "garden.md" and r.valid_to is not None
    ]
    assert any("quince tree by the shed" in r.content for r in old)  # history: both versions
    assert all(r.superseded_by for r in old)
    history = orch.history(old[0].id)
    assert [e.operation.value for e in history][-1] == "SUPERSEDE"
    assert "trips/lisbon.md" not in paths(everything)
    assert not any(
        "Belem" in r.content for r in orch.get_all(user_id="nell", include_superseded=True)
    )
    hits = orch.recall("what did Ottoline plant?", user_id="nell", limit=3)
    assert "medlar" in hits.hits[0].text
    assert orch.ingest(vault, user_id="nell").counts()["unchanged"] == 2  # settled
    (vault / "manual.pdf").rename(vault / "boiler.pdf")  # a rename: same text, new name
    renamed = orch.ingest(vault, user_id="nell")
    assert (renamed.removed, renamed.added) == (["manual.pdf"], ["boiler.pdf"])
    assert "boiler.pdf" in paths(ingested(orch, "nell"))
    hits = orch.recall("boiler reset code", user_id="nell", limit=5)
    assert any("4417-Tamarind" in hit.text for hit in hits.hits[:3])
    assert orch.check().consistent  # every store agrees after supersede, delete, hand-over
    orch.close()
    assert files_holding(data_dir, "Ottoline")

    # forget: no trace of the files' text (nor of what was known about them) on disk
    orch = make_orch(data_dir=data_dir)
    orch.forget(user_id="nell")
    assert ingested(orch, "nell", superseded=True) == []
    orch.close()
    sha = hashlib.sha256((vault / "boiler.pdf").read_bytes()).hexdigest()
    # (Chroma's collection schema names the metadata keys, never their values)
    for needle in ("Ottoline", "4417-Tamarind", "medlar", "garden.md", sha):
        assert files_holding(data_dir, needle) == [], needle


def test_an_image_and_a_single_file_are_ingested(make_orch: Any, tmp_path: Path) -> None:
    needs("rapidocr_onnxruntime")
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "parking.png").write_bytes(render(["Parking level 4 spot Q17"]))
    (folder / "copy.png").write_bytes((folder / "parking.png").read_bytes())
    orch = make_orch(data_dir=tmp_path / "data")
    report = orch.ingest(folder, user_id="ivan")
    assert report.added == ["copy.png"]
    assert dict(report.skipped)["parking.png"] == "same content as copy.png (stored once)"
    hits = orch.recall("where is the car parked?", user_id="ivan", limit=3)
    assert any("Q17" in hit.text for hit in hits.hits)
    note = tmp_path / "todo.txt"
    note.write_text("Renew the passport before March.", encoding="utf-8")
    single = orch.ingest(note, user_id="ivan")
    assert single.added == ["todo.txt"] and single.root == str(note.resolve())
    assert orch.ingest(folder, user_id="ivan").removed == []  # the folder's run leaves it


def test_bad_paths_and_limits(make_orch: Any, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.md").write_text(f"note {i}", encoding="utf-8")
    (folder / "big.txt").write_text("x" * 2000, encoding="utf-8")
    orch = make_orch(data_dir=tmp_path / "data", ingest={"max_files": 3, "max_file_bytes": 1000})
    with pytest.raises(InvalidInputError, match="ingest.max_files"):
        orch.ingest(folder, user_id="u")
    assert orch.get_all(user_id="u") == []  # nothing written
    with pytest.raises(InvalidInputError, match="does not exist"):
        orch.ingest(tmp_path / "nowhere", user_id="u")
    (folder / "n2.md").unlink()
    report = orch.ingest(folder, user_id="u")
    assert sorted(report.added) == ["n0.md", "n1.md"]
    assert "ingest.max_file_bytes" in dict(report.skipped)["big.txt"]


def test_the_same_file_under_two_roots_outlives_its_removal_from_one(
    make_orch: Any, tmp_path: Path
) -> None:
    text = "# Keys\n\nThe spare key is under the blue heron statue.\n"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "keys.md").write_text(text, encoding="utf-8")
    orch = make_orch(data_dir=tmp_path / "data")
    assert orch.ingest(tmp_path / "a", user_id="zoe").added == ["keys.md"]
    assert orch.ingest(tmp_path / "b", user_id="zoe").added == ["keys.md"]
    (tmp_path / "a" / "keys.md").unlink()
    assert orch.ingest(tmp_path / "a", user_id="zoe").removed == ["keys.md"]
    hits = orch.recall("where is the spare key?", user_id="zoe", limit=3)
    assert "heron" in hits.hits[0].text  # still b's
    assert orch.ingest(tmp_path / "a", user_id="zoe").counts()["removed"] == 0  # settled
    (tmp_path / "b" / "keys.md").unlink()
    assert orch.ingest(tmp_path / "b", user_id="zoe").removed == ["keys.md"]
    assert not any("heron" in r.content for r in orch.get_all(user_id="zoe"))


@pytest.mark.parametrize(
    "point",
    [
        ("journal", "begin", 1, "after"),
        ("keyword", "upsert", 1, "during"),
        ("vector", "upsert", 1, "during"),
        ("journal", "finish", 1, "before"),
    ],
    ids=lambda p: "-".join(map(str, p)),
)
def test_an_edited_file_killed_mid_ingest_has_one_current_version(
    point: tuple[str, str, int, str], make_orch: Any, tmp_path: Path
) -> None:
    """The new version's records and the closing of the old one are one journaled write:
    killed (SIGKILL) at any step of it, the reopened store holds one current version of
    the file - the old or the new, whole - and the next run ends with the new one, history
    keeping both."""
    from tests.scenarios.test_crash import _child

    folder, data = tmp_path / "notes", tmp_path / "data"
    folder.mkdir()
    note = folder / "car.md"
    note.write_text("The car is due for service in May.", encoding="utf-8")
    orch = make_orch(data_dir=data)
    orch.ingest(folder, user_id="kai")
    orch.close()
    note.write_text("The car is due for service in June.", encoding="utf-8")
    spec = {"data_dir": str(data), "call": "ingest", "path": str(folder), "user_id": "kai"}
    child = _child({**spec, **dict(zip(("store", "method", "nth", "when"), point, strict=True))})
    output, _ = child.communicate(timeout=600)
    assert child.returncode == -signal.SIGKILL, f"the kill point was not reached:\n{output}"

    orch = make_orch(data_dir=data)
    assert orch.check().consistent
    [current] = [r.content for r in ingested(orch, "kai") if r.memory_type.value == "resource"]
    assert "May" in current or "June" in current
    assert orch.ingest(folder, user_id="kai").counts()["skipped"] == 0
    [current] = [r.content for r in ingested(orch, "kai") if r.memory_type.value == "resource"]
    assert "June" in current
    versions = [
        r for r in ingested(orch, "kai", superseded=True) if r.memory_type.value == "resource"
    ]
    assert sorted("June" in r.content for r in versions) == [False, True]
    assert orch.ingest(folder, user_id="kai").unchanged == ["car.md"]


def test_a_named_pipe_in_the_folder_is_skipped_not_waited_on(
    make_orch: Any, tmp_path: Path
) -> None:
    """A FIFO named like a note (a folder someone else filled) has no end: opening it for
    reading waits for a writer forever. The run skips it with a reason and goes on."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boiler.md").write_text("The boiler's reset code is 4417.", encoding="utf-8")
    os.mkfifo(folder / "pipe.md")
    rescued, done = threading.Event(), threading.Event()

    def rescue() -> None:
        """A run that opens the pipe to read waits for a writer: one comes (so the test
        fails instead of hanging), and says so. A writer's non-blocking open succeeds
        only while the pipe has a reader."""
        while not done.is_set():
            try:
                writer = os.open(folder / "pipe.md", os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader
                done.wait(0.01)  # paces the polling only
                continue
            rescued.set()
            os.close(writer)
            return

    threading.Thread(target=rescue, daemon=True).start()
    orch = make_orch(data_dir=tmp_path / "data")
    try:
        report = orch.ingest(folder, user_id="u")
    finally:
        done.set()
    assert not rescued.is_set(), "the run waited on the named pipe"
    assert report.added == ["boiler.md"]
    assert "not a regular file" in dict(report.skipped)["pipe.md"]


def test_a_file_whose_name_is_not_utf8_is_skipped_not_fatal(make_orch: Any, tmp_path: Path) -> None:
    """A name in an older encoding (Latin-1 from an old archive or a network share) is
    kept by the file system as bytes, which Python gives as lone surrogates that no hash,
    store or JSON encoder takes: that file is skipped with the reason, the rest of the
    folder is read, and a root so named is refused before anything is written."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boiler.md").write_text("The boiler's reset code is 4417.", encoding="utf-8")
    latin = os.fsdecode(b"caf\xe9.md")
    (folder / latin).write_text("Cafe notes.", encoding="utf-8")
    orch = make_orch(data_dir=tmp_path / "data")
    report = orch.ingest(folder, user_id="u")
    assert report.added == ["boiler.md"]
    assert list(dict(report.skipped)) == ["caf\ufffd.md"]  # shown: not its bytes
    assert "not UTF-8" in dict(report.skipped)["caf\ufffd.md"]
    again = orch.ingest(folder, user_id="u")  # the skipped file is no removal either
    assert again.unchanged == ["boiler.md"] and not again.removed
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        orch.ingest(folder / latin, user_id="u")
    assert paths(ingested(orch, "u")) == {"boiler.md"}
