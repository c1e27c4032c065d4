"""PDFs: the text of each page (pypdf: pure Python, BSD-licensed, no native parser in the
process), and OCR of the images of a page without a text layer (a scan).

Encrypted PDFs that need a password, corrupt or truncated files and PDFs with more pages
than `media.max_pages` are refused with InvalidInputError before any page is read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from octomem.errors import InvalidInputError
from octomem.media import images
from octomem.media.images import UNREADABLE

_MIN_PAGE_CHARS = 3  # a page with less text than this is taken for a scan


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    text: str
    ocr: bool  # the text was read from the page's images


@dataclass(frozen=True)
class PdfText:
    count: int  # pages
    pages: list[Page]  # those that hold text
    unread: list[int]  # scanned pages OCR did not read (off, not installed, past the limit)
    hidden: dict[str, str]  # text no page shows: document info, XMP, forms, notes, files


def read_pdf(
    data: bytes, *, max_pages: int, max_pixels: int, ocr: bool, max_ocr_pages: int = 20
) -> PdfText:
    """The pages that hold text; at most `max_ocr_pages` scanned pages are read by OCR
    (the others are left without text and listed as unread)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        raise InvalidInputError(f"PDFs need pypdf: {images.EXTRA_HINT}") from None
    # pypdf raises many exception types on malformed input (its own, and KeyError,
    # ValueError, TypeError, RecursionError... from broken object trees): each of them means
    # this file cannot be read
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInputError(
                "the PDF is encrypted with a password: decrypt it before passing it"
            )
        count = len(reader.pages)
    except InvalidInputError:
        raise
    except Exception as exc:
        raise InvalidInputError(_unreadable(exc)) from None
    if count > max_pages:
        raise InvalidInputError(
            f"the PDF has {count:,} pages; the limit is {max_pages:,} (media.max_pages): "
            f"split it first"
        )
    if count == 0:
        raise InvalidInputError("the PDF has no pages")
    pages: list[Page] = []
    unread: list[int] = []
    ocr_left = max_ocr_pages
    for number, page in enumerate(reader.pages, 1):
        try:
            text = (page.extract_text() or "").strip()
        except Exception as exc:
            raise InvalidInputError(f"page {number}: {_unreadable(exc)}") from None
        scanned = len(text) < _MIN_PAGE_CHARS
        ran = scanned and ocr and ocr_left > 0 and images.ocr_available()
        if ran:
            ocr_left -= 1
            text = _ocr_page(page, number, max_pixels)
        elif scanned:
            unread.append(number)
        if text:
            pages.append(Page(number, text, ran and bool(text)))
    return PdfText(count, pages, unread, hidden_text(reader))


def hidden_text(reader: Any) -> dict[str, str]:
    """The text a PDF holds that no page shows, by where it is: its document info (/Title,
    /Subject, /Keywords...), XMP metadata, form field values, annotations' contents,
    outline titles and embedded files (their names, their bytes as text). A part that
    cannot be read is named with ``UNREADABLE`` as its text (not checked: not kept)."""
    found: dict[str, str] = {}

    def add(where: str, value: Any) -> None:
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if value is not None and str(value).strip():
            found[where] = str(value)

    def info() -> None:
        for key, value in (reader.metadata or {}).items():
            add(f"info {key}", value)

    def xmp() -> None:
        meta = reader.xmp_metadata
        if meta is not None:
            add("xmp", meta.stream.get_data())

    def fields() -> None:
        for name, spec in (reader.get_fields() or {}).items():
            add(f"field {name}", name)
            add(f"field {name} value", spec.get("/V"))

    def notes() -> None:
        for number, page in enumerate(reader.pages, 1):
            for annot in page.get("/Annots") or []:
                annot = annot.get_object()
                for key in ("/Contents", "/T", "/RC"):
                    add(f"page {number} note {key}", annot.get(key))

    def outline(items: Any = None, depth: int = 0) -> None:
        for item in reader.outline if items is None else items:
            if isinstance(item, list):
                if depth < 20:
                    outline(item, depth + 1)
            else:
                add(f"outline {len(found)}", getattr(item, "title", None))

    def files() -> None:
        for name, contents in (reader.attachments or {}).items():
            add(f"file {name}", name)
            for i, content in enumerate(contents):
                try:
                    add(f"file {name} {i}", content.decode("utf-8"))
                except UnicodeDecodeError:  # a binary file inside: not checked
                    found[f"file {name} {i}"] = UNREADABLE

    for read in (info, xmp, fields, notes, outline, files):
        try:
            read()
        except Exception:  # a broken object tree: the part is not checked
            found[read.__name__] = UNREADABLE
    return found


def _ocr_page(page: Any, number: int, max_pixels: int) -> str:
    """The text OCR reads in the images of a page, each checked against `max_pixels`
    from its dictionary before it is decoded, then read from the decoded pixels (no PNG
    round trip: encoding and decoding a 300 dpi page took longer than detecting its lines)."""
    try:
        xobjects = page["/Resources"].get("/XObject") or {}
        for obj in xobjects.values():
            obj = obj.get_object()
            if obj.get("/Subtype") == "/Image":
                width, height = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
                if width * height > max_pixels:
                    raise InvalidInputError(_too_large(number, width, height, max_pixels))
        found = list(page.images)
    except InvalidInputError:
        raise
    except Exception as exc:
        raise InvalidInputError(f"page {number}: {_unreadable(exc)}") from None
    import numpy as np

    texts = []
    for item in found:
        try:
            image = item.image
            width, height = image.size
            if width * height > max_pixels:  # an inline image: it has no dictionary
                raise InvalidInputError(_too_large(number, width, height, max_pixels))
            pixels = np.asarray(image.convert("RGB"))
        except InvalidInputError:
            raise
        except Exception:  # an image pypdf cannot decode is skipped, not the whole PDF
            continue
        texts.append(images.ocr_text(pixels))
    return "\n".join(t for t in texts if t).strip()


def _too_large(number: int, width: int, height: int, max_pixels: int) -> str:
    return (
        f"page {number} holds an image of {width:,} x {height:,} pixels; the limit is "
        f"{max_pixels:,} (media.max_pixels)"
    )


def _unreadable(exc: BaseException) -> str:
    detail = str(exc).strip() or type(exc).__name__
    return f"the PDF cannot be read (corrupt or truncated: {detail[:200]})"
