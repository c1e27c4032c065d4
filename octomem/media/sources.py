"""The bytes a content part points at: a data: URL, a local file, or (if enabled) a remote URL.

Each is read up to `media.max_bytes` and no further; what kind of file it is comes from
its first bytes (`sniff`), not from what the part claims.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from octomem.errors import InvalidInputError
from octomem.media.fetch import fetch
from octomem.settings import MediaConfig

IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


@dataclass(frozen=True)
class Blob:
    data: bytes
    name: str | None  # a file name, when the part or path gives one
    origin: str  # "data", "file" or "url"
    uri: str | None  # the local path or remote URL read; None for data: URLs


def sniff(data: bytes) -> str:
    """'pdf', 'image' or 'text' from the first bytes; InvalidInputError for anything else."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if any(data.startswith(magic) for magic, _ in IMAGE_MAGIC) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    ):
        return "image"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            "the file is neither an image (PNG, JPEG, GIF, WebP, BMP, TIFF), a PDF nor UTF-8 text"
        ) from None
    return "text"


def load(url: str, config: MediaConfig, *, name: str | None = None) -> Blob:
    """The bytes `url` names (a data: URL, a path, file://, or http(s) when enabled)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInputError("the part names no URL or path: give a data: URL or a file path")
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[::1": an unclosed or unknown IPv6 host
        raise InvalidInputError(f"the part's URL is malformed ({exc})") from None
    scheme = parts.scheme.lower() if ":" in url[:12] else ""
    if scheme == "data":
        return _blob_from_data(url, config, name)
    if scheme in ("", "file") or len(scheme) == 1:  # a path ("C:\\..." has a 1-letter scheme)
        return _local(url, scheme, config, name)
    if scheme in ("http", "https"):
        data = fetch(url, config.fetch, config.max_bytes)
        tail = parts.path.rsplit("/", 1)[-1]
        return Blob(data, name or tail or None, "url", url)
    raise InvalidInputError(
        f"URL scheme {scheme!r} is not supported: give a data: URL, a file path, or an "
        f"http(s) URL with media.fetch.enabled"
    )


def from_base64(text: str, config: MediaConfig, name: str | None) -> Blob:
    """Bytes given inline as base64 (or as a data: URL) in a file part's `file_data`."""
    if text.strip().lower().startswith("data:"):
        return _blob_from_data(text.strip(), config, name)
    return Blob(_b64(text, config.max_bytes), name, "data", None)


def _blob_from_data(url: str, config: MediaConfig, name: str | None) -> Blob:
    head, sep, payload = url[5:].partition(",")
    if not sep:
        raise InvalidInputError("the data: URL has no ',' before its data")
    if "base64" in [p.strip().lower() for p in head.split(";")][1:]:
        return Blob(_b64(payload, config.max_bytes), name, "data", None)
    if len(payload) > 3 * config.max_bytes:
        raise InvalidInputError(
            f"the data: URL holds more than media.max_bytes ({config.max_bytes:,})"
        )
    data = unquote_to_bytes(payload)
    _cap(len(data), config.max_bytes)
    return Blob(data, name, "data", None)


def _b64(payload: str, max_bytes: int) -> bytes:
    payload = "".join(payload.split())
    _cap(len(payload) * 3 // 4 - 2, max_bytes)  # before decoding anything
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"the base64 data is not valid base64 ({exc})") from None


def _local(url: str, scheme: str, config: MediaConfig, name: str | None) -> Blob:
    if not config.local_files:
        raise InvalidInputError(
            "local file paths and file:// URLs are not read here (media.local_files is off; "
            "it always is in `octomem serve` and MCP over HTTP, whose callers never read the "
            "server's files): pass the bytes as a data: URL or as base64 'file_data'"
        )
    path = Path(url2pathname(urlsplit(url).path) if scheme == "file" else url).expanduser()
    try:
        if not path.is_file():
            raise InvalidInputError(f"{str(path)!r} is not a file that exists")
        _cap(path.stat().st_size, config.max_bytes)
        with path.open("rb") as handle:
            data = handle.read(config.max_bytes + 1)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    _cap(len(data), config.max_bytes)
    return Blob(data, name or path.name, "file", str(path.resolve()))


def _cap(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise InvalidInputError(
            f"the file is {size:,} bytes; the limit is {max_bytes:,} (media.max_bytes)"
        )
