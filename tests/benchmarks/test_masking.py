"""`python -m benchmarks.masking` counts the texts of a benchmark file the masker changes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from benchmarks import masking


def test_it_counts_and_shows_the_texts_masked_in_plain_and_gzipped_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "conv.json"
    plain.write_text(
        json.dumps([{"conversation": {"session_1": [{"text": "my password, Orchid4455Lake"}]}}])
    )
    zipped = tmp_path / "qs.json.gz"
    with gzip.open(zipped, "wt") as file:
        json.dump([{"question": "q", "turns": [{"content": "The monthly pass: $156.00"}]}], file)
    masking.main([str(plain), str(zipped)])
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "1 of 2 texts masked (50.000%)"
    assert "[MASKED password]" in out and "Orchid4455Lake" not in out


def test_worst_times_every_crafted_shape(capsys: pytest.CaptureFixture[str]) -> None:
    masking.main(["--worst", "2000"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(masking.WORST)
    assert all(line.split()[1] == "s" and float(line.split()[0]) >= 0 for line in lines)
