"""commit: under the scope's write lock (`octomem.orchestrator.locks`), reconcile
(exact -> conflict -> near-duplicate, with at most one batched LLM decision) and write
the decisions (journaled: graph -> keyword index -> history -> vector store), with the
call's raw turns when store_turns left them to it (`graph.run`: no model, one hold). With
a model, extraction runs outside the lock, so callers of one user wait only for each
other's writes."""

from __future__ import annotations

import time
from typing import Any

from octomem import offload
from octomem.llm import UsageMeter
from octomem.logs import get_logger
from octomem.models import LLMUsage, MemoryBase, MemoryType, ProcessResult, StepError, Turn
from octomem.orchestrator import edits, extracted, originals, projections, rules_read
from octomem.orchestrator.commit import commit as commit_changes
from octomem.orchestrator.events import all_changes
from octomem.orchestrator.process.context import EXTRACTED_BEFORE, chosen, holding
from octomem.orchestrator.process.state import CommitUpdate, ProcessState
from octomem.orchestrator.reconcile import Reconciler
from octomem.orchestrator.services import Services
from octomem.orchestrator.staleness import closed_by
from octomem.orchestrator.write import blobs, write
from octomem.plans import Decision
from octomem.telemetry import span

log = get_logger(__name__)


async def commit(state: ProcessState, deps: Services) -> CommitUpdate:
    """Reconcile the candidates against what is stored and write the decisions, as one
    critical section per scope: no other write to this user (and agent) interleaves."""
    # the images shown to a vision model: withheld if its reply held a secret, else kept
    withheld = set(state.get("withheld_originals", []))
    candidates: list[MemoryBase] = list(state.get("candidates", []))
    turns = state["turns"]
    extraction_ = state["extraction"]
    errors = list(state.get("errors", []))
    use_llm = deps.llm is not None and deps.settings.llm.reconcile and extraction_.with_llm
    meter = UsageMeter()
    fell_back = bool(state.get("fell_back"))
    with span("node.commit", user_id=state.get("user_id"), candidates=len(candidates)) as current:
        sent = state.get("turn_words", {})
        # the offline rules' reading of these turns: what they take again from a turn they
        # read with these words is a NOOP, and the turns are marked read (`rules_read`)
        by_rules = chosen(state) if extraction_.mode == "offline" else []
        unwritten = rules_read.marked_added(by_rules, sent, state.get("unwritten", []))
        if not withheld and _nothing_to_commit(state, candidates, fell_back):
            if unwritten:  # the raw turns alone, under the call's one hold
                async with holding(deps, state) as fence:
                    await write(deps, fence, changes=unwritten)
            result = _result(state, [], projections.Projection(), errors, meter.usage, turns)
            return {"decisions": [], "result": result}
        async with holding(deps, state) as fence:
            withheld, settled = await blobs.settle(
                deps,
                state.get("user_id"),
                state.get("pending_originals", []),
                state["turns"],
                withheld,
            )
            # written before what follows reads them (the turns' marks)
            await write(deps, fence, rewrites=settled)
            candidates = [originals.settled(c, withheld) for c in candidates]
            # what the model took from these turns before: a call made again (not asked
            # again, see `route`), or one of the same turns committed since this began
            replays, candidates = await extracted.replays(
                deps,
                turns,
                state["stored_turns"],
                candidates,
                skipped=[
                    MemoryType(m) for m, why in state["routing"].items() if why == EXTRACTED_BEFORE
                ],
                asked=[] if state.get("turns_in") else state.get("llm_types", []),
                sent=sent,
            )
            turns = [originals.settled(t, withheld) for t in turns]
            edited = state.get("edited_turns", {})
            reconciler = Reconciler(
                deps,
                deps.clock.now(),
                llm=deps.llm if use_llm else None,
                meter=meter,
                edited=edited,
                repeated=state.get("repeated_turns", []),
                retold=state.get("retold_turns", {}) if by_rules else {},
            )
            canonical = await offload.cpu(  # CPU work, as below: off the loop if large
                len(candidates), lambda: projections.canonical_candidates(deps, candidates)
            )
            # the views' reads go out with the reconciler's first: one wait for both
            ahead = projections.Ahead(deps, reconciler.now)
            decided = await reconciler.decide(canonical, beside=ahead.read)
            decisions = [*decided, *replays]
            current.set_attribute("octomem.decisions", len(decisions))
            changes = await offload.cpu(len(decisions), lambda: all_changes(decisions))
            # what the model extracted from the turns: marked in the same intent as
            # what came of it, as are the turns the closed facts came from
            marked = []
            if fell_back or extraction_.with_llm:
                marked = await extracted.marked(
                    deps,
                    turns,
                    state["stored_turns"],
                    "fallback" if fell_back else "llm",
                    types=state.get("llm_types", []),
                    decisions=decisions,
                    start=state.get("llm_from", 0),
                    failed=state.get("fell_back", []),
                    sent=sent,
                )
            # an edit's words recorded as sent: sent again, it is a replay (`edits`)
            if edited and decisions:
                marked = await edits.remembered(deps, marked, edited, sent)
            if by_rules:
                marked = await rules_read.marked_stored(
                    deps,
                    by_rules,
                    sent,
                    state.get("rules_read", {}),
                    {record.id for record, _ in unwritten},
                    marked,
                )
            views = await commit_changes(
                deps,
                fence,
                changes,
                now=reconciler.now,
                closed=closed_by(decisions),
                marked=marked,
                added=unwritten,
                ahead=ahead,
            )
    errors += reconciler.errors
    result = _result(state, decisions, views, errors, meter.usage, turns)
    return {"decisions": decisions, "result": result}


def _nothing_to_commit(state: ProcessState, candidates: list[MemoryBase], fell_back: bool) -> bool:
    """Whether the commit would write nothing (no candidates, no originals to settle, no
    turns to mark, no earlier extraction to replay): then it takes no lock. The call's
    writes (its raw turns) are all stored, so a forget since erases them whole."""
    skipped = any(why == EXTRACTED_BEFORE for why in state["routing"].values())
    return not (
        candidates
        or state.get("pending_originals")
        or skipped
        or (state.get("llm_types") and not state.get("turns_in"))
        or fell_back
        or state["extraction"].with_llm
    )


def _result(
    state: ProcessState,
    decisions: list[Decision],
    views: projections.Projection,
    errors: list[StepError],
    usage: LLMUsage,
    turns: list[Turn],
) -> ProcessResult:
    """The call's report (`turns`: as the commit leaves them)."""
    fell_back = bool(state.get("fell_back"))
    extraction_ = state["extraction"]
    operations: dict[MemoryType, list[Any]] = {}
    done = [*state.get("inputs", []), *decisions]
    for summary in [*(d.summary() for d in done), *views.operations()]:
        operations.setdefault(summary.memory_type, []).append(summary)
    agents = chosen(state)
    usage = _total([*state.get("llm_usage", []), usage])
    result = ProcessResult(
        operations=operations,
        turns=[t.with_images([]) if t.images else t for t in turns],
        turn_memory_ids=state.get("stored_turns", []),
        added_turn_ids=state.get("added_turns", []),
        agents=agents,
        llm=usage,
        extraction=("offline_fallback" if fell_back else extraction_.mode) if agents else "none",
        errors=errors,
        elapsed_s=time.perf_counter() - state["started"],
    )
    log.info(
        "processed",
        user_id=state.get("user_id"),
        turns=len(state["turns"]),
        llm_calls=usage.calls,
        extraction=result.extraction,
        operations={k.value: len(v) for k, v in operations.items()},
    )
    return result


def _total(usages: list[LLMUsage]) -> LLMUsage:
    return LLMUsage(**{f: sum(getattr(u, f) for u in usages) for f in LLMUsage.model_fields})
