"""An import reads its file line by line within bounds: an endless or oversized export is
refused with an error naming the line, before memory runs out; valid files import as
they always did however the stream hands them over."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.errors import InvalidInputError
from octomem.settings import load_settings
from tests.conftest import T0

HEADER = json.dumps({"type": "header", "format": "octomem-export", "version": 1}) + "\n"


class _Endless:
    """A stream that never ends (like /dev/zero or a FIFO nobody closes): reading all of
    it is a bug, so a read without a size fails the test instead of eating the memory."""

    def __init__(self, first: str, repeat: str) -> None:
        self.pending, self.repeat = first, repeat

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            raise AssertionError("the whole of an endless stream was asked for")
        while len(self.pending) < size:
            self.pending += self.repeat * (size // len(self.repeat) + 1)
        out, self.pending = self.pending[:size], self.pending[size:]
        return out


class _Trickle(io.RawIOBase):
    """A binary stream that hands over at most 7 bytes a read (cutting UTF-8 characters
    and lines anywhere)."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self.data.read(7 if size is None or size < 0 else min(size, 7))


def test_an_endless_line_is_refused_naming_its_line(orch: Orchestrator) -> None:
    limit = load_settings().input.max_import_line_bytes
    with pytest.raises(InvalidInputError, match=f"line 2 of the export is longer than {limit:,}"):
        orch.import_jsonl(_Endless(HEADER, "x"))  # type: ignore[arg-type]
    assert orch.stats().totals.memories == 0


def test_an_endless_file_of_short_lines_is_refused_at_the_import_bound(
    make_orch: Any,
) -> None:
    orch = make_orch(service={"max_import_bytes": 1 << 20})
    entity = json.dumps({"type": "entity", "id": "ent_x", "name": "x", "user_id": "u"}) + "\n"
    with pytest.raises(
        InvalidInputError, match=r"larger than 1,048,576 characters \(reading line \d+"
    ):
        orch.import_jsonl(_Endless(HEADER, entity))  # type: ignore[arg-type]
    assert orch.stats().graph.relations == 0


def test_a_file_of_zeros_is_refused_by_the_library_and_the_cli(
    orch: Orchestrator, tmp_path: Path
) -> None:
    """A sparse file with no line end in it: read in bounded pieces, refused at line 1."""
    limit = load_settings().input.max_import_line_bytes
    zeros = tmp_path / "zeros.jsonl"
    with zeros.open("wb") as fh:
        fh.truncate(limit + (1 << 20))
    with pytest.raises(InvalidInputError, match=f"line 1 of the export is longer than {limit:,}"):
        orch.import_jsonl(zeros)
    done = subprocess.run(
        [sys.executable, "-m", "octomem", "import", str(zeros), "--json"]
        + ["--data-dir", str(tmp_path / "cli")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "error: line 1 of the export is longer than" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_valid_export_imports_the_same_however_the_stream_cuts_it(make_orch: Any) -> None:
    source = make_orch()
    source.process("I'm Åsa. I live in Tromsø and I love smørbrød.", user_id="asa", timestamp=T0)
    out = io.StringIO()
    source.export_jsonl(out)
    whole, trickled = make_orch(), make_orch()
    expected = whole.import_jsonl(io.StringIO(out.getvalue()))
    got = trickled.import_jsonl(_Trickle(out.getvalue().encode()))  # type: ignore[arg-type]
    assert got == expected and got.memories > 0
    assert sorted(r.content for r in trickled.get_all(user_id="asa")) == sorted(
        r.content for r in whole.get_all(user_id="asa")
    )
