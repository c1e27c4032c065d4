"""`octomem ingest` of a folder of PDFs and images: the seconds per file by kind (from the
report's `seconds`), and how many cores the run keeps busy (its CPU time over its wall
time), which bounds what reading several files at once could gain.

    python -m benchmarks.ingest_folder [--pdfs 10] [--pages 10] [--images 6] [--scans 2]

Needs octomem[media]. The folder: text PDFs of `--pages` pages of 40 lines, PNGs of three
rendered lines (OCR), one-page scans (OCR of a PDF's image). Model loading is not timed:
one image and one PDF are ingested first, into another folder.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from octomem import Orchestrator
from tests.media_files import make_pdf, render, scanned_pdf

WORDS = "boiler quince tram garden invoice lisbon budget tenant harbour ferry lantern".split()


def build(folder: Path, pdfs: int, pages: int, images: int, scans: int) -> None:
    rng = random.Random(2)
    folder.mkdir(parents=True)
    for i in range(pdfs):
        text = [
            "\n".join(" ".join(rng.choices(WORDS, k=12)) + "." for _ in range(40))
            for _ in range(pages)
        ]
        (folder / f"doc{i:03}.pdf").write_bytes(make_pdf(text))
    for i in range(images):
        lines = [f"Parking level {i} spot Q{i}7", f"The ferry leaves at {i + 3}", f"Invoice 44{i}1"]
        (folder / f"photo{i:03}.png").write_bytes(render(lines))
    for i in range(scans):
        (folder / f"scan{i:03}.pdf").write_bytes(scanned_pdf([f"Tenant renewal {i}", "Lot 5521"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    for name, default in (("pdfs", 10), ("pages", 10), ("images", 6), ("scans", 2)):
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Orchestrator.from_config(data_dir=tmp) as orch:
        build(Path(tmp) / "warm", 1, 1, 1, 0)
        orch.ingest(Path(tmp) / "warm", user_id="warm-up")
        build(Path(tmp) / "files", args.pdfs, args.pages, args.images, args.scans)
        wall, cpu = time.perf_counter(), time.process_time()
        report = orch.ingest(Path(tmp) / "files", user_id="bench")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert not report.skipped, report.skipped
    print(f"{len(report.added)} files, {report.memories} memories: {wall:.1f} s wall, ", end="")
    print(f"{cpu:.1f} s CPU: {cpu / wall:.2f} cores busy on average")
    for kind, prefix in (("text PDF", "doc"), ("image (OCR)", "photo"), ("scan (OCR)", "scan")):
        times = [s for path, s in report.seconds.items() if path.startswith(prefix)]
        if times:
            print(f"{kind}: {sum(times) / len(times):.2f} s a file ({len(times)} files)")


if __name__ == "__main__":
    main()
