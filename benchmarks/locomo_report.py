"""Tables, JSON and chart of a LoCoMo run."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.bootstrap import PairedDifference, paired_bootstrap
from benchmarks.locomo import (
    CATEGORIES,
    LONGMEMEVAL_CATEGORIES,
    TUNED,
    Conversation,
    load_locomo,
)
from benchmarks.locomo_scores import KS, SESSION_KS, Answer, Scores
from benchmarks.report import bar_chart, machine, markdown_table, write_json
from octomem.errors import InvalidInputError

LABELS = {
    "octomem": "octomem (default recall)",
    "dense": "dense only",
    "bm25": "BM25 only",
    "rrf": "plain RRF (k=60)",
    "mem0": "mem0 OSS (infer=False)",
}
DEFAULT = "octomem"
BASELINES = ("dense", "bm25", "rrf")  # what the default is compared with, question by question
COMPARED_AT = 10  # the k of the paired comparison


def category_names(scores: Scores) -> dict[int, str]:
    return LONGMEMEVAL_CATEGORIES if scores.question_types else CATEGORIES


def type_rows_of(scores: Scores, systems: Sequence[str]) -> list[dict[str, Any]]:
    """Recall per LongMemEval question type (none for LoCoMo)."""
    rows = []
    for system in systems:
        for k in KS:
            for question_type in scores.question_types:
                value, n = scores.recall(system, k, question_type=question_type)
                rows.append(
                    {
                        "system": system,
                        "k": k,
                        "question_type": question_type,
                        "recall": round(value, 4),
                        "questions": n,
                    }
                )
    return rows


def comparisons(
    scores: Scores, systems: Sequence[str], samples: Sequence[str] | None = None
) -> dict[str, PairedDifference]:
    """R@COMPARED_AT of the default minus each baseline's, with its paired-bootstrap
    interval (in recall units, 0-1)."""
    out = {}
    for baseline in BASELINES:
        if DEFAULT in systems and baseline in systems:
            first, second = scores.paired(DEFAULT, baseline, COMPARED_AT, samples)
            if first:
                out[baseline] = paired_bootstrap(first, second)
    return out


def comparison_groups(ids: Sequence[str]) -> dict[str, list[str] | None]:
    """The questions compared: all, and the held-out conversations when a run has both."""
    held = [i for i in ids if i not in TUNED]
    if len(held) in (0, len(ids)):
        return {"all questions": None}
    return {"all questions": None, f"held out ({', '.join(held)})": held}


def comparison_table(found: dict[str, PairedDifference]) -> str:
    return markdown_table(
        ["baseline", "questions", f"R@{COMPARED_AT} difference (points)", "95% interval"],
        [
            [
                LABELS.get(b, b),
                d.questions,
                f"{100 * d.mean:+.1f}",
                f"[{100 * d.low:+.1f}, {100 * d.high:+.1f}]",
            ]
            for b, d in found.items()
        ],
    )


def rows_of(
    scores: Scores, systems: Sequence[str], samples: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for system in systems:
        for k in KS:
            for category in (None, *CATEGORIES):
                value, n = scores.recall(system, k, category, samples)
                if n:
                    rows.append(
                        {
                            "system": system,
                            "k": k,
                            "category": "all" if category is None else category,
                            "recall": round(value, 4),
                            "questions": n,
                        }
                    )
    return rows


def per_group_table(
    scores: Scores, systems: Sequence[str], groups: dict[str, dict[str, Any]]
) -> str:
    """R@5 / R@10 / R@25 per system (rows) and group of questions (columns); each group's
    value is the keyword arguments of `Scores.recall` that select it (empty ones left out)."""
    groups = {g: sel for g, sel in groups.items() if scores.recall(systems[0], KS[0], **sel)[1]}
    header = ["system"]
    for label, selector in groups.items():
        header.append(f"{label} (n={scores.recall(systems[0], KS[0], **selector)[1]})")
    return markdown_table(
        header,
        [
            [
                LABELS.get(s, s),
                *(
                    " / ".join(f"{100 * scores.recall(s, k, **selector)[0]:.1f}" for k in KS)
                    for selector in groups.values()
                ),
            ]
            for s in systems
        ],
    )


def locomo_markdown(scores: Scores, convs: Sequence[Conversation], systems: Sequence[str]) -> str:
    ids = [c.sample_id for c in convs]
    asked = sum(len(c.questions) for c in convs)
    skipped = sum(c.skipped for c in convs)
    names = category_names(scores)
    if scores.question_types:
        title = (
            f"LongMemEval turn-level evidence recall@k (%), {len(ids)} questions (one haystack "
            f"each), {asked} with evidence"
        )
    else:
        title = (
            f"LoCoMo dialog-level evidence recall@k (%), categories 1-4, {len(ids)} "
            f"conversations ({', '.join(ids)}), {asked} questions"
        )
    parts = [
        title + (f" ({skipped} without evidence left out)" if skipped else "") + ".",
        "",
        markdown_table(
            ["system", *(f"R@{k}" for k in KS)],
            [[LABELS.get(s, s), *(100 * scores.recall(s, k)[0] for k in KS)] for s in systems],
        ),
        "",
        f"Session-level recall_any@k (%): an evidence session among the first k sessions of "
        f"the ranking, in order of their first hit (of the first {max(KS)} hits):",
        "",
        markdown_table(
            ["system", *(f"any@{k}" for k in SESSION_KS)],
            [
                [LABELS.get(s, s), *(100 * scores.session_recall_any(s, k)[0] for k in SESSION_KS)]
                for s in systems
            ],
        ),
        "",
        "Per category (R@5 / R@10 / R@25):",
        "",
        per_group_table(
            scores, systems, {f"{c} {name}": {"category": c} for c, name in names.items()}
        ),
    ]
    if scores.question_types:
        parts += [
            "",
            "Per LongMemEval question type (R@5 / R@10 / R@25):",
            "",
            per_group_table(
                scores, systems, {t: {"question_type": t} for t in scores.question_types}
            ),
        ]
    tuned = [i for i in ids if i in TUNED]
    held = [i for i in ids if i not in TUNED]
    if tuned and held:
        header = ["system"]
        for group, members in (("tuned on", tuned), ("held out", held)):
            header += [f"{group} {', '.join(members)} R@{k}" for k in KS]
        parts += [
            "",
            "Conversations octomem's defaults were tuned on vs held out:",
            "",
            markdown_table(
                header,
                [
                    [
                        LABELS.get(s, s),
                        *(
                            100 * scores.recall(s, k, None, members)[0]
                            for members in (tuned, held)
                            for k in KS
                        ),
                    ]
                    for s in systems
                ],
            ),
        ]
    for label, samples in comparison_groups(ids).items():
        found = comparisons(scores, systems, samples)
        if found:
            parts += [
                "",
                f"{LABELS[DEFAULT]} minus each baseline, R@{COMPARED_AT} in points, "
                f"{label} (paired bootstrap over questions, 10,000 resamples, seed 0):",
                "",
                comparison_table(found),
            ]
    return "\n".join(parts)


def report_locomo(
    scores: Scores,
    convs: Sequence[Conversation],
    systems: Sequence[str],
    *,
    json_path: Path | None,
    infer: bool,
    data: Path,
    elapsed_s: float | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    table = locomo_markdown(scores, convs, systems)
    echo(table)
    if json_path is None:
        return
    ids = [c.sample_id for c in convs]
    groups = {
        "tuned": [i for i in ids if i in TUNED],
        "held_out": [i for i in ids if i not in TUNED],
    }
    write_json(
        json_path,
        rows_of(scores, systems),
        benchmark="longmemeval" if scores.question_types else "locomo",
        data=str(data),
        conversations=ids,
        mode="raw turns + offline extraction" if infer else "raw turns",
        groups={
            name: {"conversations": members, "results": rows_of(scores, systems, members)}
            for name, members in groups.items()
            if members and not scores.question_types  # nothing was tuned on LongMemEval
        },
        by_question_type=type_rows_of(scores, systems),
        paired_bootstrap=[
            {"first": DEFAULT, "second": b, "k": COMPARED_AT, "over": label, **vars(d)}
            for label, samples in comparison_groups(ids).items()
            for b, d in comparisons(scores, systems, samples).items()
        ],
        questions=[a.as_json() for a in scores.answers],
        elapsed_s=None if elapsed_s is None else round(elapsed_s, 1),
        machine=machine(),
    )
    json_path.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    note = bar_chart(
        json_path.with_suffix(".png"),
        "LoCoMo evidence recall@k, categories 1-4",
        [f"R@{k}" for k in KS],
        {LABELS.get(s, s): [100 * scores.recall(s, k)[0] for k in KS] for s in systems},
        "recall (%)",
    )
    echo(
        f"wrote {json_path}, {json_path.with_suffix('.md')}"
        + (f" ({note})" if note else f", {json_path.with_suffix('.png')}")
    )


def scores_from_runs(
    data: Path, runs: Sequence[Path]
) -> tuple[Scores, list[Conversation], list[str], bool]:
    """The answers of saved runs (their JSON's per-question results, e.g. of `--part 1/2`
    and `--part 2/2`) as one run: its scores, conversations (read again from `data`),
    systems, and whether it ran offline extraction."""
    scores, ids, modes = Scores(), [], set()
    for path in runs:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        modes.add(saved["mode"])
        for item in saved["questions"]:
            scores.add(Answer.from_json(item))
        ids += [i for i in saved["conversations"] if i not in ids]
    if len(modes) > 1:
        raise InvalidInputError(f"the runs ingested differently ({sorted(modes)}): report each")
    order = {sample_id: n for n, sample_id in enumerate(ids)}
    convs = sorted(load_locomo(data, only=ids), key=lambda c: order[c.sample_id])
    systems = list(dict.fromkeys(a.system for a in scores.answers))
    return scores, convs, systems, "extraction" in modes.pop()
