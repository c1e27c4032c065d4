"""The state the recall steps pass each other, typed step by step as the process graph's
(`process.state`); `ranked` and `records` are added up from the per-agent searches, with
the reducer in their annotation (LangGraph's, and `steps.run`'s).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Required

from typing_extensions import TypedDict  # pydantic (Studio's schemas) needs it on 3.11

from octomem.models import MemoryBase, MemoryType, RecallResult
from octomem.plans import RankedList, RecallPlan
from octomem.stores.parsed import Memo


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedSearches:
    """The searches of one query run once for all agents: its embedding, per agent the
    vector, BM25 and graph-expansion hits ((memory id, score) best first), the ids of the
    entities the query names, the records of every hit, the turns nearest the query
    without the names of the speakers it names (`unnamed`), the scope's core blocks
    (read beside the searches: every recall returns them), and the facts the vector hits'
    stale marks name (`staleness.marked_facts`)."""

    embedding: list[float]
    vector: Mapping[MemoryType, list[tuple[str, float]]]
    keyword: Mapping[MemoryType, list[tuple[str, float]]]
    graph: Mapping[MemoryType, list[tuple[str, float]]]
    entity_ids: list[str]
    records: Mapping[str, MemoryBase]
    unnamed: Mapping[MemoryType, list[tuple[str, float]]] = field(default_factory=dict)
    core: list[MemoryBase] = field(default_factory=list)
    marked: Mapping[str, MemoryBase] = field(default_factory=dict)


class RecallInput(TypedDict, total=False):
    """What a call gives: the arguments of `Orchestrator.recall`."""

    query: Required[str]
    user_id: str | None
    agent_id: str | None
    session_id: str | None
    limit: int | None
    memory_types: list[MemoryType] | None
    filters: dict[str, Any] | None
    include_superseded: bool
    now: datetime | None
    as_of: datetime | None
    started: float  # time.perf_counter() when the call began; else when planning did
    memo: Memo | None  # records parsed by the caller's earlier reads (`RecallPlan.memo`)


class Planned(RecallInput):
    """+ plan_recall: what to search and how to rank it."""

    plan: RecallPlan


class Searched(Planned):
    """+ search_shared: the searches every agent takes its share of."""

    shared: SharedSearches


class RecallState(Searched, total=False):
    """The whole state: + each agent's ranked lists and their records, and the result."""

    ranked: Annotated[list[RankedList], operator.add]
    records: Annotated[dict[str, MemoryBase], operator.or_]
    result: RecallResult


class RetrieveTask(Searched):
    """What one Send to the per-agent search carries: the state, and the agent."""

    agent: MemoryType


class PlanUpdate(TypedDict):
    started: float
    plan: RecallPlan


class SharedUpdate(TypedDict):
    shared: SharedSearches


class AgentHits(TypedDict):
    ranked: list[RankedList]  # one per retriever that found anything
    records: dict[str, MemoryBase]


class RankUpdate(TypedDict):
    result: RecallResult


if TYPE_CHECKING:  # langgraph is imported where graphs are compiled, not with octomem
    from langgraph.graph.state import CompiledStateGraph

    # the compiled graph: state, context (none), input, output
    RecallGraph = CompiledStateGraph[RecallState, None, RecallInput, RecallState]
