"""The demo: a sample multi-session conversation processed offline, then recalled."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from octomem.errors import InvalidInputError
from octomem.models import MemoryBase, MemoryType, Operation, ProcessResult, RecallResult, utcnow
from octomem.orchestrator.engine import Orchestrator

SAMPLE_FILES = ("boarding-pass.png", "lease.pdf")


def sample_file(name: str) -> Path:
    """A file shipped with octomem for the tour and the docs' examples: "lease.pdf" (a
    PDF with a text layer) or "boarding-pass.png" (an image whose text OCR reads)."""
    if name not in SAMPLE_FILES:
        raise InvalidInputError(f"no sample file {name!r}; there are {list(SAMPLE_FILES)}")
    return Path(str(resources.files("octomem").joinpath("data", "samples", name)))


def load_sample() -> dict[str, Any]:
    text = resources.files("octomem").joinpath("data/demo_conversation.json").read_text("utf-8")
    return json.loads(text)


@dataclass
class DemoReport:
    processed: list[tuple[str, ProcessResult]] = field(default_factory=list)
    stored: dict[MemoryType, list[MemoryBase]] = field(default_factory=dict)
    answers: list[tuple[dict[str, Any], RecallResult]] = field(default_factory=list)


def run_demo(orch: Orchestrator, sample: dict[str, Any] | None = None) -> DemoReport:
    """Process every session of the sample in order, then ask its questions."""
    sample = sample or load_sample()
    user_id = sample["user_id"]
    report = DemoReport()
    now = utcnow()
    orch.delete_all(user_id=user_id)  # the demo starts from a clean slate for its user
    for session in sample["sessions"]:
        start = now - timedelta(days=session["days_ago"])
        messages = [
            {**message, "timestamp": start + timedelta(minutes=index)}
            for index, message in enumerate(session["messages"])
        ]
        result = orch.process(messages, user_id=user_id, session_id=session["session_id"])
        report.processed.append((session["session_id"], result))
    for memory in orch.get_all(user_id=user_id, include_superseded=True):
        report.stored.setdefault(memory.memory_type, []).append(memory)
    for question in sample["questions"]:
        recalled = orch.recall(
            question["query"],
            user_id=user_id,
            limit=question.get("limit", 5),
            include_superseded=question.get("include_superseded", False),
        )
        report.answers.append((question, recalled))
    return report


def print_report(console: Console, report: DemoReport) -> None:
    """What each session stored, what each agent holds, and what recall found."""
    for session_id, result in report.processed:
        counts = {op.value: result.count(op) for op in Operation}
        summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        console.print(
            f"[bold]session {session_id}[/]: {len(result.turns)} turns stored; "
            f"{summary or 'no memories'} ({result.elapsed_s:.2f}s)"
        )
    console.rule("what each agent stored")
    for memory_type, memories in report.stored.items():
        table = Table(
            title=f"{memory_type.value} ({len(memories)})",
            title_justify="left",
            expand=True,
        )
        table.add_column("memory")
        table.add_column("status", width=12)
        for memory in memories:
            status = "current" if memory.is_current else "superseded"
            table.add_row(escape(memory.content[:200]), status)
        console.print(table)
    console.rule("recall")
    for question, recalled in report.answers:
        flag = " (including superseded)" if question.get("include_superseded") else ""
        console.print(f"\n[bold cyan]Q: {question['query']}[/]{flag}")
        for rank, hit in enumerate(recalled.hits, 1):
            found_by = ",".join(sorted({p.retriever for p in hit.provenance}))
            text = escape(hit.memory.content.replace("\n", " ")[:120])
            console.print(
                f"  {rank}. {escape(f'[{hit.memory_type.value}]')} {text}"
                f"  [dim]({found_by}; {hit.score:.4f})[/]"
            )
    if report.answers:
        core = report.answers[0][1].core
        console.rule("core blocks (always returned)")
        for block in core:
            console.print(f"[bold]{block.label}[/]\n{block.content}")
