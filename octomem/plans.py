"""The plain data the engine and the agents pass each other: reconcile decisions, how a
call extracts, recall plans and the ranked lists of the retrievers. Nothing imported from
above the models, so agents and stores may use these types without depending on the
engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from octomem.models import MemoryOperation, MemoryRecord, MemoryType, Operation
from octomem.stores.parsed import Memo


class Decision(BaseModel):
    """What reconcile decided for one candidate."""

    operation: Operation
    record: MemoryRecord
    previous: list[MemoryRecord] = Field(default_factory=list)
    reason: str = ""

    def summary(self) -> MemoryOperation:
        # an ADD's previous are closed versions it shortens (`validity.in_turn`): none it replaces
        before = self.previous[0] if self.previous and self.operation is not Operation.ADD else None
        return MemoryOperation(
            operation=self.operation,
            memory_type=self.record.memory_type,
            memory_id=self.record.id,
            text=self.record.content,
            previous_id=before.id if before else None,
            previous_text=before.content if before else None,
            reason=self.reason,
        )


Retriever = Literal["vector", "keyword", "graph", "unnamed"]


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


@dataclass(frozen=True, kw_only=True, slots=True)
class RecallPlan:
    """What one recall searches and how it ranks what it finds.

    `agents` are the memory types searched (asked for and not known to be empty);
    `keyword_pool` is how many BM25 hits all of them share (None: `candidates` per
    agent searched). Scope (`user_id`, `agent_id`, `session_id`), `filters` and validity
    (`now`, `as_of`, `include_superseded`) are those of `Orchestrator.recall`;
    `agent_weights` are the configured weights with the query's cues applied; `limit`
    None means `recall.limit` of the settings. `session_scoped` are the types a session
    id narrows and `turns` the type of the raw turns, whose neighbours and stale marks
    recall reads. `periods` are the times the query names, widened. `memo`: the records
    a caller's earlier reads parsed, returned again instead of parsing the same JSON.
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
    session_scoped: frozenset[MemoryType] = frozenset()
    turns: MemoryType | None = None
    periods: Sequence[tuple[datetime, datetime]] = ()
    memo: Memo | None = field(default=None, compare=False, repr=False)
