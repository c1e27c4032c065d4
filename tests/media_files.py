"""Images and PDFs made by the tests themselves: Pillow renders known text into PNG and
JPEG; a small PDF writer puts known text on known pages (and makes the broken ones)."""

from __future__ import annotations

import base64
import io

import pytest


def needs(module: str) -> None:
    """Skip the calling test when an optional module (of octomem[media]) is missing."""
    pytest.importorskip(module, reason=f"needs {module}: pip install 'octomem[media]'")


def render(lines: list[str], fmt: str = "PNG", *, exif_date: str | None = None) -> bytes:
    """An image with `lines` of black text on white, as PNG or JPEG bytes."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=36)
    image = Image.new("RGB", (1000, 80 + 70 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 40 + 70 * i), line, fill="black", font=font)
    out = io.BytesIO()
    kwargs = {}
    if exif_date:
        exif = Image.Exif()
        exif[306] = exif_date  # DateTime, "YYYY:MM:DD HH:MM:SS"
        kwargs["exif"] = exif
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def screenshot(lines: list[str], *, size: int = 14, dark: bool = False) -> bytes:
    """A PNG like a screenshot of a window: `lines` of small text (Pillow's own font at
    `size` pixels) under a title bar, on white or, `dark`, light grey on near black."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    back, bar, ink = ("#1e1e1e", "#333333", "#d4d4d4") if dark else ("white", "#e8e8e8", "black")
    pitch = int(size * 1.7)
    image = Image.new("RGB", (900, pitch * (len(lines) + 1) + 20), back)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 900, pitch + 4), fill=bar)
    draw.text((24, 8), "Incident 4471", fill=ink, font=font)
    for i, line in enumerate(lines, 1):
        draw.text((24, 14 + pitch * i), line, fill=ink, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per entry of `pages`, each line of it drawn in Helvetica."""
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree; filled in below
    font = len(objects) + 1
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for text in pages:
        ops = ["BT /F1 14 Tf 16 TL 72 760 Td"]
        ops += [f"({_escape(line)}) Tj T*" for line in text.split("\n")]
        stream = ("\n".join(ops) + "\nET").encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (content, font)
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    return _assemble(objects)


def cff_font_pdf(pages: list[str]) -> bytes:
    """A PDF whose pages are drawn in a Type1 font embedded as CFF (/FontFile3 /Type1C):
    without fontTools installed, pypdf warns once per page it reads the text of, each
    warning holding the whole font dictionary."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    objects.append(b"<< /Length 4 /Subtype /Type1C >>\nstream\nxxxx\nendstream")
    objects.append(b"<< /Type /FontDescriptor /FontName /Cff /Flags 32 /FontFile3 3 0 R >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Cff /FontDescriptor 4 0 R >>")
    kids = []
    for text in pages:
        stream = f"BT /F1 14 Tf 72 760 Td ({_escape(text)}) Tj ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>" % len(objects)
        )
        kids.append(len(objects))
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    return _assemble(objects)


def many_pages_pdf(count: int) -> bytes:
    """A PDF of `count` empty pages (all sharing one page dictionary's shape)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for _ in range(count):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
        kids.append(len(objects))
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, count)
    return _assemble(objects)


def _assemble(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def encrypted_pdf(pages: list[str], password: str = "s3cret-pw") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(pages))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf(lines: list[str]) -> bytes:
    """A one-page PDF that is only an image of `lines` (no text layer), as a scanner makes."""
    from PIL import Image

    image = Image.open(io.BytesIO(render(lines)))
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=100.0)
    return out.getvalue()
