"""`python -m benchmarks.history_recall`: builds a store whose facts have a history,
keeps it, and reports recall and each type's vector query on it, and adds on a copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import history_recall


def test_builds_a_store_with_a_history_once_and_measures_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "store"
    args = ["--messages", "60", "--queries", "3", "--data-dir", str(data_dir)]
    assert history_recall.main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["entries"]["semantic"] > 0 and first["entries"]["episodic"] >= 60
    assert {"semantic", "episodic"} <= set(first["vector_query_alone_p50_ms"])
    assert first["recall_p50_ms"] > 0 and (data_dir / history_recall.MARK).exists()
    assert history_recall.main([*args, "--adds", "2"]) == 0  # the kept store, not rebuilt
    second = json.loads(capsys.readouterr().out)
    assert second["entries"] == first["entries"]
    assert second["add_p50_ms"] > 0 and second["get_all_p50_ms"] > 0
    assert history_recall.main(args) == 0  # the adds went to a copy: the store is as built
    assert json.loads(capsys.readouterr().out)["entries"] == first["entries"]
