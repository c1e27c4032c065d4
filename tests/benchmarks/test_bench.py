"""The benchmark's metric and output shapes, on hand-made cases (no timing, no data set)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.locomo import (
    Conversation,
    Question,
    load_locomo,
    messages_of,
    parse_session_date,
    run_locomo,
)
from benchmarks.locomo_report import locomo_markdown, rows_of, type_rows_of
from benchmarks.locomo_scores import Answer, Scores
from benchmarks.metrics import evidence_ranks, parse_evidence, recall_at_k, recall_from_ranks
from benchmarks.perf import _ratios, percentile
from benchmarks.report import write_json
from octomem.errors import InvalidInputError


def test_recall_at_k_by_hand() -> None:
    ranked = [["D1:1"], ["D2:3"], ["D1:2", "D1:3"], [], ["D4:4"]]
    evidence = ["D1:3", "D4:4"]
    assert recall_at_k(evidence, ranked, 1) == 0.0
    assert recall_at_k(evidence, ranked, 3) == 0.5  # a hit from two turns counts as both
    assert recall_at_k(evidence, ranked, 5) == 1.0
    assert recall_at_k(evidence, ranked, 25) == 1.0  # fewer hits than k


def test_recall_counts_each_evidence_turn_once() -> None:
    ranked = [["D1:1"], ["D1:1"], ["D1:1"]]
    assert recall_at_k(["D1:1", "D1:2"], ranked, 3) == 0.5


def test_recall_needs_evidence_and_a_positive_k() -> None:
    with pytest.raises(InvalidInputError, match="without evidence"):
        recall_at_k([], [["D1:1"]], 5)
    with pytest.raises(InvalidInputError, match="at least 1"):
        recall_at_k(["D1:1"], [["D1:1"]], 0)


def test_a_run_with_no_conversations_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "locomo.json"
    data.write_text("[]", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="no conversations to run"):
        run_locomo(data, with_mem0=False, data_dir=tmp_path / "data")
    assert not (tmp_path / "data").exists()  # refused before anything was set up


def test_parse_evidence_fixes_malformed_ids() -> None:
    known = {"D8:6", "D9:17", "D11:26"}
    assert parse_evidence(["D8:6; D9:17"], known) == ["D8:6", "D9:17"]
    assert parse_evidence(["D:11:26", "D", "D10:19"], known) == ["D11:26"]
    assert parse_evidence(["D8:6", "D8:6"]) == ["D8:6"]


def test_session_dates_parse() -> None:
    assert parse_session_date("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert parse_session_date("10:37 am on 27 June, 2023").hour == 10


def test_load_locomo_reads_sessions_and_questions(tmp_path: Path) -> None:
    sample = {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bo",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a cat."},
                {"speaker": "Bo", "dia_id": "D1:2", "text": "Cute!", "blip_caption": "a cat"},
            ],
            "session_2_date_time": "2:00 pm on 9 May, 2023",  # a date without a session
        },
        "qa": [
            {
                "question": "What did Ann adopt?",
                "answer": "a cat",
                "evidence": ["D1:1"],
                "category": 4,
            },
            {"question": "?", "answer": "x", "evidence": [], "category": 1},
            {
                "question": "Adversarial?",
                "adversarial_answer": "x",
                "evidence": ["D1:2"],
                "category": 5,
            },
        ],
        "observation": {"never": "read"},
    }
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([sample]))
    [conv] = load_locomo(path)
    assert len(conv.sessions) == 1 and conv.sessions[0][1].day == 8
    assert [(q.text, q.category, q.evidence) for q in conv.questions] == [
        ("What did Ann adopt?", 4, ["D1:1"])
    ]
    assert conv.skipped == 1


def test_json_rows_have_the_documented_shape(tmp_path: Path) -> None:
    scores = Scores()
    conv = Conversation("conv-x", [], [Question("q", 2, ["D1:1"])])
    scores.add(Answer("octomem", conv.sample_id, 0, 2, None, {"D1:1": 7}))  # R@5 0, R@10 1
    rows = rows_of(scores, ["octomem"])
    path = tmp_path / "out.json"
    write_json(path, rows)
    data = json.loads(path.read_text())
    expected = {"system": "octomem", "k": 10, "category": "all", "recall": 1.0}
    assert any(expected.items() <= row.items() for row in data["results"])
    for row in data["results"]:
        assert {"system", "k", "category", "recall"} <= row.keys()
        assert row["category"] == "all" or row["category"] in (1, 2, 3, 4)
    assert {(r["k"], r["category"]) for r in data["results"]} == {
        (k, c) for k in (5, 10, 25) for c in ("all", 2)
    }


def test_ranks_give_the_same_recall_as_the_ranked_turns() -> None:
    ranked = [["D1:1"], ["D2:3"], ["D1:2", "D1:3"], [], ["D4:4"], ["D1:3"]]
    evidence = ["D1:3", "D4:4", "D9:9"]
    ranks = evidence_ranks(evidence, ranked)
    assert ranks == {"D1:3": 3, "D4:4": 5, "D9:9": None}  # the first hit that holds it
    for k in (1, 3, 5, 25):
        assert recall_from_ranks(list(ranks.values()), k) == recall_at_k(evidence, ranked, k)


def test_each_answer_is_written_per_question() -> None:
    answer = Answer("bm25", "q-1", 3, 2, "temporal-reasoning", {"D1:1": 4, "D2:2": 12})
    assert answer.as_json() == {
        "system": "bm25",
        "sample_id": "q-1",
        "question": 3,
        "category": 2,
        "question_type": "temporal-reasoning",
        "evidence_ranks": {"D1:1": 4, "D2:2": 12},
        "recall@5": 0.5,
        "recall@10": 0.5,
        "recall@25": 1.0,
    }
    assert "question_type" not in Answer("bm25", "conv-1", 0, 1, None, {"D1:1": 1}).as_json()


def _scores() -> Scores:
    """Two systems on four LongMemEval-like questions; octomem finds more at 10."""
    scores = Scores()
    for i, (kind, mine, theirs) in enumerate(
        [("temporal-reasoning", 3, 20), ("temporal-reasoning", 8, None), ("multi-session", 1, 1)]
    ):
        category = 2 if kind == "temporal-reasoning" else 1
        scores.add(Answer("octomem", f"s{i}", 0, category, kind, {"D1:1": mine}))
        scores.add(Answer("rrf", f"s{i}", 0, category, kind, {"D1:1": theirs}))
    return scores


def test_scores_pair_two_systems_question_by_question() -> None:
    scores = _scores()
    scores.add(Answer("octomem", "only-mine", 0, 1, "multi-session", {"D1:1": 1}))
    mine, theirs = scores.paired("octomem", "rrf", 10)
    assert (mine, theirs) == ([1.0, 1.0, 1.0], [0.0, 0.0, 1.0])  # unpaired questions left out
    assert scores.recall("rrf", 25, question_type="temporal-reasoning") == (0.5, 2)
    assert scores.question_types == ["multi-session", "temporal-reasoning"]
    rows = type_rows_of(scores, ["rrf"])
    assert {"system": "rrf", "k": 25, "question_type": "temporal-reasoning"}.items() <= rows[
        [r["k"] == 25 and r["question_type"] == "temporal-reasoning" for r in rows].index(True)
    ].items()


def test_the_report_breaks_longmemeval_down_by_type_and_compares_with_baselines() -> None:
    scores = _scores()
    convs = [Conversation(f"s{i}", [], [Question("q", 1, ["D1:1"])]) for i in range(3)]
    table = locomo_markdown(scores, convs, ["octomem", "rrf"])
    assert "LongMemEval" in table and "2 temporal-reasoning (n=2)" in table
    assert "| temporal-reasoning (n=2) |" in table  # the per-type table
    assert "4 single-session" not in table  # no such questions: no empty column
    assert "| plain RRF (k=60) | 3 | +66.7 |" in table  # default minus RRF at R@10


def test_a_gzipped_file_is_read_and_split_into_parts(tmp_path: Path) -> None:
    samples = [
        {
            "sample_id": f"q{i}",
            "conversation": {
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": [{"speaker": "user", "dia_id": "D1:1", "text": "hi"}],
            },
            "qa": [
                {
                    "question": "?",
                    "answer": "a",
                    "evidence": ["D1:1"],
                    "category": 2,
                    "question_type": "temporal-reasoning",
                }
            ],
        }
        for i in range(5)
    ]
    path = tmp_path / "lme.json.gz"
    path.write_bytes(gzip.compress(json.dumps(samples).encode()))
    convs = load_locomo(path)
    assert [c.questions[0].question_type for c in convs] == ["temporal-reasoning"] * 5
    assert [c.sample_id for c in load_locomo(path, part=(1, 2))] == ["q0", "q2", "q4"]
    assert [c.sample_id for c in load_locomo(path, part=(2, 2))] == ["q1", "q3"]


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0


def test_ratios_say_how_many_times_faster_octomem_is() -> None:
    rows = [
        {"system": "octomem", "size": 10, "metric": "add_per_s", "value": 300.0},
        {"system": "mem0", "size": 10, "metric": "add_per_s", "value": 30.0},
        {"system": "octomem", "size": 10, "metric": "recall_p50_ms", "value": 10.0},
        {"system": "mem0", "size": 10, "metric": "recall_p50_ms", "value": 5.0},
        {"system": "mem0", "size": 99, "metric": "add_p50_ms", "value": 5.0},
    ]
    ratios = {r["metric"]: r["value"] for r in _ratios(rows, 10)}
    assert ratios == {"add_per_s": 10.0, "recall_p50_ms": 0.5}


def test_saved_runs_are_reported_together(tmp_path: Path) -> None:
    from benchmarks.locomo_report import report_locomo, scores_from_runs

    data = tmp_path / "lme.json"
    samples = [
        {
            "sample_id": f"s{i}",
            "conversation": {
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": [{"speaker": "user", "dia_id": "D1:1", "text": "hi"}],
            },
            "qa": [{"question": "q", "answer": "a", "evidence": ["D1:1"], "category": 2}],
        }
        for i in range(3)
    ]
    data.write_text(json.dumps(samples))
    scores = _scores()
    runs = []
    for n, ids in enumerate((["s0", "s1"], ["s2"])):
        part = Scores([a for a in scores.answers if a.sample_id in ids])
        convs = [c for c in load_locomo(data) if c.sample_id in ids]
        runs.append(tmp_path / f"part{n}.json")
        report_locomo(
            part,
            convs,
            ["octomem", "rrf"],
            json_path=runs[-1],
            infer=False,
            data=data,
            echo=lambda _: None,
        )
    merged, convs, systems, infer = scores_from_runs(data, runs)
    assert sorted(merged.answers, key=repr) == sorted(scores.answers, key=repr)
    assert [c.sample_id for c in convs] == ["s0", "s1", "s2"]
    assert (systems, infer) == (["octomem", "rrf"], False)


def test_the_floor_ratio_is_recall_over_its_floor() -> None:
    from benchmarks.perf import _floor_ratio

    rows = [
        {"system": "octomem", "size": 10, "metric": "recall_p50_ms", "value": 30.0},
        {"system": "octomem", "size": 10, "metric": "recall_floor_p50_ms", "value": 12.0},
    ]
    assert _floor_ratio(rows, 10) == [
        {"system": "recall/floor", "size": 10, "metric": "recall_p50_ms", "value": 2.5}
    ]
    assert _floor_ratio(rows[:1], 10) == []


def test_a_turn_with_nothing_visible_is_no_turn() -> None:
    from benchmarks.locomo_format import turn_text

    assert turn_text({"text": "\u200b"}) == ""
    assert turn_text({"text": " \u200b\n"}) == ""
    assert turn_text({"text": "No"}) == "No"
    assert (
        messages_of([{"speaker": "a", "dia_id": "D1:1", "text": "\u200b"}], datetime.now(UTC)) == []
    )


def test_session_ranks_follow_the_first_hit_of_each_session() -> None:
    from benchmarks.metrics import any_within, session_ranks

    ranked = [["D2:1"], ["D2:4", "D5:1"], ["D1:3"], ["D5:2"], ["D7:7"]]
    assert session_ranks(["D1:3", "D1:9", "D7:1", "D9:9"], ranked) == {
        "D1": 3,
        "D7": 4,
        "D9": None,
    }
    assert any_within([3, None], 3) == 1.0 and any_within([4, None], 3) == 0.0


def test_the_report_gives_session_recall_any(tmp_path: Path) -> None:
    scores = Scores()
    conv = Conversation("conv-x", [], [Question("q", 2, ["D1:1"]), Question("r", 2, ["D3:1"])])
    scores.add(Answer("octomem", "conv-x", 0, 2, None, {"D1:1": 7}, {"D1": 1}))
    scores.add(Answer("octomem", "conv-x", 1, 2, None, {"D3:1": None}, {"D3": 4}))
    assert scores.session_recall_any("octomem", 3) == (0.5, 2)
    assert "| octomem (default recall) | 50.0 | 50.0 | 100.0 |" in locomo_markdown(
        scores, [conv], ["octomem"]
    )
    again = Answer.from_json(scores.answers[0].as_json())
    assert again.sessions == {"D1": 1}
