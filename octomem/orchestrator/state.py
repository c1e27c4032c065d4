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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, Field

from octomem.language import TurnReading
from octomem.models import (
    LLMUsage,
    MemoryOperation,
    MemoryRecord,
    MemoryType,
    Operation,
    ProcessResult,
    RecallResult,
    Turn,
)


class Decision(BaseModel):
    """What reconcile decided for one candidate."""

    operation: Operation
    record: MemoryRecord
    previous: list[MemoryRecord] = Field(default_factory=list)
    reason: str = ""

    def summary(self) -> MemoryOperation:
        before = self.previous[0] if self.previous else None
        return MemoryOperation(
            operation=self.operation,
            memory_type=self.record.memory_type,
            memory_id=self.record.id,
            text=self.record.content,
            previous_id=before.id if before else None,
            previous_text=before.content if before else None,
            reason=self.reason,
        )


Retriever = Literal["vector", "keyword", "graph"]


class RankedList(BaseModel):
    """One retriever's ranked list for one agent: memory ids best first, with raw scores."""

    agent: MemoryType
    retriever: Retriever
    ids: list[str]
    scores: list[float]


ExtractionMode = Literal["offline", "single_call", "per_agent"]


class Extraction(BaseModel):
    """How a process call's agents extract: by their rules (offline: no LLM configured)
    or with the LLM in the configured mode."""

    mode: ExtractionMode
    # the LLM call that routes (per_agent) or routes and extracts (single_call) failed;
    # every agent extracts by its rules instead
    failed: bool = False

    @property
    def with_llm(self) -> bool:
        """The LLM routed this call (and extracts with per_agent)."""
        return self.mode != "offline" and not self.failed


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
    # produced by the nodes
    started: float
    erasures: tuple[int, ...]  # the scope's erasure counts when the call began (`locks`)
    turns: list[Turn]
    stored_turns: list[str]
    user_name: str | None
    readings: list[TurnReading]
    extraction: Extraction
    routing: dict[str, str]
    candidates: Annotated[list[MemoryRecord], operator.add]
    # agents whose LLM extraction failed, so that their rules extracted instead
    fell_back: Annotated[list[MemoryType], operator.add]
    decisions: list[Decision]
    llm_usage: Annotated[list[LLMUsage], operator.add]
    errors: Annotated[list[str], operator.add]
    result: ProcessResult


class AgentTask(TypedDict):
    """What one Send to an agent node carries: the agent extracts with `extractor` (its
    offline rules, or its own LLM prompt)."""

    agent: MemoryType
    extractor: Literal["rules", "llm"]
    turns: list[Turn]
    readings: list[TurnReading]
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    user_name: str | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True, kw_only=True, slots=True)
class RecallPlan:
    """What one recall searches and how it ranks what it finds.

    `agents` are the memory types searched (asked for and not known to be empty);
    `keyword_pool` is how many BM25 hits all of them share (None: `candidates` per
    agent searched). Scope (`user_id`, `agent_id`, `session_id`), `filters` and validity
    (`now`, `as_of`, `include_superseded`) are those of `Orchestrator.recall`;
    `agent_weights` are the configured weights with the query's cues applied; `limit`
    None means `recall.limit` of the settings.
    """

    agents: Sequence[MemoryType]
    user_id: str | None
    now: datetime
    agent_id: str | None = None
    session_id: str | None = None
    filters: dict[str, Any] | None = None
    include_superseded: bool = False
    as_of: datetime | None = None
    agent_weights: Mapping[MemoryType, float] = field(default_factory=dict)
    keyword_pool: int | None = None
    limit: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedSearches:
    """The searches of one query run once for all agents: its embedding, BM25 hits and
    graph-expansion hits ((memory id, score) best first, per agent), and the ids of the
    entities it names."""

    embedding: list[float]
    keyword: Mapping[MemoryType, list[tuple[str, float]]]
    graph: Mapping[MemoryType, list[tuple[str, float]]]
    entity_ids: list[str]


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
