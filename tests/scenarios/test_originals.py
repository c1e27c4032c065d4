"""The original bytes of images and files (media.keep_originals): off by default; when on,
one blob per file and user, read back by sha256 within the user's scope; never the bytes
of a part whose text, or whose bytes where no reader reads, held a secret; removed by
forget, carried by export/import (checked by sha256), checked and repaired by doctor; safe
against a crash and concurrent writers."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from octomem import ConfigurationError, InvalidInputError, Orchestrator, StoreError
from octomem.orchestrator.internals import services_of
from octomem.settings import for_remote_callers, load_settings
from tests.media_files import data_url, make_pdf, needs, render

KEEP = {"media": {"keep_originals": True}}
SECRET = "Quokka7731Zephyr"
NOTES = b"# Garden\n\nThe tomatoes go in the north bed of Halvorsen Farm.\n"
RECIPE = b"# Soup\n\nLentils, cumin and a bay leaf from the Ostrava market.\n"


def doc_message(data: bytes, name: str = "notes.md") -> dict[str, Any]:
    part = {
        "type": "file",
        "file": {"file_data": data_url(data, "text/markdown"), "filename": name},
    }
    return {"role": "user", "content": [{"type": "text", "text": "My notes."}, part]}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_files(data_dir: Path) -> list[Path]:
    root = data_dir / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def originals_of(orch: Orchestrator, user: str) -> dict[str, str]:
    """sha256 -> what became of the file, from the user's resource memories."""
    return {
        r.internal["media"]["sha256"]: r.internal["media"].get("original")
        for r in orch.get_all(user_id=user, memory_types=["resource"], include_superseded=True)
        if "media" in r.internal
    }


def files_holding(data_dir: Path, needle: bytes) -> list[str]:
    return [
        str(p.relative_to(data_dir))
        for p in data_dir.rglob("*")
        if p.is_file() and needle in p.read_bytes()
    ]


def test_off_by_default_no_blob_directory(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    orch.process([doc_message(NOTES)], user_id="maya")
    assert originals_of(orch, "maya") == {sha(NOTES): None}  # no "original" key at all
    assert orch.get_original(sha(NOTES), user_id="maya") is None
    assert not (data_dir / "blobs").exists()


def test_kept_once_read_back_in_the_users_scope_only(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir, **KEEP)
    orch.process([doc_message(NOTES)], user_id="maya", session_id="s1")
    orch.process([doc_message(NOTES, "copy.md")], user_id="maya", session_id="s2")  # same bytes
    assert originals_of(orch, "maya") == {sha(NOTES): "kept"}
    assert len(blob_files(data_dir)) == 1  # content-addressed: one blob
    assert orch.get_original(sha(NOTES), user_id="maya") == NOTES
    assert orch.get_original(sha(NOTES), user_id="ivan") is None  # another user's file
    assert orch.get_original(sha(RECIPE), user_id="maya") is None
    with pytest.raises(InvalidInputError, match="64 lowercase hex"):
        orch.get_original("../../id.key", user_id="maya")
    # the raw turn names the blob too; no file under the data dir but the blob holds the bytes
    turns = [r for r in orch.get_all(user_id="maya") if r.internal.get("raw")]
    assert all(p["original"] == "kept" for t in turns for p in t.internal["media"])
    orch.close()
    assert files_holding(data_dir, NOTES) == [str(blob_files(data_dir)[0].relative_to(data_dir))]


def test_the_bytes_of_a_part_holding_a_secret_are_never_kept(
    make_orch: Any, tmp_path: Path
) -> None:
    needs("pypdf")
    data_dir = tmp_path / "data"
    pdf = make_pdf(["Trip plan", "Wifi password: " + SECRET])
    orch = make_orch(data_dir=data_dir, **KEEP)
    part = {"type": "file", "file": {"file_data": data_url(pdf, "application/pdf")}}
    orch.process([{"role": "user", "content": [part]}, doc_message(NOTES)], user_id="maya")
    assert originals_of(orch, "maya") == {sha(pdf): "withheld: secret", sha(NOTES): "kept"}
    assert orch.get_original(sha(pdf), user_id="maya") is None
    orch.close()
    assert [p.name for p in blob_files(data_dir)] == [sha(NOTES)]
    assert files_holding(data_dir, SECRET.encode()) == []
    assert files_holding(data_dir, pdf[:400]) == []


@pytest.mark.parametrize("keep", [False, True])
def test_a_secret_across_a_chunk_boundary_is_masked_and_its_file_not_kept(
    make_orch: Any, tmp_path: Path, keep: bool
) -> None:
    """The cue ("password:") ends one chunk (media.chunk_chars) and the value opens the
    next: the text is masked whole before it is cut, so neither chunk stores the value."""
    data_dir = tmp_path / "data"
    filler = "The tomatoes go in the north bed near the old shed " * 40
    head = filler[: 1500 - len(" My wifi password:")].rstrip()
    doc = f"# Notes\n\n{head} My wifi password: {SECRET} and the router is in the hall.\n"
    orch = make_orch(data_dir=data_dir, media={"keep_originals": keep})
    orch.process([doc_message(doc.encode())], user_id="maya")
    chunks = [r for r in orch.get_all(user_id="maya", memory_types=["resource"])]
    assert len(chunks) == 2 and all(SECRET not in r.content for r in chunks)
    assert any("[MASKED password]" in r.content for r in chunks)
    want = "withheld: secret" if keep else None
    assert originals_of(orch, "maya") == {sha(doc.encode()): want}
    orch.close()
    assert blob_files(data_dir) == []
    assert files_holding(data_dir, SECRET.encode()) == []


def test_a_secret_across_two_pdf_pages_is_masked_and_its_file_not_kept(
    make_orch: Any, tmp_path: Path
) -> None:
    needs("pypdf")
    data_dir = tmp_path / "data"
    pdf = make_pdf(["Trip plan. The hotel wifi password:", f"{SECRET} is on the card."])
    orch = make_orch(data_dir=data_dir, **KEEP)
    part = {"type": "file", "file": {"file_data": data_url(pdf, "application/pdf")}}
    orch.process([{"role": "user", "content": [part]}], user_id="maya")
    assert originals_of(orch, "maya") == {sha(pdf): "withheld: secret"}
    orch.close()
    assert blob_files(data_dir) == []
    assert files_holding(data_dir, SECRET.encode()) == []


def test_an_image_showing_a_password_is_not_kept(make_orch: Any, tmp_path: Path) -> None:
    needs("rapidocr_onnxruntime")
    data_dir = tmp_path / "data"
    image = render(["Wifi password: " + SECRET])
    orch = make_orch(data_dir=data_dir, **KEEP)
    part = {"type": "image_url", "image_url": {"url": data_url(image, "image/png")}}
    orch.process([{"role": "user", "content": [part]}], user_id="ivan")
    assert originals_of(orch, "ivan") == {sha(image): "withheld: secret"}
    orch.close()
    assert blob_files(data_dir) == []
    assert files_holding(data_dir, SECRET.encode()) == []
    assert files_holding(data_dir, image[64:256]) == []


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _hidden_in(kind: str, said: bytes) -> tuple[bytes, str]:
    """A file (and its mime type) whose bytes hold `said` where no reader reads it."""
    if kind.startswith("png"):
        png = render(["Harbour gate"])
        if kind == "png after its end":
            return png + said, "image/png"
        at = png.rfind(b"IEND") - 4  # a private chunk, before the end
        return png[:at] + _png_chunk(b"prVt", said) + png[at:], "image/png"
    pdf = make_pdf(["Trip plan", "The hotel is by the harbour."])
    at = pdf.rfind(b"startxref")
    hidden = b"99 0 obj\n(" + said + b")\nendobj\n" if "object" in kind else b"% " + said + b"\n"
    return pdf[:at] + hidden + pdf[at:], "application/pdf"


@pytest.mark.parametrize(
    "kind", ["png after its end", "png private chunk", "pdf unreferenced object", "pdf comment"]
)
def test_a_secret_in_bytes_no_reader_reads_is_not_kept(
    make_orch: Any, tmp_path: Path, kind: str
) -> None:
    """A password in bytes the readers never read (after a PNG's IEND, in a private chunk,
    in a PDF object no page uses or a comment): the text read is clean, but the bytes kept
    as they are would hold it. Their printable runs are masked too: the file is withheld,
    and the same file without the password is kept."""
    needs("rapidocr_onnxruntime" if kind.startswith("png") else "pypdf")
    data_dir = tmp_path / "data"
    data, mime = _hidden_in(kind, b"my password is " + SECRET.encode())
    clean, _ = _hidden_in(kind, b"the harbour gate opens at nine")
    orch = make_orch(data_dir=data_dir, **KEEP)
    for i, file in enumerate((data, clean)):
        part = {"type": "file", "file": {"file_data": data_url(file, mime)}}
        orch.process([{"role": "user", "content": [part]}], user_id="maya", session_id=f"s{i}")
    want = {sha(data): "withheld: secret in its bytes", sha(clean): "kept"}
    assert originals_of(orch, "maya") == want
    assert orch.get_original(sha(data), user_id="maya") is None
    orch.close()
    assert [p.name for p in blob_files(data_dir)] == [sha(clean)]
    assert files_holding(data_dir, SECRET.encode()) == []


def _with_pdf_info(pdf: bytes, info: dict[str, str]) -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_file_whose_metadata_holds_a_secret_is_not_kept(make_orch: Any, tmp_path: Path) -> None:
    """The visible text is harmless; the secret is in a PDF's document info, a PNG's text
    chunk and a JPEG's EXIF: the bytes (which hold it) are withheld, and an export naming
    them as kept is refused."""
    import io

    needs("pypdf")
    needs("rapidocr_onnxruntime")
    from PIL import Image, PngImagePlugin

    from octomem.orchestrator.originals import screen
    from octomem.settings import MediaConfig

    data_dir = tmp_path / "data"
    plan = make_pdf(["Trip plan: train to Ostrava on Friday, hotel near the square."])
    pdf = _with_pdf_info(plan, {"/Subject": "Wifi password: " + SECRET})
    pixels = Image.open(io.BytesIO(render(["Garden plan for May"])))
    chunk = PngImagePlugin.PngInfo()
    chunk.add_text("Comment", "Wifi password: " + SECRET)
    out = io.BytesIO()
    pixels.save(out, format="PNG", pnginfo=chunk)
    png = out.getvalue()
    exif = Image.Exif()
    exif[0x010E] = "Wifi password: " + SECRET  # ImageDescription
    out = io.BytesIO()
    pixels.convert("RGB").save(out, format="JPEG", exif=exif)
    jpeg = out.getvalue()
    files = {"pdf": pdf, "png": png, "jpeg": jpeg}
    assert all(SECRET.encode() in data for data in files.values())

    orch = make_orch(data_dir=data_dir, **KEEP)
    parts = [
        {"type": "file", "file": {"file_data": data_url(pdf, "application/pdf")}},
        {"type": "image_url", "image_url": {"url": data_url(png, "image/png")}},
        {"type": "image_url", "image_url": {"url": data_url(jpeg, "image/jpeg")}},
    ]
    orch.process(
        [{"role": "user", "content": [{"type": "text", "text": "Files."}, *parts]}], user_id="maya"
    )
    assert originals_of(orch, "maya") == {sha(d): "withheld: secret" for d in files.values()}
    assert all(orch.get_original(sha(d), user_id="maya") is None for d in files.values())
    orch.close()
    assert blob_files(data_dir) == []
    assert files_holding(data_dir, SECRET.encode()) == []
    for data in files.values():  # import's check reads the metadata too
        with pytest.raises(InvalidInputError, match="withheld: secret"):
            screen(sha(data), data, MediaConfig())
    screen(sha(plan), plan, MediaConfig())  # the same PDF without it may be kept


def test_a_pdf_with_a_page_whose_text_was_not_read_is_not_kept(
    make_orch: Any, tmp_path: Path
) -> None:
    """A text page and a scanned one: with OCR off (or past media.max_ocr_pages) the
    scan's text is not read, so not checked, and the PDF's bytes are withheld."""
    import io

    needs("pypdf")
    needs("PIL")
    from pypdf import PdfReader, PdfWriter

    from tests.media_files import scanned_pdf

    writer = PdfWriter()
    for data in (
        make_pdf(["Trip plan: train to Ostrava."]),
        scanned_pdf(["Wifi password: " + SECRET]),
    ):
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    pdf = out.getvalue()
    part = {"type": "file", "file": {"file_data": data_url(pdf, "application/pdf")}}
    for n, media in enumerate([{"ocr": False}, {"max_ocr_pages": 0}]):
        data_dir = tmp_path / f"data{n}"
        orch = make_orch(data_dir=data_dir, media={"keep_originals": True, **media})
        orch.process([{"role": "user", "content": [part]}], user_id="maya")
        assert originals_of(orch, "maya") == {sha(pdf): "withheld: text not read"}
        orch.close()
        assert blob_files(data_dir) == []


def test_an_image_whose_text_was_not_read_is_not_kept(make_orch: Any, tmp_path: Path) -> None:
    needs("PIL")
    data_dir = tmp_path / "data"
    image = render(["Wifi password: " + SECRET])
    orch = make_orch(data_dir=data_dir, media={"keep_originals": True, "ocr": False})
    part = {"type": "image_url", "image_url": {"url": data_url(image, "image/png")}}
    orch.process([{"role": "user", "content": [part]}], user_id="ivan")
    assert originals_of(orch, "ivan") == {sha(image): "withheld: text not read"}
    assert blob_files(data_dir) == []


def test_forget_removes_the_users_blobs_and_no_one_elses(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir, **KEEP)
    orch.process([doc_message(NOTES)], user_id="maya", agent_id="garden")
    orch.process([doc_message(RECIPE)], user_id="maya", agent_id="kitchen")
    orch.process([doc_message(NOTES)], user_id="maya", agent_id="kitchen")  # shared file
    orch.process([doc_message(NOTES)], user_id="bob")
    assert len(blob_files(data_dir)) == 3  # maya: 2, bob: 1
    # one agent scope: its file no other record of maya names goes, the shared one stays
    report = orch.forget(user_id="maya", agent_id="kitchen")
    assert report.blobs == 1
    assert orch.get_original(sha(RECIPE), user_id="maya") is None
    assert orch.get_original(sha(NOTES), user_id="maya") == NOTES
    # the whole user: the directory goes; bob's copy of the same file stays
    assert orch.forget(user_id="maya").blobs == 1
    assert orch.get_original(sha(NOTES), user_id="maya") is None
    assert orch.get_original(sha(NOTES), user_id="bob") == NOTES
    assert len(blob_files(data_dir)) == 1
    assert orch.forget(user_id="maya").blobs == 0  # run again: nothing


def test_delete_all_removes_blobs_no_record_names(make_orch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir, **KEEP)
    orch.process([doc_message(RECIPE)], user_id="maya")
    assert orch.delete_all(user_id="maya")
    assert blob_files(data_dir) == []


def test_export_import_round_trip_and_a_tampered_blob_refused(
    make_orch: Any, tmp_path: Path
) -> None:
    source = make_orch(data_dir=tmp_path / "a", **KEEP)
    source.process([doc_message(NOTES)], user_id="maya")
    source.process([doc_message(RECIPE)], user_id="bob")
    path = tmp_path / "export.jsonl"
    assert source.export_jsonl(path).blobs == 2
    assert source.export_jsonl(tmp_path / "maya.jsonl", user_id="maya").blobs == 1

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    tampered = [
        {**line, "data": base64.b64encode(b"not the notes").decode()}
        if line["type"] == "blob" and line["sha256"] == sha(NOTES)
        else line
        for line in lines
    ]
    bad = tmp_path / "tampered.jsonl"
    bad.write_text("".join(json.dumps(line) + "\n" for line in tampered))
    target = make_orch(data_dir=tmp_path / "b", **KEEP)
    with pytest.raises(InvalidInputError, match=f"blob {sha(NOTES)} .*does not hash"):
        target.import_jsonl(bad)
    assert target.get_all(user_id="maya") == [] and not (tmp_path / "b" / "blobs").exists()

    summary = target.import_jsonl(path)
    assert summary.blobs == 2
    assert target.get_original(sha(NOTES), user_id="maya") == NOTES
    assert target.get_original(sha(RECIPE), user_id="bob") == RECIPE
    assert target.get_original(sha(NOTES), user_id="bob") is None
    assert target.check().consistent


def test_an_import_naming_as_kept_a_file_that_holds_a_secret_is_refused(
    make_orch: Any, tmp_path: Path
) -> None:
    """An export edited (or written by another tool) so that a record names as kept the
    bytes of a file whose text holds a password: its blob is read again on import, and
    the import is refused before anything reaches disk."""
    leaked = b"# Wifi\n\nThe wifi password is " + SECRET.encode() + b"\n"
    _import_refused(make_orch, tmp_path, doc_message(NOTES), NOTES, leaked, "withheld: secret")


def _import_refused(
    make_orch: Any, tmp_path: Path, message: dict[str, Any], kept: bytes, leaked: bytes, why: str
) -> None:
    """An export of `message` (whose file `kept` is kept) edited to name and hold `leaked`
    instead is refused on import (`why`), and nothing of it reaches disk."""
    source = make_orch(data_dir=tmp_path / "a", **KEEP)
    source.process([message], user_id="maya")
    path = tmp_path / "export.jsonl"
    source.export_jsonl(path)
    text = path.read_text().replace(sha(kept), sha(leaked))
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        if line["type"] == "blob":
            line["data"] = base64.b64encode(leaked).decode()
    bad = tmp_path / "edited.jsonl"
    bad.write_text("".join(json.dumps(line) + "\n" for line in lines))
    data_dir = tmp_path / "b"
    target = make_orch(data_dir=data_dir, **KEEP)
    with pytest.raises(InvalidInputError, match=f"blob {sha(leaked)} .*{why}"):
        target.import_jsonl(bad)
    assert target.get_all(user_id="maya") == []
    target.close()
    assert files_holding(data_dir, SECRET.encode()) == []


def test_an_import_naming_as_kept_a_file_whose_bytes_hold_a_secret_is_refused(
    make_orch: Any, tmp_path: Path
) -> None:
    """As above, with the password where no reader reads it (a PDF comment): the blob's
    bytes are checked on import as `process()` checks them."""
    needs("pypdf")
    pdf = make_pdf(["Trip plan"])
    part = {"type": "file", "file": {"file_data": data_url(pdf, "application/pdf")}}
    at = pdf.rfind(b"startxref")
    leaked = pdf[:at] + b"% my password is " + SECRET.encode() + b"\n" + pdf[at:]
    message = {"role": "user", "content": [part]}
    _import_refused(make_orch, tmp_path, message, pdf, leaked, "secret in its bytes")


def test_doctor_finds_orphans_missing_and_damaged_blobs_and_repairs(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir, **KEEP)
    orch.process([doc_message(NOTES)], user_id="maya")
    orch.process([doc_message(RECIPE, "soup.md")], user_id="maya")

    # a crash after the blob, before the records: what is left is an orphan
    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    third = b"# Bikes\n\nThe chain needs oil before the Tatra ride.\n"
    with monkeypatch.context() as patch:
        patch.setattr(services_of(orch).journal, "begin", crash)  # the records' write
        with pytest.raises(RuntimeError, match="power cut"):
            orch.process([doc_message(third, "bikes.md")], user_id="maya")
    assert sha(third) not in originals_of(orch, "maya")
    folder = blob_files(data_dir)[0].parent
    (folder / sha(RECIPE)).unlink()  # missing
    (folder / sha(NOTES)).write_bytes(b"bit rot")  # damaged
    (folder / ".0123.tmp").write_bytes(b"half")  # a temporary file a crash left
    key = folder.name

    report = orch.check()
    blobs = {s.store: s for s in report.stores}["blobs"]
    assert not report.consistent
    assert blobs.extra == sorted([f"{key}/.0123.tmp", f"{key}/{sha(third)}"])
    assert blobs.missing == [f"{key}/{sha(RECIPE)}"]
    assert blobs.stale == [f"{key}/{sha(NOTES)}"]
    assert orch.get_original(sha(NOTES), user_id="maya") is None  # damaged bytes never served

    repaired = orch.check(repair=True)
    assert repaired.repaired and repaired.remaining == 2  # missing: cannot be made again
    after = {s.store: s for s in orch.check().stores}["blobs"]
    assert after.extra == [] and after.stale == []
    assert sorted(after.missing) == sorted(f"{key}/{s}" for s in (sha(NOTES), sha(RECIPE)))
    # sending the files again writes them back
    orch.process([doc_message(NOTES)], user_id="maya")
    orch.process([doc_message(RECIPE, "soup.md")], user_id="maya")
    assert orch.check().consistent
    assert orch.get_original(sha(RECIPE), user_id="maya") == RECIPE
    # the folder of a user without any record (a forget cut short before its blobs): removed
    # once nothing in it changed for a lease period (a first write in flight is newer)
    stray = folder.parent / "0f" / sha(b"stray")
    stray.parent.mkdir()
    stray.write_bytes(b"stray")
    assert {s.store: s for s in orch.check().stores}["blobs"].extra == [f"0f/{sha(b'stray')}"]
    orch.check(repair=True)
    assert stray.exists()  # just written: it may be a first write in flight
    os.utime(stray, (1_000_000_000, 1_000_000_000))
    assert orch.check(repair=True).remaining == 0
    assert not stray.parent.exists() and orch.check().consistent


def test_two_threads_keeping_the_same_file_end_with_one_intact_blob(
    make_orch: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir, **KEEP)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def send(session: str) -> None:
        try:
            barrier.wait()
            orch.process([doc_message(NOTES)], user_id="maya", session_id=session)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(f"s{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    files = blob_files(data_dir)
    assert [f.name for f in files] == [sha(NOTES)] and files[0].read_bytes() == NOTES
    assert orch.check().consistent


def test_keep_originals_is_refused_with_store_servers() -> None:
    with pytest.raises(ConfigurationError, match="keep_originals needs embedded stores"):
        load_settings(vector={"mode": "http"}, **KEEP)
    with pytest.raises(ConfigurationError, match="keep_originals needs embedded stores"):
        load_settings(graph={"provider": "neo4j", "password": "x" * 12}, **KEEP)
    assert load_settings(vector={"mode": "http"}).media.keep_originals is False
    # the service and MCP over HTTP keep them as the operator set it (embedded stores)
    remote = for_remote_callers(load_settings(**KEEP))
    assert remote.media.keep_originals is True and remote.media.local_files is False


def test_a_failed_write_leaves_no_blob_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from octomem.stores import blobs

    store = blobs.BlobStore(tmp_path / "blobs", None)
    with pytest.raises(InvalidInputError, match="do not hash"):
        store.put("maya", sha(RECIPE), NOTES)

    def broken(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(blobs.os, "replace", broken)
    with pytest.raises(StoreError, match="No space"):
        store.put("maya", sha(NOTES), NOTES)
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []
    monkeypatch.undo()
    assert store.put("maya", sha(NOTES), NOTES) and not store.put("maya", sha(NOTES), NOTES)
    assert store.get("maya", sha(NOTES)) == NOTES and store.get("bob", sha(NOTES)) is None


def test_concurrent_writers_of_one_blob_race_safely(tmp_path: Path) -> None:
    from octomem.stores.blobs import BlobStore

    store = BlobStore(tmp_path / "blobs", None)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def put() -> None:  # all see no blob yet, write and rename their own temporary files
        try:
            barrier.wait()
            store.put("maya", sha(NOTES), NOTES)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.names("maya") == {sha(NOTES)} and store.get("maya", sha(NOTES)) == NOTES


def test_a_removed_blob_is_overwritten_before_it_is_unlinked(tmp_path: Path) -> None:
    """Its bytes are zeroed in place (a second link to the same file sees zeros), so they
    are not left in the file system's free space."""
    from octomem.stores.blobs import BlobStore

    store = BlobStore(tmp_path / "blobs", b"k" * 32)
    store.put("maya", sha(NOTES), NOTES)
    store.put("bob", sha(RECIPE), RECIPE)
    (tmp_path / "notes-link").hardlink_to(store.file(store.user_key("maya"), sha(NOTES)))
    (tmp_path / "recipe-link").hardlink_to(store.file(store.user_key("bob"), sha(RECIPE)))
    assert store.remove(store.user_key("maya"), [sha(NOTES)]) == 1
    assert store.remove_user("bob") == 1
    assert (tmp_path / "notes-link").read_bytes() == bytes(len(NOTES))
    assert (tmp_path / "recipe-link").read_bytes() == bytes(len(RECIPE))
    assert store.listing() == {}
