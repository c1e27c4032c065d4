"""What several process nodes share: the call's scope, the agents' extraction context,
the turns the model is asked about, the caller's metadata on the records a call writes,
and the user's write lock for a step."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

from octomem.agents.base import ExtractionContext, MemoryAgent
from octomem.language import TurnReading
from octomem.models import MemoryBase, MemoryType, Scope, Turn
from octomem.orchestrator import extracted
from octomem.orchestrator.process.state import (
    Normalized,
    ProcessInput,
    Routed,
    TurnsRead,
)
from octomem.orchestrator.services import Services
from octomem.stores.fence import Fence

# why route or llm_extract skipped an agent (`ProcessState.routing`)
NOTHING_FOUND = "skipped: the LLM router found nothing for it"
EXTRACTED_BEFORE = f"skipped: {extracted.REASON}"
R = TypeVar("R", bound=MemoryBase)


def scope_of(state: ProcessInput) -> Scope:
    return Scope(
        user_id=state.get("user_id"),
        agent_id=state.get("agent_id"),
        session_id=state.get("session_id"),
    )


def context(
    deps: Services,
    scope: Scope,
    *,
    user_name: str | None,
    readings: list[TurnReading] | None = None,
) -> ExtractionContext:
    """The context an agent extracts in."""
    settings = deps.settings.agents
    return ExtractionContext(
        scope=scope,
        now=deps.clock.now(),
        user_name=user_name,
        working_ttl=settings.working_ttl,
        core_char_limit=settings.core_char_limit,
        id_key=deps.id_key,
        types=deps.types,
        readings=readings,
    )


def for_model(deps: Services, state: TurnsRead, start: int) -> tuple[list[Turn], ExtractionContext]:
    """The turns the model is asked about (from `start`), and its context with the turns
    before them (which it extracted from before: `extracted`)."""
    turns = state["turns"]
    ctx = context(deps, scope_of(state), user_name=state["user_name"])
    return turns[start:], ctx.model_copy(update={"earlier": extracted.earlier(turns, start)})


def prompting(deps: Services, types: Sequence[MemoryType]) -> list[MemoryAgent]:
    """The agents of `types` that extract with the LLM when one is configured."""
    return [deps.agents[m] for m in types if deps.agents[m].prompt is not None]


def chosen(state: Routed) -> list[MemoryType]:
    """The agents routing selected."""
    return [MemoryType(m) for m, why in state["routing"].items() if why == "selected"]


def with_caller_metadata(
    record: R, turns: Sequence[Turn], call_metadata: Mapping[str, Any] | None
) -> R:
    """`record` with the caller's metadata: the call's `metadata`, overridden by the
    per-message metadata of its source turns (later turns winning), and what octomem noted
    about those turns (`Turn.internal`) in its `internal`. Keys the record already has win:
    they were set for it alone."""
    sources = set(record.source.turn_ids)
    metadata: dict[str, Any] = dict(call_metadata or {})
    internal: dict[str, Any] = {}
    for turn in turns:
        if turn.id in sources:
            metadata.update(turn.metadata)
            for key, value in turn.internal.items():
                before = internal.get(key)
                if isinstance(before, list) and isinstance(value, list):  # e.g. masked kinds
                    value = [*before, *(v for v in value if v not in before)]
                internal[key] = value
    if not metadata and not internal:
        return record
    return record.model_copy(
        update={
            "metadata": {**metadata, **record.metadata},
            "internal": {**internal, **record.internal},
        }
    )


@contextlib.asynccontextmanager
async def holding(deps: Services, state: Normalized) -> AsyncIterator[Fence]:
    """The user's write lock, for a step of this call: ConflictError (nothing written)
    if the scope was forgotten since the call began. Gives the fence its writes carry -
    that of the hold the whole call is under, if `graph.run` took one (`held`)."""
    held = state.get("held")
    if held is not None:
        yield held
        return
    user_id, agent_id = state.get("user_id"), state.get("agent_id")
    async with deps.locks.hold(user_id, since={(user_id, agent_id): state["erasures"]}) as fence:
        yield fence
