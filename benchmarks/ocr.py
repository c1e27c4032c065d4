"""OCR's character and word error rates, lines lost and seconds per image, before and after
(the settings of octomem.media.ocr against RapidOCR's defaults as octomem used them
until then), side by side in one run; `--levers` adds one row per setting tried. The
images: benchmarks/ocr_cases.py. Where the 2-megapixel screen's time goes: `--stages`.

    python -m benchmarks.ocr                       # before / after, every font found
    python -m benchmarks.ocr --levers --sizes 12,16,28
    python -m benchmarks.ocr --stages
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.ocr_cases import FONTS, SIZES, Case, Score, cases, screen
from octomem.media import ocr
from octomem.media.ocr import SETTINGS, OcrSettings

Reader = Callable[[Any], str]
_DEFAULT_ENGINE: list[Any] = []


def _default_engine() -> Any:
    if not _DEFAULT_ENGINE:
        from rapidocr_onnxruntime import RapidOCR

        _DEFAULT_ENGINE.append(RapidOCR())
    return _DEFAULT_ENGINE[0]


def before(pixels: Any, *, classify: bool = True) -> str:
    """octomem's OCR until this benchmark: RapidOCR's defaults (the shortest side scaled
    up to 736 pixels for detection, the angle classifier on, each line read as detection
    cut it) on the RGB array as if it were BGR, lines under 0.5 left out, one line per box."""
    result, _ = _default_engine()(pixels, use_cls=classify)
    lines = [(box, text) for box, text, score in result or [] if float(score) >= 0.5]
    lines.sort(key=lambda item: (round(item[0][0][1] / 12), item[0][0][0]))
    return "\n".join(text.strip() for _, text in lines if text.strip())


def with_settings(settings: OcrSettings) -> Reader:
    return lambda pixels: ocr.read_text(pixels, settings)


LEVERS: dict[str, dict[str, Any]] = {  # name: the shipped settings with one change
    "det_side 960": {"det_side": 960},
    "det_side 2000": {"det_side": 2000},
    "line_height 0 (RapidOCR's own resize)": {"line_height": 0},
    "line_height 32": {"line_height": 32},
    "line_height 64": {"line_height": 64},
    "angle classifier on": {"classify": True},
    "min_score 0.3": {"min_score": 0.3},
    "box_thresh 0.3": {"box_thresh": 0.3},
    "unclip_ratio 2.0": {"unclip_ratio": 2.0},
}


def readers(levers: bool) -> dict[str, Reader]:
    found: dict[str, Reader] = {"before": before}
    if levers:
        found["before, angle classifier off"] = lambda pixels: before(pixels, classify=False)
    found["after"] = with_settings(SETTINGS)
    if levers:
        for name, change in LEVERS.items():
            found[name] = with_settings(dataclasses.replace(SETTINGS, **change))
    return found


def run(all_cases: Sequence[Case], named: dict[str, Reader], show: bool) -> None:
    scores: dict[str, dict[str, Score]] = {name: defaultdict(Score) for name in named}
    for read in named.values():
        read(all_cases[0].pixels)  # warm-up: loads the models
    for case in all_cases:
        for name, read in named.items():
            started = time.perf_counter()
            text = read(case.pixels)
            seconds = time.perf_counter() - started
            scores[name][case.group].add(case, text, seconds)
            scores[name]["all"].add(case, text, seconds)
            if show:
                print(f"--- {name} | {case.name}\n{text}")
    groups = list(dict.fromkeys(case.group for case in all_cases)) + ["all"]
    header = "| images | CER % | WER % | lines lost | s/image |\n|---|---|---|---|---|"
    for name in named:
        print(f"\n{name}\n{header}")
        for group in groups:
            print(f"| {group} ({scores[name][group].images}) | {scores[name][group].row()} |")
    print(f"\nall images\n{header.replace('images', 'setting', 1)}")
    for name in named:
        print(f"| {name} | {scores[name]['all'].row()} |")


def stages(rounds: int) -> None:
    """Where the 2-megapixel screen's time goes, before and after (and after with the
    other detection sizes), interleaved `rounds` times; the medians at the end, and the
    median of each round's ratio to before (a busy machine slows a whole round)."""
    from benchmarks.ocr_cases import _font

    pixels, _, _ = screen(_font("DejaVu Sans", 14) or _font("Pillow default", 14), "light", 0)
    sides = {"after": SETTINGS} | {
        f"after, det_side {side}": dataclasses.replace(SETTINGS, det_side=side)
        for side in (960, 2000)
        if side != SETTINGS.det_side
    }
    before(pixels)
    for settings in sides.values():
        ocr.read_text(pixels, settings)
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        started = time.perf_counter()
        _, (det, cls, rec) = _default_engine()(pixels)
        times["before"].append(time.perf_counter() - started)
        print(
            f"before: {times['before'][-1]:.2f} s: detection {det:.2f}, angle classifier "
            f"{cls:.2f}, recognition {rec:.2f}"
        )
        for name, settings in sides.items():
            started = time.perf_counter()
            boxes = ocr.detect(pixels, settings)
            det = time.perf_counter() - started
            lines = ocr.recognise(pixels, boxes, settings)
            times[name].append(time.perf_counter() - started)
            print(
                f"{name}: {times[name][-1]:.2f} s: detection {det:.2f} ({len(boxes)} boxes), "
                f"recognition {times[name][-1] - det:.2f} ({len(lines)} lines)"
            )
    for name, values in times.items():
        ratio = statistics.median(t / b for t, b in zip(values, times["before"], strict=True))
        print(
            f"median {name}: {statistics.median(values):.2f} s; median of the rounds' "
            f"ratios to before: {ratio:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fonts", default=",".join(FONTS), help="comma-separated names")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="pixels")
    parser.add_argument("--levers", action="store_true", help="one row per setting tried")
    parser.add_argument("--stages", type=int, default=0, metavar="ROUNDS", nargs="?", const=3)
    parser.add_argument("--show", action="store_true", help="print what each setting read")
    args = parser.parse_args()
    if args.stages:
        stages(args.stages)
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    all_cases = list(cases(args.fonts.split(","), sizes))
    found = sorted({case.name.rsplit(" ", 2)[0] for case in all_cases if " px" in case.group})
    print(f"{len(all_cases)} images; fonts found: {', '.join(found)}")
    np.seterr(all="ignore")
    run(all_cases, readers(args.levers), args.show)


if __name__ == "__main__":
    main()
