"""Images: format, pixel size and EXIF date from the header, text by OCR (`media.ocr`:
RapidOCR on ONNX Runtime, models inside its wheel; `pip install 'octomem[media]'`).

The pixel count is checked from the header before anything is decoded, and Pillow's own
decompression-bomb check is made an error, so a 50-megapixel image (or one that claims
to be) is refused without being decoded.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from octomem.errors import InvalidInputError

if TYPE_CHECKING:
    from PIL.Image import Image

FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
_EXIF_IFD, _DATETIME_ORIGINAL, _DATETIME = 0x8769, 36867, 306
EXTRA_HINT = "install the media extra: pip install 'octomem[media]'"


@dataclass(frozen=True)
class ImageText:
    format: str
    width: int
    height: int
    taken_at: str | None  # EXIF DateTimeOriginal (or DateTime), ISO 8601, no zone
    text: str  # what OCR read, one line per text line; "" if nothing (or OCR is off)
    ocr: bool  # whether OCR ran
    hidden: dict[str, str] = field(default_factory=dict)  # text in its metadata (`hidden_text`)


def ocr_available() -> bool:
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def read_image(data: bytes, *, max_pixels: int, ocr: bool) -> ImageText:
    """What an image is and what it says; InvalidInputError for a corrupt, truncated,
    unsupported or too large image."""
    image = open_image(data, max_pixels=max_pixels)
    try:
        taken = _exif_date(image)
        fmt, (width, height) = image.format or "?", image.size
        text, ran = "", False
        if ocr and ocr_available():
            import numpy as np

            text, ran = ocr_text(np.asarray(_decoded_image(image, keep_alpha=False))), True
        return ImageText(fmt, width, height, taken, text, ran, hidden_text(image))
    finally:
        image.close()


def vision_url(data: bytes, *, max_pixels: int, max_side: int) -> str:
    """The image as a data: URL a vision model is sent: as it is when it is a PNG, JPEG,
    GIF or WebP within `max_side` (longest side, pixels), else scaled down (or converted)
    to a PNG, or a JPEG for a photo. InvalidInputError as `open_image`."""
    image = open_image(data, max_pixels=max_pixels)
    try:
        fmt = image.format or ""
        if fmt in _SENT_AS_IS and max(image.size) <= max_side:
            return _data_url(data, _SENT_AS_IS[fmt])
        frame = _decoded_image(image)
        frame.thumbnail((max_side, max_side))
        out = io.BytesIO()
        if fmt == "JPEG":
            frame.convert("RGB").save(out, format="JPEG", quality=85)
            return _data_url(out.getvalue(), "image/jpeg")
        frame.save(out, format="PNG")
        return _data_url(out.getvalue(), "image/png")
    finally:
        image.close()


_SENT_AS_IS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def open_image(data: bytes, *, max_pixels: int) -> Image:
    """The image, opened (header read, nothing decoded) and checked against `max_pixels`."""
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise InvalidInputError(f"images need Pillow: {EXTRA_HINT}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            image = PILImage.open(io.BytesIO(data), formats=FORMATS)
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
            raise InvalidInputError(_too_large(None, max_pixels)) from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise InvalidInputError(
                f"the image cannot be read (corrupt or unsupported: {exc})"
            ) from None
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        image.close()
        raise InvalidInputError(_too_large((width, height), max_pixels))
    return image


def _decoded_image(image: Image, *, keep_alpha: bool = True) -> Image:
    """The first frame, decoded, in RGB (RGBA if it has transparency and `keep_alpha`);
    InvalidInputError if its data is truncated."""
    from PIL import Image as PILImage

    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            image.load()
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            return image.convert("RGBA" if alpha and keep_alpha else "RGB")
        except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombWarning) as exc:
            raise InvalidInputError(
                f"the image cannot be decoded (truncated or corrupt: {exc})"
            ) from None


def ocr_text(pixels: Any) -> str:
    """The text lines OCR reads in an RGB array, top to bottom (`media.ocr`)."""
    from octomem.media import ocr  # numpy and OpenCV: imported where an image is read

    return ocr.read_text(pixels)


_NOT_TEXT = frozenset({"icc_profile", "exif", "dpi", "transparency", "gamma", "aspect"})
_EXIF_TEXT_IFDS = (0x8769, 0x8825, 0xA005)  # Exif, GPS, interoperability
UNREADABLE = "\x00unreadable"  # the text of metadata (an image's, a PDF's) not readable


def hidden_text(image: Image) -> dict[str, str]:
    """The text an image holds that no pixel shows, by where it is: PNG text chunks (tEXt,
    zTXt, iTXt), comments, XMP and every EXIF string (descriptions, user comments, XP
    tags). Metadata that cannot be read is named with ``UNREADABLE`` as its text."""
    found: dict[str, str] = {}

    def add(where: str, value: Any) -> None:
        if isinstance(value, bytes):
            value = _exif_bytes(value)
        if isinstance(value, str) and value.strip("\x00 "):
            found[where] = value

    try:
        for key, value in image.info.items():
            if str(key).lower() not in _NOT_TEXT:
                add(f"info {key}", value)
        for key, value in (getattr(image, "text", None) or {}).items():
            add(f"text {key}", value)
    except Exception:  # a broken chunk: not checked
        found["info"] = UNREADABLE
    try:
        exif = image.getexif()
        tags = [("exif", dict(exif))]
        tags += [(f"exif {hex(ifd)}", dict(exif.get_ifd(ifd))) for ifd in _EXIF_TEXT_IFDS]
        for where, items in tags:
            for tag, value in items.items():
                add(f"{where} {tag}", value)
    except Exception:
        found["exif"] = UNREADABLE
    return found


def _exif_bytes(value: bytes) -> str:
    """EXIF text given as bytes: a UserComment (an 8-byte charset code, then the text), a
    Windows XP tag (UTF-16LE) or plain bytes."""
    head = value[:8]
    if head.startswith((b"ASCII", b"JIS", b"\x00\x00\x00\x00\x00\x00\x00\x00")):
        value = value[8:]
    elif head.startswith(b"UNICODE"):
        return value[8:].decode("utf-16", errors="replace")
    if len(value) > 1 and value[1::2].count(0) > len(value) // 4:  # UTF-16LE (XP tags)
        return value.decode("utf-16-le", errors="replace")
    return value.decode("utf-8", errors="replace")


def _exif_date(image: Image) -> str | None:
    try:
        exif = image.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        if not isinstance(raw, str):
            return None
        return datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except Exception:  # a malformed EXIF block only loses the date
        return None


def _too_large(size: tuple[int, int] | None, max_pixels: int) -> str:
    what = f"{size[0]:,} x {size[1]:,} pixels" if size else "too many pixels"
    return (
        f"the image is {what}; the limit is {max_pixels:,} pixels (media.max_pixels): "
        f"scale it down first"
    )
