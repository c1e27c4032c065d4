"""Image and file content parts in messages: the shapes accepted, what is read from them,
and the clear InvalidInputError each bad one gets - before the costly work it would take
(reading pages, decoding pixels, OCR, connecting), where that is what the check is for."""

from __future__ import annotations

import base64
import importlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octomem.errors import InvalidInputError
from octomem.messages import normalize_messages
from octomem.models import Turn, utcnow
from octomem.settings import FetchConfig, MediaConfig, for_remote_callers, load_settings
from tests.media_files import (
    data_url,
    encrypted_pdf,
    make_pdf,
    many_pages_pdf,
    needs,
    render,
    scanned_pdf,
)

PDF_PAGES = ["Quarterly report\nRevenue grew by twelve percent", "The offsite is in Zanzibar"]


def turn_of(content: Any, **media: Any) -> Turn:
    config = MediaConfig(**media)
    turns = normalize_messages(
        [{"role": "user", "content": content}], session_id=None, now=utcnow(), media=config
    )
    return turns[0]


def texts(turn: Turn) -> list[str]:
    return [piece["text"] for piece in turn.internal.get("media", [])]


def refused(content: Any, says: str, **media: Any) -> str:
    with pytest.raises(InvalidInputError) as caught:
        turn_of(content, **media)
    assert says in str(caught.value)
    assert "Nothing was stored" in str(caught.value)
    return str(caught.value)


def watch_costly_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, what this test's thread does of the costly work a part can take: a PDF
    page's text extracted, an image decoded, OCR run (each noted, then done), a
    connection attempted (noted, and refused with OSError: nothing leaves the machine)."""
    done: list[str] = []
    caller = threading.current_thread()

    def noted(what: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def work(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is caller:
                done.append(what)
            return real(*args, **kwargs)

        return work

    def connect(sock: socket.socket, address: Any) -> Any:
        if threading.current_thread() is not caller:
            return real_connect(sock, address)
        done.append(f"connect to {address[0]}")
        raise OSError("this test allows no connection")

    real_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    if pypdf := _optional("pypdf"):
        monkeypatch.setattr(
            pypdf.PageObject, "extract_text", noted("page text", pypdf.PageObject.extract_text)
        )
    if _optional("PIL"):
        from PIL import Image, ImageFile

        monkeypatch.setattr(Image.Image, "load", noted("decode", Image.Image.load))
        monkeypatch.setattr(ImageFile.ImageFile, "load", noted("decode", ImageFile.ImageFile.load))
    from octomem.media import images

    monkeypatch.setattr(images, "ocr_text", noted("ocr", images.ocr_text))
    return done


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def pdf_part(data: bytes, name: str = "report.pdf") -> dict[str, Any]:
    return {
        "type": "file",
        "file": {"file_data": data_url(data, "application/pdf"), "filename": name},
    }


# --- PDFs and documents (pypdf only) -------------------------------------------------


def test_pdf_file_part_gives_text_per_page_with_provenance() -> None:
    needs("pypdf")
    turn = turn_of([{"type": "text", "text": "Here is the report."}, pdf_part(make_pdf(PDF_PAGES))])
    assert turn.content.startswith('Here is the report.\n[attached PDF "report.pdf" (2 pages)')
    pieces = turn.internal["media"]
    assert [(p["page"], p["part"], p["kind"], p["pages"]) for p in pieces] == [
        (1, 1, "pdf", 2),
        (2, 1, "pdf", 2),
    ]
    assert "twelve percent" in pieces[0]["text"] and "Zanzibar" in pieces[1]["text"]
    assert len(pieces[0]["sha256"]) == 64 and pieces[0]["sha256"] == pieces[1]["sha256"]


def test_mem0_pdf_url_as_the_whole_content() -> None:
    needs("pypdf")
    content = {
        "type": "pdf_url",
        "pdf_url": {"url": data_url(make_pdf(PDF_PAGES), "application/pdf")},
    }
    assert "Zanzibar" in texts(turn_of(content))[1]


def test_long_pages_are_chunked_and_keep_their_page() -> None:
    needs("pypdf")
    long_page = "\n".join(f"Line {i} of the appendix about the harbour." for i in range(120))
    turn = turn_of([pdf_part(make_pdf(["short", long_page]))], chunk_chars=500)
    page2 = [p for p in turn.internal["media"] if p["page"] == 2]
    assert len(page2) > 5 and all(len(p["text"]) <= 500 for p in page2)
    assert [p["chunk"] for p in page2] == list(range(1, len(page2) + 1))


def test_local_path_and_file_url(tmp_path: Path) -> None:
    needs("pypdf")
    path = tmp_path / "notes.pdf"
    path.write_bytes(make_pdf(PDF_PAGES))
    for url in (str(path), path.as_uri()):
        turn = turn_of([{"type": "pdf_url", "pdf_url": {"url": url}}])
        assert turn.internal["media"][0]["uri"] == str(path.resolve())
        assert turn.internal["media"][0]["name"] == "notes.pdf"
    refused(
        [{"type": "pdf_url", "pdf_url": {"url": str(path)}}], "media.local_files", local_files=False
    )
    refused([{"type": "pdf_url", "pdf_url": {"url": str(tmp_path / "gone.pdf")}}], "not a file")


def test_mem0_documents_as_bare_base64() -> None:
    """mem0's docs send a local document as bare base64 in `mdx_url.url` (a PDF in
    `pdf_url.url` too): read as the file's bytes, never as a path."""
    needs("pypdf")
    note = base64.b64encode(b"# Pets\n\nMy tortoise is Bartholomew.").decode()
    turn = turn_of({"type": "mdx_url", "mdx_url": {"url": note}}, local_files=False)
    assert any("Bartholomew" in text for text in texts(turn))
    assert turn.internal["media"][0]["origin"] == "data"
    pdf = base64.b64encode(make_pdf(PDF_PAGES)).decode()
    for local_files in (False, True):  # longer than any file name: never looked up as one
        turn = turn_of({"type": "pdf_url", "pdf_url": {"url": pdf}}, local_files=local_files)
        assert any("Zanzibar" in text for text in texts(turn))
    # a path is never taken for base64: the local-files refusal, not a decoding error
    for path in ("/etc/passwd", "/etc/ssh/ssh_host_rsa_key", "notes/todo.md", "abcd"):
        refused([{"type": "mdx_url", "mdx_url": {"url": path}}], "not read here", local_files=False)


def test_a_server_for_remote_callers_never_reads_local_files(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, media={"local_files": True})
    served = for_remote_callers(settings)
    assert served.media.local_files is False and settings.media.local_files is True
    assert served.media.fetch == settings.media.fetch and served.data_dir == settings.data_dir
    assert for_remote_callers(served) is served


def test_markdown_document_split_by_section() -> None:
    doc = "# Trip\nWe fly on Friday.\n\n## Hotel\nThe hotel is the Quillfeather Inn.\n\n"
    doc += "```\n# not a heading\n```\n"
    part = {
        "type": "file",
        "file": {"file_data": data_url(doc.encode(), "text/markdown"), "filename": "trip.md"},
    }
    pieces = turn_of([part]).internal["media"]
    assert [(p["title"], p["kind"]) for p in pieces] == [
        ("Trip", "document"),
        ("Hotel", "document"),
    ]
    assert "Quillfeather" in pieces[1]["text"] and "# not a heading" in pieces[1]["text"]
    assert 'section "Hotel"' in pieces[1]["header"]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: b"%PDF-1.4\n" + b"\x00garbage" * 50, "cannot be read"),
        (lambda: make_pdf(PDF_PAGES)[:200], "cannot be read"),
        (lambda: encrypted_pdf(PDF_PAGES), "encrypted"),
        (lambda: many_pages_pdf(10_000), "10,000 pages"),
    ],
    ids=["corrupt", "truncated", "encrypted", "10000-pages"],
)
def test_bad_pdfs_are_refused_before_any_page_is_read(
    make: Any, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs("pypdf")
    part = pdf_part(make())
    costly = watch_costly_work(monkeypatch)
    refused([{"type": "text", "text": "see attached"}, part], says)
    assert costly == []


@pytest.mark.parametrize(
    ("part", "says", "media"),
    [
        (
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}},
            "not valid base64",
            {},
        ),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64"}}, "no ','", {}),
        ({"type": "image_url", "image_url": {}}, "needs a 'url'", {}),
        (
            {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}},
            "scheme 'ftp'",
            {},
        ),
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            "fetching is off",
            {},
        ),
        ({"type": "image_url", "image_url": {"url": "http://[::1"}}, "URL is malformed", {}),
        ({"type": "pdf_url", "pdf_url": {"url": "https://[zz]/a.pdf"}}, "URL is malformed", {}),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "file_id", {}),
        (
            {
                "type": "file",
                "file": {"file_data": data_url(b"\xff\xfe\x00zz", "application/octet-stream")},
            },
            "neither an image",
            {},
        ),
        (
            {"type": "file", "file": {"file_data": data_url(b"x" * 5000, "text/plain")}},
            "media.max_bytes",
            {"max_bytes": 1000},
        ),
    ],
    ids=[
        "bad-base64",
        "no-comma",
        "no-url",
        "ftp",
        "remote-off",
        "unclosed-ipv6",
        "unknown-host",
        "file-id",
        "binary",
        "too-many-bytes",
    ],
)
def test_bad_parts_are_refused(
    part: dict[str, Any], says: str, media: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    costly = watch_costly_work(monkeypatch)
    message = refused([{"type": "text", "text": "look"}, part], says, **media)
    assert "content part 1" in message
    assert costly == []  # nothing decoded, nothing fetched


def test_too_many_parts_and_too_much_text() -> None:
    doc = {"type": "file", "file": {"file_data": data_url(b"hello there " * 50, "text/plain")}}
    refused([doc] * 3, "media.max_parts", max_parts=2)
    refused([doc] * 3, "media.max_text_chars", max_text_chars=1000)


PRIVATE_URLS = [
    "https://127.0.0.1/a.png",
    "https://[::1]:8443/a.png",
    "https://10.1.2.3/a.png",
    "https://169.254.169.254/latest/meta-data",
]


def test_remote_fetch_refused_for_private_addresses_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    costly = watch_costly_work(monkeypatch)
    for url in PRIVATE_URLS:
        part = {"type": "image_url", "image_url": {"url": url}}
        with pytest.raises(InvalidInputError) as caught:
            turn_of([part], fetch=FetchConfig(enabled=True))
        assert costly == [], f"{url}: a connection was attempted"
        assert "private or reserved address" in str(caught.value)
    # the watch sees a connection when one is made: allowed, each URL is tried (and refused)
    for url in PRIVATE_URLS:
        part = {"type": "image_url", "image_url": {"url": url}}
        refused([part], "failed", fetch=FetchConfig(enabled=True, allow_private=True))
    assert costly == [
        "connect to 127.0.0.1",
        "connect to ::1",
        "connect to 10.1.2.3",
        "connect to 169.254.169.254",
    ]


# --- images (Pillow; OCR with the media extra) ---------------------------------------


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_ocr_reads_rendered_text_and_keeps_exif_size_format(fmt: str, mime: str) -> None:
    needs("rapidocr_onnxruntime")
    image = render(["Flight to Lisbon on 14 May", "Gate B22"], fmt, exif_date="2024:05:01 09:30:00")
    turn = turn_of([{"type": "image_url", "image_url": {"url": data_url(image, mime)}}])
    (piece,) = turn.internal["media"]
    assert "Lisbon" in piece["text"] and "B22" in piece["text"]
    assert (piece["format"], piece["width"], piece["height"]) == (fmt, 1000, 220)
    assert piece["taken_at"] == "2024-05-01T09:30:00" and piece["ocr"] is True
    assert turn.content.startswith("[attached an image (")  # an image alone is a message


def test_other_image_shapes() -> None:
    needs("rapidocr_onnxruntime")
    image = render(["Zebra crossing"])
    url = data_url(image, "image/png")
    for part in (
        {"type": "input_image", "image_url": url},
        {"type": "image", "base64": url.split(",", 1)[1], "mime_type": "image/png"},
        {"type": "image_url", "image_url": url},
    ):
        assert "Zebra" in texts(turn_of([part]))[0]


def test_images_without_ocr_keep_what_they_are() -> None:
    needs("PIL")
    image = render(["Hidden words"])
    turn = turn_of(
        [{"type": "image_url", "image_url": {"url": data_url(image, "image/png")}}], ocr=False
    )
    assert texts(turn) == [""] and turn.internal["media"][0]["ocr"] is False
    assert "OCR is not installed or off" in turn.content


def test_scanned_pdf_page_goes_through_ocr() -> None:
    needs("rapidocr_onnxruntime")
    turn = turn_of([pdf_part(scanned_pdf(["Receipt from Oslo ferry"]))])
    (piece,) = turn.internal["media"]
    assert "Oslo" in piece["text"] and piece["ocr"] is True and piece["page"] == 1


def test_50_megapixel_image_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    needs("PIL")
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (10_000, 5_000)).save(out, format="PNG")  # compresses to ~50 KB
    assert len(out.getvalue()) < 1_000_000
    part = {"type": "image_url", "image_url": {"url": data_url(out.getvalue(), "image/png")}}
    costly = watch_costly_work(monkeypatch)
    refused([part], "10,000 x 5,000 pixels")
    assert costly == []


def test_truncated_and_corrupt_images_refused() -> None:
    needs("PIL")
    image = render(["Something"], "JPEG")
    for data in (image[: len(image) // 2], b"\x89PNG\r\n\x1a\n" + b"\x00" * 100):
        part = {"type": "image_url", "image_url": {"url": data_url(data, "image/png")}}
        refused([part], "image cannot be")


def test_control_characters_in_read_text_are_removed() -> None:
    doc = "Notes\x00 about\x07 the\u200b trip\r\nline two"
    part = {"type": "file", "file": {"file_data": data_url(doc.encode(), "text/plain")}}
    assert texts(turn_of([part])) == ["Notes about the trip\nline two"]


def test_ocr_of_scanned_pages_is_capped() -> None:
    needs("rapidocr_onnxruntime")
    scan = pdf_part(scanned_pdf(["Receipt from Oslo ferry"]))
    turn = turn_of([scan], max_ocr_pages=0)
    assert "no text found" in turn.content and texts(turn) == []


def test_without_the_extra_images_and_pdfs_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "pypdf", None)
    image = {"type": "image_url", "image_url": {"url": data_url(png, "image/png")}}
    refused([image], "pip install 'octomem[media]'")
    refused([pdf_part(make_pdf(["text"]))], "pip install 'octomem[media]'")


def test_the_printable_runs_of_a_files_bytes_are_masked_in_windows() -> None:
    """`media.strings`: a secret in a file's bytes is found wherever it lies - across the
    boundary of two windows, in UTF-16 -, and random bytes (as compressed data looks) and
    a cue with no value hold none."""
    import random

    from octomem.media.strings import OVERLAP, WINDOW, holds_secret

    noise = random.Random(7).randbytes(3 * WINDOW)
    said = b"\x00my password is Zq9xT4wLm2Kp\x00"
    assert not holds_secret(noise)
    assert not holds_secret(noise[:WINDOW] + b"\x00the password is on the fridge\x00")
    for at in (0, WINDOW - 10, WINDOW + OVERLAP - 10, 2 * WINDOW - 5, len(noise)):
        assert holds_secret(noise[:at] + said + noise[at:]), at
    assert holds_secret(noise[:100] + "my password is Zq9xT4wLm2Kp".encode("utf-16-le"))
    assert holds_secret(noise[:101] + "my password is Zq9xT4wLm2Kp".encode("utf-16-be"))
