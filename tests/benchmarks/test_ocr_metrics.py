"""benchmarks.ocr's scores on hand-made readings (no OCR, no timing)."""

from __future__ import annotations

from benchmarks.ocr_cases import Case, Score, distance, lost


def test_edit_distance_by_hand() -> None:
    assert distance("kitten", "sitting") == 3
    assert distance("", "abc") == 3 and distance("abc", "") == 3
    assert distance("flaw", "lawn") == 2
    assert distance(["on-call", "engineer"], ["on-callengineer"]) == 2


def test_words_run_together_cost_words_not_lines() -> None:
    case = Case("g", "n", None, ("Contact on-call engineer: Bartholomew Finch", "Status: ok"))
    score = Score()
    score.add(case, "Contacton-callengineer:BartholomewFinch\nStatus: ok", 1.0)
    assert score.char_errors == 4 and score.chars == 54  # 43 + a newline + 10
    assert (score.word_errors, score.words) == (5, 7)  # 5 words become 1
    assert score.lost == 0  # run together, not dropped


def test_a_dropped_line_or_column_is_lost() -> None:
    assert lost("Escalation: page the payments team", ["Contact on-call engineer"])
    assert not lost("Escalation: page the payments team", ["Escalation:page thepaymentsteam"])
    case = Case(
        "g",
        "n",
        None,
        ("Owner: Priya Raman Severity: high",),
        ("Owner: Priya Raman", "Severity: high"),
    )
    score = Score()
    score.add(case, "Owner: Priya Raman", 1.0)
    assert (score.lost, score.lines) == (1, 2)
