"""Throughput of reading media on this machine, and recall of facts rendered into images
(needs octomem[media]):

    PYTHONPATH=. python tests/media_throughput.py [--images 10] [--pages 100]

- OCR: images/s over PNGs of 3 rendered lines (1000 x 290), after one warm-up image;
- PDF text: pages/s of pypdf over a PDF of `--pages` pages of ~40 lines each;
- scanned PDF: pages/s of OCR over image-only pages;
- recall: each image says one made-up fact; recall@3 of a question per fact.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from octomem import Orchestrator
from octomem.media.images import read_image
from octomem.media.pdf import read_pdf
from tests.media_files import data_url, make_pdf, render, scanned_pdf

PLACES = ["Vrindavelle", "Quarnholt", "Ostrelune", "Bexmoor", "Taviskey", "Yellingford"]
FACTS = [
    (f"Locker {100 + i} code is at {place} station", f"where is locker {100 + i}?", place)
    for i, place in enumerate(PLACES)
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()

    images = [
        render([f"Receipt number {i}", "Harbour cafe 12.40 EUR", "Thank you"])
        for i in range(args.images)
    ]
    read_image(images[0], max_pixels=10**8, ocr=True)  # warm-up: loads the models
    start = time.perf_counter()
    for image in images:
        read_image(image, max_pixels=10**8, ocr=True)
    ocr_s = time.perf_counter() - start
    print(f"OCR: {args.images / ocr_s:.2f} images/s ({ocr_s / args.images * 1000:.0f} ms each)")

    page = "\n".join(f"Line {n}: the quarterly figures for the northern region." for n in range(40))
    pdf = make_pdf([page] * args.pages)
    start = time.perf_counter()
    count = read_pdf(pdf, max_pages=10**6, max_pixels=10**8, ocr=False).count
    text_s = time.perf_counter() - start
    print(f"PDF text (pypdf): {count / text_s:.0f} pages/s ({count} pages in {text_s:.2f} s)")

    scans = [scanned_pdf([f"Scanned page {i}", "Invoice 2291"]) for i in range(3)]
    start = time.perf_counter()
    for scan in scans:
        read_pdf(scan, max_pages=10, max_pixels=10**8, ocr=True)
    scan_s = time.perf_counter() - start
    print(f"scanned PDF (OCR): {len(scans) / scan_s:.2f} pages/s")

    with tempfile.TemporaryDirectory() as tmp, Orchestrator.from_config(data_dir=tmp) as orch:
        for text, _, _ in FACTS:
            url = data_url(render([text]), "image/png")
            orch.process(
                [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
                user_id="bench",
            )
        found = 0
        for _, question, place in FACTS:
            hits = orch.recall(question, user_id="bench", limit=3).hits
            found += any(place in hit.text for hit in hits)
        print(f"recall@3 of facts rendered into images: {found}/{len(FACTS)}")


if __name__ == "__main__":
    main()
