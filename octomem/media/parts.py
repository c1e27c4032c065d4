"""Image and file content parts: what is read from each. The shapes accepted are the ones
`octomem.media.schema` lists (OpenAI chat and Responses, mem0, LangChain), as plain dicts;
a file part may also give a ``path`` instead of its ``file_data``.

A URL is a ``data:`` URL, a local path or ``file://`` URL (`media.local_files`), or an
http(s) URL (fetched only with `media.fetch.enabled`). What the bytes are comes from the
bytes, not from what the part claims.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octomem.errors import InvalidInputError
from octomem.media import documents, images, pdf
from octomem.media.sources import Blob, from_base64, load, sniff
from octomem.models import AttachedImage
from octomem.sensitive import MARK, mask, mask_across, mask_value
from octomem.settings import MediaConfig
from octomem.validation import clean_text

# the keys of a piece (`Attachment.chunks`) that hold what was read from the part or what
# names it: masked like any text, and where a secret's mark is looked for
TEXT_FIELDS = frozenset({"text", "header", "name", "title", "uri"})

MEDIA_TYPES = frozenset(
    {"image_url", "input_image", "file", "input_file", "pdf_url", "mdx_url", "image"}
)


@dataclass
class Attachment:
    """What was read from one part: a marker line for the message's text, and the pieces
    of text (each with its provenance) the resource agent stores."""

    marker: str
    chunks: list[dict[str, Any]] = field(default_factory=list)
    image: AttachedImage | None = None  # for a vision model, when asked for (`vision`)
    data: bytes = field(default=b"", repr=False)  # the part's bytes (media.keep_originals)
    masked: list[str] = field(default_factory=list)  # the kinds of secret masked in its text

    @property
    def chars(self) -> int:
        return sum(len(c["text"]) for c in self.chunks)


def masked_piece(piece: Mapping[str, Any], kinds: list[str] | None = None) -> dict[str, Any]:
    """`piece` with secrets masked in its text fields (`TEXT_FIELDS`); the kinds found
    are added to `kinds`."""
    return {k: mask_value(v, kinds) if k in TEXT_FIELDS else v for k, v in piece.items()}


# a piece's "hidden_text": what masking made of the text its file holds that was not read
# as its text (document info, XMP, image metadata...): never stored, only checked
HIDDEN_SECRET = "secret"
HIDDEN_UNREAD = "not read"


def holds_secret(piece: Mapping[str, Any]) -> bool:
    """Whether masking found a secret in a (masked) piece's text fields, or in the text
    its file holds outside them (metadata)."""
    if piece.get("hidden_text") == HIDDEN_SECRET:
        return True
    return any(MARK in str(piece.get(k) or "") for k in TEXT_FIELDS)


def unread(piece: Mapping[str, Any]) -> bool:
    """Whether some text of the piece's file was not read, so not checked: an image OCR
    did not read, a PDF with scanned pages OCR did not read, metadata that could not be
    read."""
    if piece.get("kind") == "image" and not piece.get("ocr"):
        return True
    return bool(piece.get("unread_pages")) or piece.get("hidden_text") == HIDDEN_UNREAD


def _hidden(found: Mapping[str, str]) -> dict[str, Any]:
    """The "hidden_text" key of the pieces of a file whose metadata holds `found`."""
    kinds: list[str] = []
    for where, text in found.items():
        name = where.rsplit(" ", 1)[-1].lstrip("/")  # {"Password": ...} is a secret too
        mask_value({name: text}, kinds)
    if kinds:
        return {"hidden_text": HIDDEN_SECRET}
    if images.UNREADABLE in found.values():
        return {"hidden_text": HIDDEN_UNREAD}
    return {}


def is_media(part: Mapping[str, Any]) -> bool:
    return part.get("type") in MEDIA_TYPES


def read_part(
    part: Mapping[str, Any], index: int, config: MediaConfig, *, vision: bool = False
) -> Attachment:
    """Read one image or file part; InvalidInputError says what is wrong with it. With
    `vision`, an image's attachment also holds it as a vision model is sent it."""
    blob = _blob(part, config)
    kind = sniff(blob.data)
    info: dict[str, Any] = {
        "part": index,
        "kind": kind if kind != "text" else "document",
        "sha256": hashlib.sha256(blob.data).hexdigest(),
        "bytes": len(blob.data),
        "origin": blob.origin,
        "uri": blob.uri,
    }
    name = blob.name
    if kind == "image":
        attachment = _image(blob.data, name, info, config)
        if vision:
            url = images.vision_url(
                blob.data, max_pixels=config.max_pixels, max_side=config.vision_max_side
            )
            attachment.image = AttachedImage(index, info["sha256"], url)
    elif kind == "pdf":
        attachment = _pdf(blob.data, name, info, config)
    else:
        attachment = _document(blob.data.decode("utf-8"), name, info, config)
    if config.keep_originals and attachment.chunks:  # none: no record would name it
        attachment.data = blob.data
    # the marker joins the message's text: cleaned as it is, like the pieces (`_chunk`),
    # since it quotes the part's file name and a document's titles as they were given
    attachment.marker = clean_text(attachment.marker, "the part's file name or titles")
    return attachment


def _blob(part: Mapping[str, Any], config: MediaConfig) -> Blob:
    kind = part["type"]
    if kind in ("image_url", "pdf_url", "mdx_url"):
        value = part.get(kind)
        name = None
        if isinstance(value, Mapping):
            name = _name(value.get("file_name") or value.get("filename") or value.get("pdf_name"))
            value = value.get("url")
        url = _url(value, kind)
        if kind != "image_url" and _bare_base64(url, config):
            return from_base64(url, config, name)  # mem0's documents: the file as base64
        return load(url, config, name=name)
    if kind == "input_image":
        return load(_url(part.get("image_url"), kind), config)
    if kind in ("file", "input_file"):
        spec = part.get("file") if kind == "file" else part
        if not isinstance(spec, Mapping):
            raise InvalidInputError("a file part needs a 'file' object with 'file_data'")
        name = _name(spec.get("filename") or spec.get("file_name"))
        if isinstance(spec.get("file_data"), str):
            return from_base64(spec["file_data"], config, name)
        for key in ("url", "file_url", "path"):
            if isinstance(spec.get(key), str):
                return load(spec[key], config, name=name)
        if spec.get("file_id") is not None:
            raise InvalidInputError(
                "a file part with only a 'file_id' cannot be read (octomem has no file "
                "uploads): pass the bytes as 'file_data'"
            )
        raise InvalidInputError("a file part needs 'file_data' (base64) or a 'url' / 'path'")
    # LangChain's standard blocks: {"type": "image", "base64": ...} or {"url": ...}
    data = part.get("base64") or (part.get("data") if part.get("source_type") != "url" else None)
    name = _name(part.get("filename") or (part.get("metadata") or {}).get("filename"))
    if isinstance(data, str):
        return from_base64(data, config, name)
    return load(_url(part.get("url"), kind), config, name=name)


def _url(value: Any, kind: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"a {kind} part needs a 'url' string (a data: URL or a path)")
    return value


_BASE64 = re.compile(r"[A-Za-z0-9+/\s]+={0,2}\s*")


def _bare_base64(url: str, config: MediaConfig) -> bool:
    """Whether a document part's `url` is the file itself as bare base64, as mem0's docs
    send a local document: base64 of at least 16 characters, not starting like a path
    ("/", which no text or PDF's base64 starts with), and not a file that may be read."""
    text = url.strip()
    if len(text) < 16 or text[0] == "/" or not _BASE64.fullmatch(text):
        return False
    if len("".join(text.split())) % 4:
        return False
    if not config.local_files:
        return True
    try:
        return not Path(text).expanduser().is_file()
    except OSError:  # longer than a file name may be: not a path
        return True


def _name(value: Any) -> str | None:
    return value.strip()[:200] if isinstance(value, str) and value.strip() else None


def _image(data: bytes, name: str | None, info: dict[str, Any], config: MediaConfig) -> Attachment:
    seen = images.read_image(data, max_pixels=config.max_pixels, ocr=config.ocr)
    info |= {"format": seen.format, "width": seen.width, "height": seen.height}
    info |= {"taken_at": seen.taken_at, "ocr": seen.ocr} | _hidden(seen.hidden)
    label = f'image "{name}"' if name else "an image"
    what = f"{seen.format}, {seen.width} x {seen.height}"
    if seen.taken_at:
        what += f", taken {seen.taken_at}"
    header = f"{label} ({what})"
    if not seen.text:
        reason = "no text found" if seen.ocr else "text not read: OCR is not installed or off"
        return Attachment(f"[attached {header}: {reason}]", [_chunk(info, header, "", name)])
    # masked whole before it is cut: a cue and its value may fall in two chunks
    masked = mask(seen.text)
    pieces = documents.chunks(masked.text, config.chunk_chars)
    return Attachment(
        f"[attached {header}: text read]",
        [
            _chunk(info | {"chunk": i}, header, text, name)
            for i, text in enumerate(pieces, 1 if len(pieces) > 1 else 0)
        ],
        masked=list(masked.kinds),
    )


def _pdf(data: bytes, name: str | None, info: dict[str, Any], config: MediaConfig) -> Attachment:
    read_text = pdf.read_pdf(
        data,
        max_pages=config.max_pages,
        max_pixels=config.max_pixels,
        ocr=config.ocr,
        max_ocr_pages=config.max_ocr_pages,
    )
    count, pages = read_text.count, read_text.pages
    label = f'PDF "{name}"' if name else "a PDF"
    info |= {"pages": count} | _hidden(read_text.hidden)
    if read_text.unread:  # scanned pages OCR did not read: not checked for secrets
        info["unread_pages"] = read_text.unread
    chunks = []
    # masked whole before it is cut: a cue and its value may fall in two chunks or pages
    kinds: list[str] = []
    texts = mask_across([page.text for page in pages], kinds)
    for page, page_text in zip(pages, texts, strict=True):
        pieces = documents.chunks(page_text, config.chunk_chars)
        for i, text in enumerate(pieces, 1 if len(pieces) > 1 else 0):
            header = f"{label}, page {page.number} of {count}"
            extra = {"page": page.number, "ocr": page.ocr} | ({"chunk": i} if i else {})
            chunks.append(_chunk(info | extra, header, text, name))
    read = f"text of {len(pages)} of {count} pages read" if pages else "no text found"
    return Attachment(f"[attached {label} ({count} pages): {read}]", chunks, masked=kinds)


def _document(text: str, name: str | None, info: dict[str, Any], config: MediaConfig) -> Attachment:
    label = f'document "{name}"' if name else "a document"
    chunks = []
    # masked whole before it is cut: a cue and its value may fall in two sections or chunks
    masked = mask(text)
    found = documents.sections(masked.text)
    for number, section in enumerate(found, 1):
        body = section.text or section.title or ""
        pieces = documents.chunks(body, config.chunk_chars)
        for i, piece in enumerate(pieces, 1 if len(pieces) > 1 else 0):
            header = label + (f', section "{section.title}"' if section.title else "")
            extra = {"section": number} | ({"chunk": i} if i else {})
            chunks.append(_chunk(info | extra, header, piece, name, section.title))
    read = f"{len(found)} section{'s' if len(found) != 1 else ''} read" if found else "empty"
    return Attachment(f"[attached {label}: {read}]", chunks, masked=list(masked.kinds))


def _chunk(
    info: dict[str, Any], header: str, text: str, name: str | None, title: str | None = None
) -> dict[str, Any]:
    """One piece, its strings cleaned as message text is (no control or invisible
    characters, NFC): what a PDF or OCR gives is not always clean."""
    cleaned = {
        key: clean_text(value, "text read from the part") if value else value
        for key, value in (("name", name), ("title", title), ("header", header), ("text", text))
    }
    return {**info, **cleaned}
