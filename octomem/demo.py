"""The demo: a sample multi-session conversation processed offline, then recalled."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import Any

from octomem.models import MemoryBase, MemoryType, ProcessResult, RecallResult, utcnow
from octomem.orchestrator.engine import Orchestrator


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
