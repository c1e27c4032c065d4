"""Tables, JSON and chart of a LoCoMo run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from octomem.bench.locomo import CATEGORIES, KS, TUNED, Conversation, Scores
from octomem.bench.report import bar_chart, machine, markdown_table, write_json

LABELS = {
    "octomem": "octomem (default recall)",
    "dense": "dense only",
    "bm25": "BM25 only",
    "rrf": "plain RRF (k=60)",
    "mem0": "mem0 OSS (infer=False)",
}


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


def locomo_markdown(scores: Scores, convs: Sequence[Conversation], systems: Sequence[str]) -> str:
    ids = [c.sample_id for c in convs]
    asked = sum(len(c.questions) for c in convs)
    skipped = sum(c.skipped for c in convs)
    parts = [
        f"LoCoMo dialog-level evidence recall@k (%), categories 1-4, {len(ids)} conversations "
        f"({', '.join(ids)}), {asked} questions"
        + (f" ({skipped} without evidence left out)" if skipped else "")
        + ".",
        "",
        markdown_table(
            ["system", *(f"R@{k}" for k in KS)],
            [[LABELS.get(s, s), *(100 * scores.recall(s, k)[0] for k in KS)] for s in systems],
        ),
        "",
        "Per category (R@5 / R@10 / R@25):",
        "",
        markdown_table(
            [
                "system",
                *(
                    f"{c} {name} (n={scores.recall(systems[0], KS[0], c)[1]})"
                    for c, name in CATEGORIES.items()
                ),
            ],
            [
                [
                    LABELS.get(s, s),
                    *(
                        " / ".join(f"{100 * scores.recall(s, k, c)[0]:.1f}" for k in KS)
                        for c in CATEGORIES
                    ),
                ]
                for s in systems
            ],
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
    return "\n".join(parts)


def report_locomo(
    scores: Scores,
    convs: Sequence[Conversation],
    systems: Sequence[str],
    *,
    json_path: Path | None,
    infer: bool,
    data: Path,
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
        benchmark="locomo",
        data=str(data),
        conversations=ids,
        mode="raw turns + offline extraction" if infer else "raw turns",
        groups={
            name: {"conversations": members, "results": rows_of(scores, systems, members)}
            for name, members in groups.items()
            if members
        },
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
