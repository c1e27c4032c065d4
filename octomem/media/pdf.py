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

_MIN_PAGE_CHARS = 3  # a page with less text than this is taken for a scan


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    text: str
    ocr: bool  # the text was read from the page's images


def read_pdf(
    data: bytes, *, max_pages: int, max_pixels: int, ocr: bool, max_ocr_pages: int = 20
) -> tuple[int, list[Page]]:
    """The page count and the pages that hold text; at most `max_ocr_pages` scanned
    pages are read by OCR (the others are left without text)."""
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
    ocr_left = max_ocr_pages
    for number, page in enumerate(reader.pages, 1):
        try:
            text = (page.extract_text() or "").strip()
        except Exception as exc:
            raise InvalidInputError(f"page {number}: {_unreadable(exc)}") from None
        scanned = len(text) < _MIN_PAGE_CHARS
        if scanned and ocr and ocr_left > 0 and images.ocr_available():
            ocr_left -= 1
            text = _ocr_page(page, number, max_pixels)
        if text:
            pages.append(Page(number, text, scanned and bool(text)))
    return count, pages


def _ocr_page(page: Any, number: int, max_pixels: int) -> str:
    """The text OCR reads in the images of a page, each checked against `max_pixels`
    from its dictionary before it is decoded."""
    try:
        xobjects = page["/Resources"].get("/XObject") or {}
        for obj in xobjects.values():
            obj = obj.get_object()
            if obj.get("/Subtype") == "/Image":
                width, height = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
                if width * height > max_pixels:
                    raise InvalidInputError(
                        f"page {number} holds an image of {width:,} x {height:,} pixels; the "
                        f"limit is {max_pixels:,} (media.max_pixels)"
                    )
        found = list(page.images)
    except InvalidInputError:
        raise
    except Exception as exc:
        raise InvalidInputError(f"page {number}: {_unreadable(exc)}") from None
    texts = []
    for item in found:
        try:
            data = _png(item.image)
        except Exception:  # an image pypdf cannot decode is skipped, not the whole PDF
            continue
        texts.append(images.read_image(data, max_pixels=max_pixels, ocr=True).text)
    return "\n".join(t for t in texts if t).strip()


def _png(image: Any) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _unreadable(exc: BaseException) -> str:
    detail = str(exc).strip() or type(exc).__name__
    return f"the PDF cannot be read (corrupt or truncated: {detail[:200]})"
