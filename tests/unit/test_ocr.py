"""OCR of screenshot text (octomem.media.ocr): small text keeps its words apart and every
line; boxes on one row become one line, rows go top to bottom."""

from __future__ import annotations

import numpy as np
import pytest

from octomem.media import ocr
from octomem.media.images import read_image
from tests.media_files import needs, screenshot

LINES = [
    "Contact on-call engineer: Bartholomew Finch",
    "Escalation: page the payments team after 15 min",
    "Runbook: wiki.example.com/payments/latency",
    "Last deploy 2026-03-14 09:42 UTC by jmorales",
]


def box(left: float, top: float, right: float, bottom: float) -> np.ndarray:
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float32)


def test_boxes_on_one_row_are_one_line_in_reading_order() -> None:
    lines = [
        ocr.Line(box(980, 41, 1200, 59), "Severity: high", 0.9),
        ocr.Line(box(20, 72, 300, 90), "Escalation: page the team", 0.9),
        ocr.Line(box(20, 40, 260, 60), "Owner: Priya Raman", 0.9),
    ]
    assert ocr.rows(lines) == ["Owner: Priya Raman Severity: high", "Escalation: page the team"]


@pytest.mark.parametrize("size, dark", [(12, False), (14, True), (18, False)])
def test_small_screenshot_text_keeps_its_words_apart_and_every_line(size: int, dark: bool) -> None:
    needs("rapidocr_onnxruntime")
    read = read_image(screenshot(LINES, size=size, dark=dark), max_pixels=10**8, ocr=True)
    got = read.text.splitlines()
    assert read.ocr and len(got) == len(LINES) + 1  # the title bar's line, then each line
    assert got[0] == "Incident 4471"
    for want, line in zip(LINES, got[1:], strict=True):
        assert line.split() == want.split()
