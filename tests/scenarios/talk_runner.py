"""Runs the phrasing corpus (`tests/data/talk_corpus.py`) and reports pass rates.

Two modes: `offline` (the default rules: how well they read each phrasing) and
`llm-plumbing` (the `ScriptedModel`, replying to each extraction request with the gold
extraction of the `process` call under way and to each reconcile request with the case's
verdict). The model is handed the answers, so `llm-plumbing` checks the LLM path around
a competent model - prompt, parsing, reconcile, the write, projections, recall - and says
nothing of how well any model extracts; a real model's extraction is reported only by
`make test-llm` (tests/llm_server). One Orchestrator per category, one user per case. A
case that raises - e.g. an API another branch is still adding - counts as failed, with
the error as its reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from octomem import MemoryType, Orchestrator
from octomem.agents.episodic.prompt import EpisodicOutput, Event
from octomem.agents.procedural.prompt import ProceduralOutput, Procedure
from octomem.agents.semantic.prompt import Fact, SemanticOutput
from octomem.models import SemanticMemory
from octomem.prompts.extraction import ExtractionOutput
from octomem.prompts.reconcile import Decision, DecisionOutput
from octomem.testing import ScriptedModel, ScriptedRequest, from_extraction
from tests.data.talk_corpus import CATEGORIES, Case, Category, Edit, Say

MODES = ("offline", "llm-plumbing")
MakeOrch = Callable[..., Orchestrator]


@dataclass(frozen=True)
class Outcome:
    category: str
    case: str
    failure: str | None  # None: passed

    @property
    def passed(self) -> bool:
        return self.failure is None


class Gold:
    """The scripted model's answers: the gold of the `process` call under way."""

    def __init__(self) -> None:
        self.step: Say | None = None

    def extract(self, request: ScriptedRequest) -> ExtractionOutput:
        gold = self.step.gold if self.step else ()
        facts = [g for g in gold if isinstance(g, Fact)]
        events = [g for g in gold if isinstance(g, Event)]
        procedures = [g for g in gold if isinstance(g, Procedure)]
        agents = [MemoryType.SEMANTIC] if facts else []
        agents += [MemoryType.EPISODIC] if events else []
        agents += [MemoryType.PROCEDURAL] if procedures else []
        return ExtractionOutput(
            agents=agents,
            semantic=SemanticOutput(facts=facts),
            episodic=EpisodicOutput(events=events),
            procedural=ProceduralOutput(procedures=procedures),
        )

    def decide(self, request: ScriptedRequest) -> DecisionOutput:
        """The verdict for every candidate that has a related stored memory; the rest ADD."""
        verdict = self.step.verdict if self.step else None
        if verdict is None:
            return DecisionOutput()
        decisions = []
        for number, related in _candidates(request.prompt):
            if related:
                decisions.append(Decision(candidate=number, operation=verdict, target=related[0]))
            else:
                decisions.append(Decision(candidate=number, operation="ADD"))
        return DecisionOutput(decisions=decisions)


def _candidates(prompt: str) -> list[tuple[int, list[int]]]:
    """(number, related aliases) of each candidate in a reconcile prompt."""
    return [
        (int(m[1]), [int(a) for a in re.findall(r"<(\d+)>", m[2])])
        for m in re.finditer(r"^  #(\d+) \([^)]*\) .*?   related: (.*)$", prompt, re.M)
    ]


def _edit(orch: Orchestrator, user: str, step: Edit) -> None:
    facts = orch.get_all(user_id=user, memory_types=[MemoryType.SEMANTIC])
    found = [
        f
        for f in facts
        if isinstance(f, SemanticMemory) and f.attribute == step.attribute and f.subject == "user"
    ]
    if not found:
        raise LookupError(f"no current {step.attribute} fact to update")
    orch.update(found[-1].id, step.text, user_id=user)


def run_case(orch: Orchestrator, user: str, case: Case, gold: Gold) -> str | None:
    """Every step, then every check; the first failure (or error) or None."""
    try:
        for step in case.steps:
            if isinstance(step, Edit):
                _edit(orch, user, step)
                continue
            gold.step = step
            messages = [{"role": "user", "content": text} for text in step.messages]
            orch.process(messages, user_id=user, timestamp=step.at)
        gold.step = None
        failures = [f for f in (check(orch, user) for check in case.checks) if f]
    except Exception as exc:  # a case must not stop the corpus: its error is its failure
        return f"{type(exc).__name__}: {exc}"[:300]
    return failures[0] if failures else None


def run_category(orch: Orchestrator, category: Category, gold: Gold) -> list[Outcome]:
    return [
        Outcome(category.name, case.text, run_case(orch, f"{category.name}-{i}", case, gold))
        for i, case in enumerate(category.cases)
    ]


def run_mode(make_orch: MakeOrch, mode: str) -> list[Outcome]:
    """The whole corpus in `mode`; `make_orch(**settings)` opens a fresh Orchestrator."""
    gold = Gold()
    if mode == "offline":
        return [o for c in CATEGORIES for o in _closing(make_orch(), c, gold)]
    with ScriptedModel(from_extraction(gold.extract, gold.decide), name="talk-corpus") as model:
        llm = {"model": model.model, "extraction_mode": "single_call", "max_retries": 1}
        return [o for c in CATEGORIES for o in _closing(make_orch(llm=llm), c, gold)]


def _closing(orch: Orchestrator, category: Category, gold: Gold) -> list[Outcome]:
    """A category's outcomes, its Orchestrator closed after (each graph store maps a
    large region: a whole corpus of them open at once runs out of address space)."""
    try:
        return run_category(orch, category, gold)
    finally:
        orch.close()


def pass_rates(outcomes: list[Outcome]) -> dict[str, float]:
    """Percent of cases passed, per category."""
    rates: dict[str, float] = {}
    for category in CATEGORIES:
        mine = [o for o in outcomes if o.category == category.name]
        rates[category.name] = 100.0 * sum(o.passed for o in mine) / len(mine) if mine else 0.0
    return rates


def table(results: dict[str, list[Outcome]]) -> str:
    """The markdown table: category, cases, pass % per mode."""
    modes = list(results)
    rates = {mode: pass_rates(outcomes) for mode, outcomes in results.items()}
    lines = [
        "| category | cases | " + " | ".join(f"{m} pass %" for m in modes) + " |",
        "|---|---:|" + "---:|" * len(modes),
    ]
    for category in CATEGORIES:
        cells = " | ".join(f"{rates[m][category.name]:.0f}" for m in modes)
        lines.append(f"| {category.name} | {len(category.cases)} | {cells} |")
    return "\n".join(lines)


def failures(outcomes: list[Outcome]) -> str:
    """One line per failed case, with its reason."""
    return "\n".join(f"  {o.category} / {o.case}: {o.failure}" for o in outcomes if o.failure)


def main() -> None:
    """`python -m tests.scenarios.talk_runner` (`make talk-report`): both modes on fresh
    stores in a temporary directory, then the table and the failing cases."""
    import tempfile
    from pathlib import Path

    from octomem.orchestrator.lifecycle import build_embedder
    from octomem.settings import load_settings

    embedder = build_embedder(load_settings())
    results: dict[str, list[Outcome]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        opened: list[Orchestrator] = []

        def make_orch(**overrides: object) -> Orchestrator:
            overrides.setdefault("data_dir", Path(tmp) / f"om{len(opened)}")
            orch = Orchestrator(load_settings(**overrides), embedder=embedder)
            opened.append(orch)
            return orch

        for mode in MODES:
            results[mode] = run_mode(make_orch, mode)
    for mode, outcomes in results.items():
        print(f"\n{mode} failures:\n{failures(outcomes)}")
    print("\n" + table(results))


if __name__ == "__main__":
    main()
