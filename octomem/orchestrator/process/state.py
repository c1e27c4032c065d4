"""The state the process graph passes between its nodes, typed stage by stage: each
stage's state is the one before it plus what its node produced (a node returns its own
update type), so a node's type says what it needs. `ProcessState` adds the keys that the
extractors running side by side add up, with the reducer in their annotation. Keys are
named for a person stepping through a run in LangGraph Studio.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from typing_extensions import TypedDict  # pydantic (Studio's schemas) needs it on 3.11

from octomem.language import TurnReading
from octomem.models import (
    HistoryEvent,
    LLMUsage,
    MemoryBase,
    MemoryType,
    ProcessResult,
    StepError,
    Turn,
)
from octomem.plans import Decision, Extraction

# --- the state, stage by stage -----------------------------------------------------------


class ProcessInput(TypedDict, total=False):
    """What a call gives: the arguments of `Orchestrator.process` (`messages`), or the
    stored turns reprocess brings again (`turns_in`)."""

    messages: Any
    turns_in: list[Turn] | None
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    metadata: dict[str, Any] | None  # the caller's; normalize masks it
    timestamp: datetime | None
    memory_types: list[MemoryType] | None
    infer: bool
    # a new version of an input (an ingested file), written in the turns' journaled write
    # (`versions`): what the caller read of its previous version, and a filter naming the
    # input (metadata key -> value) whose current records are closed under the lock
    closing: list[MemoryBase]
    version_of: dict[str, Any]
    # the scope's erasure counts when the call began (`locks`): given by a caller that
    # read what it brings before the call (reprocess), else read by normalize
    erasures: tuple[int, ...]


class Normalized(ProcessInput):
    """+ normalize: the validated turns, secrets masked (and `metadata`, `erasures` set)."""

    turns: list[Turn]
    started: float  # time.perf_counter() when the call began
    # the user's write lock, held for the rest of the call (`graph.run`: its `Fence`); not
    # set where store_turns and commit each take it (a model extracts; Studio's graph)
    held: NotRequired[Any]


class StoredTurns(TypedDict):
    """What store_turns adds (`TurnsStored`, `StoreUpdate`): the raw turns written, and what
    the model took from them before."""

    stored_turns: list[str]
    added_turns: list[str]  # the raw turns this call stored (not stored before)
    asked_before: list[list[str]]  # per turn, the types the model extracted from it before
    turn_words: dict[str, str]  # raw turn id -> hash of its words as this call sends them
    # turns stored before, sent again with words never sent before (turn id -> raw turn
    # id: an edit, read anew) or with words sent before (a replay): see `edits`
    edited_turns: dict[str, str]
    repeated_turns: list[str]
    # raw turn id -> the types the offline rules read in it with these words, and the
    # same of the replayed turns by turn id: see `rules_read`
    rules_read: dict[str, list[str]]
    retold_turns: dict[str, list[str]]
    inputs: list[Decision]  # what the input held (images, files), written with the turns
    # records written with the turns that wait on a vision model's reply (`originals.PENDING`)
    pending_originals: list[tuple[MemoryType, str]]
    # under one hold (`held`): the raw turns (and input records) with their history events,
    # left for the commit's write; empty where store_turns wrote them
    unwritten: list[tuple[MemoryBase, HistoryEvent]]
    user_name: str | None  # the user's stored name, read with the turns (`read_turns`)


class TurnsStored(Normalized, StoredTurns):
    """+ store_turns: the raw turns written, and what the model took from them before."""


class TurnsRead(TurnsStored):
    """+ read_turns: the language layer's reading of each turn."""

    readings: list[TurnReading]


class Routing(TypedDict):
    """What route adds (`Routed`, `RouteUpdate`)."""

    routing: dict[str, str]  # memory type -> "selected" or why it was skipped
    extraction: Extraction
    llm_types: list[MemoryType]  # the types this call asks the model for
    llm_from: int  # the model is asked about turns[llm_from:] (`extracted.first_new`)


class Routed(TurnsRead, Routing):
    """+ route: which agents get the conversation and why, and how they extract."""


class ProcessState(Routed, total=False):
    """The whole state: + what the extracting nodes add up, and commit's output."""

    candidates: Annotated[list[MemoryBase], operator.add]
    # agents whose LLM extraction failed, so that their rules extracted instead
    fell_back: Annotated[list[MemoryType], operator.add]
    # images shown to a vision model in a call whose reply held a secret, by sha256
    withheld_originals: Annotated[list[str], operator.add]
    llm_usage: Annotated[list[LLMUsage], operator.add]
    errors: Annotated[list[StepError], operator.add]
    decisions: list[Decision]
    result: ProcessResult


class AgentTask(Routed):
    """What one Send to an agent node carries: the routed state, and the agent that extracts
    with `extractor` (its offline rules, or its own LLM prompt)."""

    agent: MemoryType
    extractor: Literal["rules", "llm"]


# --- what each node returns ----------------------------------------------------------------


class NormalizeUpdate(TypedDict):
    turns: list[Turn]
    metadata: dict[str, Any] | None
    erasures: tuple[int, ...]
    started: float


class StoreUpdate(StoredTurns):
    turns: list[Turn]  # each stored before as first said (`intake._first_said`)
    candidates: list[MemoryBase]  # none yet: the extractors add theirs
    fell_back: list[MemoryType]


class ReadUpdate(TypedDict):
    readings: list[TurnReading]


class RouteUpdate(Routing):
    llm_usage: NotRequired[list[LLMUsage]]  # the LLM router's call (per_agent)
    errors: NotRequired[list[StepError]]
    fell_back: NotRequired[list[MemoryType]]


class ExtractUpdate(TypedDict, total=False):
    """What llm_extract or one agent node adds: candidates, and how the LLM fared."""

    candidates: list[MemoryBase]
    routing: dict[str, str]  # llm_extract: the agents its call found nothing for, skipped
    extraction: Extraction  # llm_extract: failed
    withheld_originals: list[str]
    llm_usage: list[LLMUsage]
    errors: list[StepError]
    fell_back: list[MemoryType]


class CommitUpdate(TypedDict):
    decisions: list[Decision]
    result: ProcessResult


if TYPE_CHECKING:  # langgraph is imported where graphs are compiled, not with octomem
    from langgraph.graph.state import CompiledStateGraph

    # the compiled graph: state, context (none), input, output
    ProcessGraph = CompiledStateGraph[ProcessState, None, ProcessInput, ProcessState]
