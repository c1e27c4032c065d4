"""Text in pixels, by OCR: RapidOCR on ONNX Runtime (its models are inside its wheel).

Two steps, so that neither works at the wrong size (docs/benchmarks.md#ocr-of-images):
detection finds the text lines on the image scaled down to at most `det_side` pixels on
its longest side, never up; then each line is cut out of the full-size image, scaled up
to `line_height` pixels when it is lower (the recogniser reads 48-pixel lines; small
screenshot text scaled up by its own plain resize loses the gaps between words) and read
alone, without RapidOCR's angle classifier (it turned about one line in 14 of a screen
upside down, which then read as garbage and was left out). Boxes on one row are joined
into one line, rows go top to bottom.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from octomem.errors import InvalidInputError


@dataclass(frozen=True)
class OcrSettings:
    det_side: int = 1280  # detection's longest side (pixels): larger images are scaled down
    line_height: int = 48  # lines lower than this (pixels) are scaled up to it to be read
    min_score: float = 0.5  # lines read with less confidence are left out
    box_thresh: float = 0.5  # detection: the least mean score of a kept box
    unclip_ratio: float = 1.6  # detection: how far a box is grown around its text
    classify: bool = False  # the angle classifier (turns lines it finds upside down)


SETTINGS = OcrSettings()


@dataclass(frozen=True)
class Line:
    box: Any  # 4 x 2 float array, clockwise from the top left, in the image's pixels
    text: str
    score: float


_ENGINES: dict[int, Any] = {}
_LOCK = threading.Lock()  # engines made once each; one OCR run at a time


def read_text(pixels: Any, settings: OcrSettings = SETTINGS) -> str:
    """The text an RGB array shows, one line per row of text, top to bottom."""
    return "\n".join(rows(recognise(pixels, detect(pixels, settings), settings)))


def detect(pixels: Any, settings: OcrSettings = SETTINGS) -> list[Any]:
    """The boxes of the text lines in an RGB array (4 x 2 arrays, image pixels)."""
    bgr = np.ascontiguousarray(np.asarray(pixels)[..., ::-1])  # RapidOCR reads BGR
    engine = _engine(settings.det_side)
    with _LOCK:
        boxes, _ = engine(
            bgr,
            use_cls=False,
            use_rec=False,
            box_thresh=settings.box_thresh,
            unclip_ratio=settings.unclip_ratio,
        )
    return [np.asarray(box, dtype=np.float32) for box in boxes or []]


def recognise(pixels: Any, boxes: list[Any], settings: OcrSettings = SETTINGS) -> list[Line]:
    """What each box says, read from the full-size image; lines read with less than
    `min_score` confidence are left out."""
    bgr = np.ascontiguousarray(np.asarray(pixels)[..., ::-1])
    engine = _engine(settings.det_side)
    lines = []
    for box in boxes:
        crop = _cut(bgr, box, settings.line_height)
        with _LOCK:
            found, _ = engine(crop, use_det=False, use_cls=settings.classify)
        if found:
            text, score = found[0][0].strip(), float(found[0][1])
            if text and score >= settings.min_score:
                lines.append(Line(box, text, score))
    return lines


def rows(lines: list[Line]) -> list[str]:
    """The lines' text in reading order: a box whose middle lies within the height of the
    row's first box is on that row (joined left to right with a space)."""
    ordered = sorted(lines, key=lambda line: (float(line.box[:, 1].min()), float(line.box[0, 0])))
    grouped: list[list[Line]] = []
    for line in ordered:
        middle = float(line.box[:, 1].mean())
        if grouped:
            first = grouped[-1][0].box[:, 1]
            if float(first.min()) <= middle <= float(first.max()):
                grouped[-1].append(line)
                continue
        grouped.append([line])
    return [
        " ".join(line.text for line in sorted(row, key=lambda line: float(line.box[0, 0])))
        for row in grouped
    ]


def _cut(bgr: Any, box: Any, line_height: int) -> Any:
    """The box cut out of the image, straightened, scaled up to `line_height` if lower."""
    import cv2

    width = float(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[3] - box[2])))
    height = float(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    scale = max(1.0, line_height / max(height, 1.0))
    size = (max(int(width * scale), 1), max(int(height * scale), 1))
    target = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), target)
    crop = cv2.warpPerspective(
        bgr, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if size[1] >= 1.5 * size[0]:  # a vertical line: read it turned
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def _engine(det_side: int) -> Any:
    with _LOCK:
        if det_side not in _ENGINES:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError:
                raise InvalidInputError(
                    "OCR needs RapidOCR: pip install 'octomem[media]'"
                ) from None
            _ENGINES[det_side] = RapidOCR(det_limit_type="max", det_limit_side_len=det_side)
        return _ENGINES[det_side]
