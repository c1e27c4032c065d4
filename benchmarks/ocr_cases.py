"""The images `benchmarks.ocr` reads and how its readings are scored: screenshot-like
windows rendered with Pillow in each font found on this machine, sizes and light/dark
themes; one line cut tight; two 2-megapixel screens; a 300 dpi scanned letter page; the
images the tests build (tests/media_files.py), also as a scanned PDF page. Scores:
character and word error rates (edit distance over the reference's length), lines lost."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
FONTS = {  # name: file name (searched under FONT_DIRS); absent ones are skipped
    "DejaVu Sans": "DejaVuSans.ttf",
    "DejaVu Serif": "DejaVuSerif.ttf",
    "DejaVu Sans Mono": "DejaVuSansMono.ttf",
    "Liberation Sans": "LiberationSans-Regular.ttf",
    "Liberation Serif": "LiberationSerif-Regular.ttf",
    "Noto Sans": "NotoSans-Regular.ttf",
    "Pillow default": "",  # ImageFont.load_default(size): Aileron, inside Pillow
}
SIZES = (12, 14, 16, 20, 28)
THEMES = {"light": ("white", "#e8e8e8", "black"), "dark": ("#1e1e1e", "#333333", "#d4d4d4")}
WINDOW: list[str | tuple[str, str]] = [
    "Incident 4471 checkout latency",
    "Contact on-call engineer: Bartholomew Finch",
    ("Owner: Priya Raman", "Severity: high"),
    "Escalation: page the payments team after 15 min",
    "Runbook: wiki.example.com/payments/latency",
    "Last deploy 2026-03-14 09:42 UTC by jmorales",
    "Error budget left: 37.5% (quarter to date)",
]
WORDS = (
    "invoice refund quarterly Lisbon meeting dentist Thursday password backup server "
    "deploy review budget Ingrid flight gate 14B parcel tracking number renewal policy "
    "allergy peanuts address Rua Augusta 221 Marlowe garage level spot Q17 ferry noon "
    "contract signed March payroll Friday standup 09:30 release notes v2.4.1 ticket "
    "OPS-1182 owner Priya escalation timeout 30s retry queue latency p99 218ms"
).split()


@dataclass(frozen=True)
class Case:
    group: str  # the table row it counts in
    name: str
    pixels: Any  # RGB uint8 array
    lines: tuple[str, ...]  # the text, one entry per row, as OCR should give it
    cells: tuple[str, ...] = ()  # the rows' columns, each counted lost or not (else rows)


def font_path(file: str) -> Path | None:
    for folder in FONT_DIRS:
        if folder.is_dir():
            found = next(folder.rglob(file), None)
            if found:
                return found
    return None


def _font(name: str, size: int) -> Any:
    from PIL import ImageFont

    if not FONTS[name]:
        return ImageFont.load_default(size=size)
    path = font_path(FONTS[name])
    return ImageFont.truetype(str(path), size) if path else None


def window(font: Any, size: int, theme: str, rows: Sequence[Any] = WINDOW) -> Any:
    """A window: a title bar, then rows of text (a pair is two columns)."""
    from PIL import Image, ImageDraw

    back, bar, ink = THEMES[theme]
    pitch = int(size * 1.7)
    width = max(900, int(font.getlength(max(map(str, rows), key=len)) * 1.6) + 60)
    image = Image.new("RGB", (width, pitch * (len(rows) + 1) + 20), back)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, pitch + 4), fill=bar)
    for i, row in enumerate(rows):
        y = 8 + pitch * (i + 1 if i else 0) + (6 if i else 0)
        cells = row if isinstance(row, tuple) else (row,)
        for j, cell in enumerate(cells):
            draw.text((24 + j * width // 2, y), cell, fill=ink, font=font)
    return np.asarray(image)


def strip(font: Any, text: str, theme: str) -> Any:
    """One line cut tight out of a screen (4 pixels around its text)."""
    from PIL import Image, ImageDraw

    back, _, ink = THEMES[theme]
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 8, bottom - top + 8), back)
    ImageDraw.Draw(image).text((4 - left, 4 - top), text, fill=ink, font=font)
    return np.asarray(image)


def screen(font: Any, theme: str, seed: int) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
    """A 1920 x 1080 screen of two panes of 14-pixel text, 42 rows each."""
    from PIL import Image, ImageDraw

    back, bar, ink = THEMES[theme]
    rnd = random.Random(seed)
    image = Image.new("RGB", (1920, 1080), back)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1920, 30), fill=bar)
    lines, cells = [], []
    for i in range(42):
        y = 40 + 24 * i
        left = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 8)))
        right = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 8)))
        draw.text((20, y), left, fill=ink, font=font)
        draw.text((980, y), right, fill=ink, font=font)
        lines.append(f"{left} {right}")
        cells += [left, right]
    return np.asarray(image), tuple(lines), tuple(cells)


def cases(fonts: Sequence[str], sizes: Sequence[int]) -> Iterator[Case]:
    for name in fonts:
        for size in sizes:
            font = _font(name, size)
            if font is None:
                continue
            rows = tuple(" ".join(r) if isinstance(r, tuple) else r for r in WINDOW)
            cells = tuple(c for r in WINDOW for c in (r if isinstance(r, tuple) else (r,)))
            for theme in THEMES:
                pixels = window(font, size, theme)
                yield Case(f"{size} px", f"{name} {size} {theme}", pixels, rows, cells)
            if size <= 16:
                line = WINDOW[1]
                assert isinstance(line, str)
                pixels = strip(font, line, "light")
                yield Case("one line, cut tight", f"{name} {size} strip", pixels, (line,))
    for seed, theme in enumerate(THEMES):
        font = _font("DejaVu Sans", 14) or _font("Pillow default", 14)
        pixels, lines, cells = screen(font, theme, seed)
        yield Case("2 MP screen", f"1920x1080 {theme}", pixels, lines, cells)
    font = _font("DejaVu Serif", 42) or _font("Pillow default", 42)
    yield Case("300 dpi scanned page", "letter page", *scanned_page(font))
    yield from test_images()


def scanned_page(font: Any, seed: int = 7) -> tuple[Any, tuple[str, ...]]:
    """A letter page of 40 lines at 300 dpi (12 pt), as a PDF holds a scan: the page's
    pixels as pypdf decodes them from the PDF Pillow writes."""
    from PIL import Image, ImageDraw
    from pypdf import PdfReader

    rnd = random.Random(seed)
    image = Image.new("RGB", (2550, 3300), "white")
    draw = ImageDraw.Draw(image)
    lines = tuple(" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 12))) for _ in range(40))
    for i, line in enumerate(lines):
        draw.text((250, 250 + 70 * i), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=300.0)
    page = PdfReader(io.BytesIO(out.getvalue())).pages[0].images[0].image
    assert page is not None
    return np.asarray(page.convert("RGB")), lines


def test_images() -> Iterator[Case]:
    """The images tests/media_files.py builds (Pillow's default font at 36 px), as the
    tests send them (PNG, JPEG) and as the page of a scanned PDF."""
    from PIL import Image
    from pypdf import PdfReader

    from tests.media_files import render, scanned_pdf

    sets = [
        ["Parking level 4 spot Q17", "Marlowe Street garage"],
        ["Wifi password: Quokka7731Zephyr"],
        ["Contact on-call engineer: Bartholomew Finch", "Standup moved to 09:30"],
    ]
    for lines in sets:
        for fmt in ("PNG", "JPEG"):
            pixels = np.asarray(Image.open(io.BytesIO(render(lines, fmt))).convert("RGB"))
            yield Case("tests' images", f"{fmt} {lines[0][:20]}", pixels, tuple(lines))
        page = PdfReader(io.BytesIO(scanned_pdf(lines))).pages[0]
        image = page.images[0].image
        assert image is not None
        pixels = np.asarray(image.convert("RGB"))
        yield Case("tests' images", f"PDF {lines[0][:20]}", pixels, tuple(lines))


def distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance between two sequences (one numpy row at a time)."""
    if not a or not b:
        return len(a) or len(b)
    ids: dict[Any, int] = {}
    left = np.array([ids.setdefault(x, len(ids)) for x in a])
    right = np.array([ids.setdefault(x, len(ids)) for x in b])
    steps = np.arange(len(right) + 1)
    row = steps.copy()
    for i, x in enumerate(left, 1):
        best = np.minimum(row[:-1] + (right != x), row[1:] + 1)  # substitute, delete
        best = np.concatenate(([i], best))
        row = np.minimum.accumulate(best - steps) + steps  # insert: from the left
    return int(row[-1])


@dataclass
class Score:
    chars: int = 0
    char_errors: int = 0
    words: int = 0
    word_errors: int = 0
    lines: int = 0
    lost: int = 0
    seconds: float = 0.0
    images: int = 0

    def add(self, case: Case, read: str, seconds: float) -> None:
        ref = "\n".join(" ".join(line.split()) for line in case.lines)
        got = "\n".join(" ".join(line.split()) for line in read.splitlines() if line.strip())
        self.chars += len(ref)
        self.char_errors += distance(ref, got)
        self.words += len(ref.split())
        self.word_errors += distance(ref.split(), got.split())
        cells = case.cells or case.lines
        self.lines += len(cells)
        self.lost += sum(lost(cell, got.splitlines()) for cell in cells)
        self.seconds += seconds
        self.images += 1

    def row(self) -> str:
        return (
            f"{100 * self.char_errors / max(self.chars, 1):.1f} | "
            f"{100 * self.word_errors / max(self.words, 1):.1f} | {self.lost}/{self.lines} | "
            f"{self.seconds / max(self.images, 1):.2f}"
        )


def _grams(text: str) -> set[str]:
    text = "".join(text.lower().split())
    return {text[i : i + 3] for i in range(max(len(text) - 2, 1))}


def lost(line: str, read: Sequence[str]) -> bool:
    """Whether no line read holds half of the line's (or column's) character trigrams
    (spaces ignored): a line dropped, not one misspelt or run together."""
    grams = _grams(line)
    return not any(len(grams & _grams(got)) * 2 >= len(grams) for got in read)
