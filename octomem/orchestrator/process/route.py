"""route: which agents get the conversation, and why (`routing`, for a person stepping
through a run in LangGraph Studio); in per_agent mode the LLM router call narrows them.
Then what follows it: llm_extract (single_call), then an agent task for each agent that
extracts on its own (none: straight to commit)."""

from __future__ import annotations

from octomem.errors import LLMError
from octomem.llm import UsageMeter
from octomem.logs import get_logger
from octomem.models import MemoryType, StepError
from octomem.orchestrator import extracted, extraction, vision
from octomem.orchestrator.process.context import (
    EXTRACTED_BEFORE,
    NOTHING_FOUND,
    chosen,
    for_model,
    prompting,
)
from octomem.orchestrator.process.state import AgentTask, Routed, RouteUpdate, TurnsRead
from octomem.orchestrator.services import Services
from octomem.plans import Extraction
from octomem.telemetry import span

log = get_logger(__name__)


async def route(state: TurnsRead, deps: Services) -> RouteUpdate:
    """The agents for this conversation and how they extract: offline, single_call (one
    LLM call for all) or per_agent (the LLM router's call picks them, each then calls)."""
    llm, config = deps.llm, deps.settings.llm
    with span("node.route", user_id=state.get("user_id")) as current:
        reasons = _reasons(deps, state)
        if llm is not None:  # a call made again: types extracted from every turn
            done = extracted.from_every_turn(state.get("asked_before", []))
            for agent in prompting(deps, _selected(reasons)):  # not asked again
                if agent.memory_type.value in done:
                    reasons[agent.memory_type] = EXTRACTED_BEFORE
        chosen_ = _selected(reasons)
        asked = prompting(deps, chosen_)  # no LLM call without an agent that prompts it
        mode = config.extraction_mode if llm is not None and asked else "offline"
        extraction_ = Extraction(mode=mode)
        asking = [a.memory_type for a in asked] if mode != "offline" else []
        start = extracted.first_new(state.get("asked_before", []), asking)
        update: RouteUpdate = {
            "routing": {},  # below, once the LLM router has narrowed them
            "extraction": extraction_,
            "llm_types": asking,
            "llm_from": start,
        }
        if llm is not None and extraction_.mode == "per_agent":
            meter = UsageMeter()
            current.set_attribute("octomem.mode", extraction_.mode)
            turns, ctx = for_model(deps, state, start)
            try:
                picked = await extraction.route(llm, turns, ctx, asked, config, meter)
                if any(turn.images for turn in turns):  # they describe them
                    picked += [a.memory_type for a in vision.describers(asked)]
                for agent in asked:
                    if agent.memory_type not in picked:
                        reasons[agent.memory_type] = NOTHING_FOUND
            except LLMError as exc:
                log.warning("llm routing failed; using offline rules", error=str(exc))
                update["extraction"] = extraction_.model_copy(update={"failed": True})
                # which turns and types the model failed on: kept
                update["errors"] = [StepError(step="extraction", message=str(exc))]
                update["fell_back"] = chosen_
            update["llm_usage"] = [meter.usage]
    update["routing"] = {mtype.value: why for mtype, why in reasons.items()}
    return update


def in_one_call(state: Routed) -> bool:
    """single_call: one LLM call extracts for every routed agent that prompts it (route sets
    it only with an LLM and such an agent)."""
    return state["extraction"].mode == "single_call"


def agent_tasks(state: Routed, deps: Services) -> list[AgentTask]:
    """An agent task for each routed agent that extracts on its own: by its rules, or by
    its own LLM call in per_agent mode (single_call's call extracted the others)."""
    extraction_ = state["extraction"]
    tasks = []
    for mtype in chosen(state):
        by_llm = extraction_.with_llm and deps.agents[mtype].prompt is not None
        if by_llm and extraction_.mode == "single_call":
            continue
        tasks.append(AgentTask(**state, agent=mtype, extractor="llm" if by_llm else "rules"))
    return tasks


def _reasons(deps: Services, state: TurnsRead) -> dict[MemoryType, str]:
    """Every agent's memory type, with the reason it was chosen or skipped. Offline, every
    enabled agent reads every conversation (its rules are cheap and precise); the caller
    can narrow the set with `memory_types`."""
    enabled = deps.enabled_agents
    # infer=False stores the raw turns only: no agent reads them
    requested = state.get("memory_types") if state.get("infer", True) else []
    reasons: dict[MemoryType, str] = {}
    for memory_type in deps.agents:
        if memory_type not in enabled:
            reasons[memory_type] = "skipped: disabled in config (agents.enabled)"
        elif requested is not None and memory_type not in requested:
            reasons[memory_type] = "skipped: not in memory_types of this call"
        else:
            reasons[memory_type] = "selected"
    return reasons


def _selected(reasons: dict[MemoryType, str]) -> list[MemoryType]:
    return [memory_type for memory_type, why in reasons.items() if why == "selected"]
