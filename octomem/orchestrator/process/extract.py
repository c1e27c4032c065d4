"""llm_extract (single_call: one LLM call per chunk for every routed agent) and agent (one
Send per agent: its offline rules or, per_agent, its own LLM call): the candidates.

If the LLM fails (past the retries, or output that does not validate) the offline rules
extract instead, the result says so, and the raw turns are marked so
`Orchestrator.reprocess` can run the LLM on them later.
"""

from __future__ import annotations

import asyncio

from octomem import offload
from octomem.errors import LLMError
from octomem.llm import UsageMeter
from octomem.logs import get_logger
from octomem.models import MemoryBase, StepError
from octomem.orchestrator import extraction
from octomem.orchestrator.process.context import (
    NOTHING_FOUND,
    chosen,
    context,
    for_model,
    prompting,
    scope_of,
    with_caller_metadata,
)
from octomem.orchestrator.process.state import AgentTask, ExtractUpdate, Routed
from octomem.orchestrator.services import Services
from octomem.telemetry import span

log = get_logger(__name__)


async def llm_extract(state: Routed, deps: Services) -> ExtractUpdate:
    """single_call: every routed agent's candidates from one LLM call per chunk; the
    agents it found nothing for are skipped."""
    llm = deps.llm
    types = chosen(state)
    asked = prompting(deps, types)
    meter = UsageMeter()
    routing_ = dict(state["routing"])
    update: ExtractUpdate = {}
    with span("node.llm_extract", user_id=state.get("user_id")) as current:
        try:
            if llm is None:  # routed here only with an LLM
                raise LLMError("no LLM is configured")
            turns, ctx = for_model(deps, state, state["llm_from"])
            picked, found, withheld = await extraction.single_call(
                llm,
                turns,
                ctx,
                asked,
                deps.settings.llm,
                meter,
                max_images=deps.settings.media.vision_max_images,
            )
            candidates = [
                with_caller_metadata(c, state["turns"], state.get("metadata"))
                for agent in asked
                for c in found[agent.memory_type]
            ]
            for agent in asked:
                if agent.memory_type not in picked:
                    routing_[agent.memory_type.value] = NOTHING_FOUND
            update = {
                "candidates": candidates,
                "routing": routing_,
                "withheld_originals": sorted(withheld),
            }
            current.set_attribute("octomem.candidates", len(candidates))
        except LLMError as exc:
            log.warning("llm extraction failed; using offline rules", error=str(exc))
            update = {
                "extraction": state["extraction"].model_copy(update={"failed": True}),
                "errors": [StepError(step="extraction", message=str(exc))],
                "fell_back": types,
                # what earlier chunks' replies read in their images still withholds them
                "withheld_originals": extraction.withheld_by(exc),
            }
        current.set_attribute("octomem.llm_calls", meter.usage.calls)
    return {"llm_usage": [meter.usage], **update}


async def agent(state: AgentTask, deps: Services) -> ExtractUpdate:
    """One memory agent's candidates: its offline rules, or its own LLM call (falling
    back to the rules if that call fails)."""
    mtype = state["agent"]
    memory_agent = deps.agents[mtype]
    ctx = context(deps, scope_of(state), user_name=state["user_name"], readings=state["readings"])
    update: ExtractUpdate = {}
    with span(
        "agent.extract", agent=mtype.value, user_id=state.get("user_id"), mode=state["extractor"]
    ) as current:
        found: list[MemoryBase] | None = None
        if state["extractor"] == "llm" and deps.llm is not None:
            meter = UsageMeter()
            try:
                turns, asked_ctx = for_model(deps, state, state["llm_from"])
                found, withheld = await extraction.for_agent(
                    deps.llm,
                    memory_agent,
                    turns,
                    asked_ctx,
                    deps.settings.llm,
                    meter,
                    max_images=deps.settings.media.vision_max_images,
                )
                update["withheld_originals"] = sorted(withheld)
            except LLMError as exc:
                update["errors"] = [StepError(step="extraction", agent=mtype, message=str(exc))]
                update["fell_back"] = [mtype]
                update["withheld_originals"] = extraction.withheld_by(exc)
            update["llm_usage"] = [meter.usage]
        if found is None:  # rule-based extraction is CPU work: off the event loop
            found = await asyncio.to_thread(memory_agent.extract, state["turns"], ctx)
        candidates = await offload.cpu(
            len(found),
            lambda: [with_caller_metadata(c, state["turns"], state.get("metadata")) for c in found],
        )
        current.set_attribute("octomem.candidates", len(candidates))
    return {**update, "candidates": candidates}
