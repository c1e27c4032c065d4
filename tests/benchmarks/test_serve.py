"""`python -m benchmarks serve`: the load runs end to end on tiny numbers (a real `octomem serve`
and an in-process Orchestrator), and its accounting of errors and lost writes is right
on a hand-made target. No timing is asserted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from benchmarks.cli import app
from benchmarks.serve import Failed, _kind, run_load


class _Target:
    """Adds write two ids, the second of which then cannot be read; every third search
    fails with a 503."""

    def __init__(self) -> None:
        self.searches = 0

    async def add(self, user: str, text: str) -> tuple[list[str], list[str]]:
        n = len(text)
        return [f"kept-{text}", f"gone-{n}-{text}"], []

    async def search(self, user: str, query: str) -> None:
        self.searches += 1
        if self.searches % 3 == 0:
            raise Failed("503")

    async def exists(self, user: str, memory_id: str) -> bool:
        return memory_id.startswith("kept-")


def test_errors_and_lost_writes_are_counted() -> None:
    target = _Target()
    load = asyncio.run(
        run_load(
            target,
            "fake",
            3,
            duration_s=30,
            max_requests=60,
            queries=["q"],
            pid=None,
        )
    )
    row = load.row()
    adds = len(load.add_ms)
    assert adds > 0 and row["requests"] + row["errors"] == 60
    assert row["errors_by_status"] == {"503": target.searches // 3}
    assert row["writes_checked"] == 2 * adds and row["lost_writes"] == adds


def test_end_to_end_on_tiny_numbers(tmp_path: Path) -> None:
    out = tmp_path / "serve.json"
    done = CliRunner().invoke(
        app,
        ["serve", "--clients", "2", "--duration", "2", "--max-requests", "40"]
        + ["--seed", "20", "--json", str(out)],
    )
    assert done.exit_code == 0, done.output
    rows = json.loads(out.read_text())["results"]
    sides = {r["side"]: r for r in rows}
    assert set(sides) == {"http", "in-process", "overhead"}
    for side in ("http", "in-process"):
        assert sides[side]["requests"] > 0
        assert sides[side]["errors"] == 0, sides[side]["errors_by_status"]
        assert sides[side]["lost_writes"] == 0
        assert sides[side]["rss_end_mb"] > 0
        assert sides[side]["cpu_ms_per_request"] > 0  # the served process's CPU
    assert "p50_diff_ms" in sides["overhead"] and sides["overhead"]["cpu_diff_ms"] is not None
    assert "HTTP overhead" in done.output and out.with_suffix(".md").exists()


def test_a_failed_answer_is_counted_by_its_status_and_problem_type() -> None:
    problem = {"type": "https://octomem.dev/problems/deadline", "title": "Deadline exceeded"}
    assert _kind(httpx.Response(503, json=problem)) == "503 deadline"
    assert _kind(httpx.Response(502, text="Bad Gateway")) == "502"
    assert _kind(httpx.Response(500, json=["not", "a", "problem"])) == "500"
