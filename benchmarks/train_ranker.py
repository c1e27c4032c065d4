"""Train the learned ranker (`recall.ranker: learned`) on the tuned parts of both
benchmarks and write it where octomem ships it.

    python -m benchmarks.train_ranker --keep-locomo DIR --keep-longmemeval DIR
        [--locomo ../shared/bench/locomo_dev.json]
        [--longmemeval ../shared/bench/longmemeval_s_dev.json.gz]
        [--out octomem/data/ranker.json]

Trained on LoCoMo's tuned conversations (`locomo.TUNED`) and the LongMemEval questions at
odd positions (1st, 3rd, ...: ``--part 1/2`` of `locomo`); the rest is what it is measured
on. The `--keep` directories are `python -m benchmarks locomo --keep`'s (conversations not
yet in them are ingested there first). Each question is recalled with the fused order
(`recall.ranker: fusion`), and each of its first `recall.ranker_pool` hits becomes one row
of `learned_rank.features`, labelled by whether it holds an evidence turn; a logistic
regression (scikit-learn, needed here only: `pip install scikit-learn`) is fitted to them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.locomo import TUNED, Conversation, OctomemUnderTest, load_locomo
from octomem.orchestrator.learned_rank import feature_names, features
from octomem.settings import load_settings

C = 1.0  # the regularisation that did best on the tuned parts alone (0.01, 0.1, 1.0 tried)


def rows(keep: Path, convs: list[Conversation]) -> tuple[list[list[float]], list[int]]:
    """Features and labels of the first hits of every question of `convs`."""
    octo = OctomemUnderTest(keep / "octomem", None, infer=False)
    pool = load_settings().recall.ranker_pool
    X: list[list[float]] = []
    y: list[int] = []
    try:
        total = sum(len(t) for c in convs for _, _, t in c.sessions)
        with tqdm(total=total, desc="ingest", unit="turn") as progress:
            for conv in convs:
                octo.ingest(conv, progress)
                orch = octo.orch_for(conv)
                for q in conv.questions:
                    found = orch.recall(q.text, user_id=conv.sample_id, limit=pool, now=q.asked_at)
                    evidence = set(q.evidence)
                    X += features(q.text, found.hits)
                    turns = [h.memory.source.message_ids for h in found.hits]
                    y += [int(not evidence.isdisjoint(t)) for t in turns]
                octo.done_with(conv)
    finally:
        octo.close()
    return X, y


def train(X: list[list[float]], y: list[int]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    model = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(X), y)
    return {
        "features": feature_names(),
        "mean": [round(float(x), 8) for x in scaler.mean_],
        "scale": [round(float(x), 8) for x in scaler.scale_],
        "coefficients": [round(float(x), 8) for x in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 8),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locomo", type=Path, default=Path("../shared/bench/locomo_dev.json"))
    parser.add_argument(
        "--longmemeval", type=Path, default=Path("../shared/bench/longmemeval_s_dev.json.gz")
    )
    parser.add_argument("--keep-locomo", type=Path, required=True)
    parser.add_argument("--keep-longmemeval", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("octomem/data/ranker.json"))
    args = parser.parse_args(argv)
    X, y = rows(args.keep_locomo, load_locomo(args.locomo, only=TUNED))
    more = rows(args.keep_longmemeval, load_locomo(args.longmemeval, part=(1, 2)))
    X, y = X + more[0], y + more[1]
    model = train(X, y)
    model["trained_on"] = {
        "locomo": list(TUNED),
        "longmemeval": "questions at odd positions (--part 1/2)",
        "rows": len(y),
        "positives": sum(y),
        "C": C,
    }
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(y)} hits, {sum(y)} holding evidence")


if __name__ == "__main__":
    main()
