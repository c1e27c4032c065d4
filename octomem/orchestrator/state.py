"""The state the process and recall graphs pass between their nodes.

Keys are named for a person stepping through a run in LangGraph Studio: `readings` is
what the language layer read in each turn, `routing` says which agents got the
conversation and why, `extraction` how they extracted, `candidates` holds each agent's
extracted memories, `decisions` the reconcile verdicts, `ranked` each retriever's list
and `result` the ranked hits. The recall graph carries a `RecallPlan` (what to search
and how to rank it) and the `SharedSearches` every agent takes its share of.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

from octomem.language import TurnReading
from octomem.models import (
    LLMUsage,
    MemoryBase,
    MemoryRecord,
    MemoryType,
    ProcessResult,
    RecallResult,
    StepError,
    Turn,
)
from octomem.plans import Decision, Extraction, RankedList, RecallPlan, SharedSearches


def _merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {**left, **right}


class ProcessState(TypedDict, total=False):
    # input: the same arguments as Orchestrator.process
    messages: Any
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    metadata: dict[str, Any] | None
    timestamp: datetime | None
    memory_types: list[MemoryType] | None
    infer: bool
    turns_in: list[Turn] | None  # reprocess: stored turns, instead of messages
    # a new version of an input (an ingested file), written in the turns' journaled write
    # (`versions`): what the caller read of its previous version, and a filter naming the
    # input (metadata key -> value) whose current records are closed under the lock
    closing: list[MemoryBase]
    version_of: dict[str, Any]
    # produced by the nodes
    started: float
    erasures: tuple[int, ...]  # the scope's erasure counts when the call began (`locks`)
    turns: list[Turn]
    stored_turns: list[str]
    added_turns: list[str]  # the raw turns this call stored (not stored before)
    asked_before: list[list[str]]  # per turn, the types the model extracted from it before
    turn_words: dict[str, str]  # raw turn id -> hash of its words as this call sends them
    llm_from: int  # the model is asked about turns[llm_from:] (`extracted.first_new`)
    llm_types: list[MemoryType]  # the types this call asks the model for
    inputs: list[Decision]  # what the input held (images, files), written with the turns
    # records written with the turns that wait on a vision model's reply (`originals.PENDING`)
    pending_originals: list[tuple[MemoryType, str]]
    # images shown to a vision model in a call whose reply held a secret, by sha256
    withheld_originals: Annotated[list[str], operator.add]
    user_name: str | None
    readings: list[TurnReading]
    extraction: Extraction
    routing: dict[str, str]
    candidates: Annotated[list[MemoryRecord], operator.add]
    # agents whose LLM extraction failed, so that their rules extracted instead
    fell_back: Annotated[list[MemoryType], operator.add]
    decisions: list[Decision]
    llm_usage: Annotated[list[LLMUsage], operator.add]
    errors: Annotated[list[StepError], operator.add]
    result: ProcessResult


class AgentTask(TypedDict):
    """What one Send to an agent node carries: the agent extracts with `extractor` (its
    offline rules, or its own LLM prompt)."""

    agent: MemoryType
    extractor: Literal["rules", "llm"]
    turns: list[Turn]
    llm_from: int  # the model is asked about turns[llm_from:], the rules about all
    readings: list[TurnReading]
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    user_name: str | None
    metadata: dict[str, Any] | None


class RecallState(TypedDict, total=False):
    # input: the same arguments as Orchestrator.recall
    query: str
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    limit: int | None
    memory_types: list[MemoryType] | None
    filters: dict[str, Any] | None
    include_superseded: bool
    now: datetime | None
    as_of: datetime | None
    # produced by the nodes
    started: float
    plan: RecallPlan
    shared: SharedSearches
    ranked: Annotated[list[RankedList], operator.add]
    records: Annotated[dict[str, Any], _merge_dicts]
    result: RecallResult


class RetrieveTask(TypedDict):
    """What one Send to the per-agent search carries."""

    agent: MemoryType
    query: str
    plan: RecallPlan
    shared: SharedSearches


if TYPE_CHECKING:  # langgraph is imported where graphs are compiled, not with octomem
    from langgraph.graph.state import CompiledStateGraph

    # the compiled graphs: state, context (none), input and output are the state's own type
    ProcessGraph = CompiledStateGraph[ProcessState, None, ProcessState, ProcessState]
    RecallGraph = CompiledStateGraph[RecallState, None, RecallState, RecallState]
