"""`python -m benchmarks locomo --keep DIR`: the stores are kept, and a later run over the same
data reuses each conversation already ingested - the same rankings, no turn stored
again - so recall settings can be compared without ingesting twice. LongMemEval's
question date is recall's `now`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.locomo import INGESTED, load_locomo, run_locomo
from octomem.errors import InvalidInputError
from octomem.orchestrator.engine import Orchestrator

SAMPLE = {
    "sample_id": "q1",
    "conversation": {
        "session_1_date_time": "9:00 am on 1 March, 2023",
        "session_1": [
            {"speaker": "user", "dia_id": "D1:1", "text": "I bought a toaster today."},
            {"speaker": "assistant", "dia_id": "D1:2", "text": "Enjoy your toast!"},
        ],
        "session_2_date_time": "9:00 am on 15 March, 2023",
        "session_2": [
            {"speaker": "user", "dia_id": "D2:1", "text": "I bought a blender today."},
            {"speaker": "assistant", "dia_id": "D2:2", "text": "Smoothies ahead!"},
        ],
    },
    "qa": [
        {
            "question": "What kitchen appliance did I buy 10 days ago?",
            "answer": "a blender",
            "evidence": ["D2:1"],
            "category": 2,
            "question_type": "temporal-reasoning",
        }
    ],
    "longmemeval": {"question_date": "2023/03/25 (Sat) 18:26"},
}


def test_a_kept_run_is_reused_with_the_same_rankings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "lme.json"
    data.write_text(json.dumps([SAMPLE]))
    [conv] = load_locomo(data)
    assert conv.questions[0].asked_at is not None and conv.questions[0].asked_at.day == 25
    keep = tmp_path / "keep"
    first, _, _ = run_locomo(data, with_mem0=False, data_dir=keep, log=lambda _: None)
    assert (keep / "octomem" / "q1" / INGESTED).is_file()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a kept conversation was ingested again")

    monkeypatch.setattr(Orchestrator, "process", refuse)
    again, _, _ = run_locomo(data, with_mem0=False, data_dir=keep, log=lambda _: None)
    assert [a.ranks for a in again.answers] == [a.ranks for a in first.answers]
    by_system = {a.system: a.ranks for a in first.answers}
    assert by_system["octomem"] == {"D2:1": 1}  # asked on 25 March: 10 days ago
    assert by_system["bm25"]  # the baselines read the kept turns too


def test_a_kept_directory_ingested_otherwise_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "lme.json"
    data.write_text(json.dumps([SAMPLE]))
    keep = tmp_path / "keep"
    run_locomo(data, with_mem0=False, data_dir=keep, log=lambda _: None)
    with pytest.raises(InvalidInputError, match="ingested otherwise"):
        run_locomo(data, with_mem0=False, data_dir=keep, infer=True, log=lambda _: None)
