"""What an `OctomemStore` search finds, by ranking: every turn of a LoCoMo-format file put
as an item of ``("memories", <conversation>)`` (``{"text": "<speaker>: <text>"}``, key its
dia_id), then each question searched under that namespace; R@k is the share of a
question's evidence turns among the first k results.

    python -m benchmarks.store_quality [--data ../shared/bench/locomo_dev.json] [--k 10]
                                       [--tuned]

The conversations octomem's recall defaults were tuned on (`locomo.TUNED`) are left out
unless `--tuned`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.locomo import TUNED, Conversation, load_locomo
from benchmarks.metrics import mean_recall, recall_at_k
from octomem.langgraph import OctomemStore
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings

RANKINGS = ("hybrid", "vector")


async def measure(orch: Orchestrator, convs: list[Conversation], k: int) -> dict[str, float]:
    """Mean R@k in percent, per ranking, over every question of `convs`."""
    stores = {ranking: OctomemStore(orch, ranking=ranking) for ranking in RANKINGS}  # type: ignore[arg-type]
    found: dict[str, list[float]] = {ranking: [] for ranking in RANKINGS}
    for conv in convs:
        namespace = ("memories", conv.sample_id)
        for _, _, turns in conv.sessions:
            for turn in turns:
                text = {"text": f"{turn['speaker']}: {turn['text']}"}
                await stores["hybrid"].aput(namespace, turn["dia_id"], text)
        for question in conv.questions:
            for ranking, store in stores.items():
                results = await store.asearch(namespace, query=question.text, limit=k)
                ranked = [[item.key] for item in results]
                found[ranking].append(recall_at_k(question.evidence, ranked, k))
    return {ranking: 100 * mean_recall(values) for ranking, values in found.items()}


def run(
    data: Path, *, k: int = 10, tuned: bool = False, echo: Callable[[str], Any] = print
) -> dict[str, float]:
    """Measure on a fresh Orchestrator in a temporary directory; print a table."""
    convs = [c for c in load_locomo(data) if tuned or c.sample_id not in TUNED]
    with (
        tempfile.TemporaryDirectory() as tmp,
        Orchestrator(load_settings(data_dir=Path(tmp) / "om")) as orch,
    ):
        recall = asyncio.run(measure(orch, convs, k))
    questions = sum(len(c.questions) for c in convs)
    echo(f"OctomemStore search, {len(convs)} conversations, {questions} questions")
    echo(f"| ranking | R@{k} |")
    echo("|---|---|")
    for ranking, value in recall.items():
        echo(f"| {ranking} | {value:.1f} |")
    return recall


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/bench/locomo_dev.json"))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--tuned", action="store_true", help="keep the tuned conversations")
    args = parser.parse_args(argv)
    run(args.data, k=args.k, tuned=args.tuned)


if __name__ == "__main__":
    main()
