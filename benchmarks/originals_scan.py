"""How often the scan of a kept original's bytes (`octomem/media/strings.py`) withholds an
ordinary file: every image and PDF under the folders given, through `holds_secret`, and
each file it would withhold. The files hold no secrets, so every one withheld is a false
positive.

    python -m benchmarks.originals_scan /usr .venv [--max-mb 20]
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from octomem.media.strings import holds_secret

KINDS = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico", ".pdf"}


def files(roots: list[str], max_bytes: int) -> Iterator[Path]:
    """Every image and PDF under `roots` (no links), up to `max_bytes` each."""
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder, name)
                if path.suffix.lower() in KINDS and not path.is_symlink():
                    try:
                        if path.stat().st_size <= max_bytes:
                            yield path
                    except OSError:
                        continue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+")
    parser.add_argument("--max-mb", type=float, default=20)
    args = parser.parse_args()
    read, withheld, size = Counter[str](), [], 0
    for path in files(args.roots, int(args.max_mb * 1e6)):
        data = path.read_bytes()
        read[path.suffix.lower()] += 1
        size += len(data)
        if holds_secret(data):
            withheld.append(path)
    print(f"{sum(read.values())} files, {size / 1e6:.1f} MB: {dict(read)}")
    print(f"withheld: {len(withheld)}")
    for path in withheld:
        print(f"  {path}")


if __name__ == "__main__":
    main()
