"""The MemoryAgent protocol and the shared base every agent builds on.

An agent is one pluggable unit that owns one memory type: its record model, its offline
extractor, its LLM prompt and response model, the key that makes two records the same
memory (folded into the deterministic id), the key that makes two records conflict, its
conflict policy, how a stored record absorbs a newer one, the words that say a query asks
for its memories, and optionally its own retrieval step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

from octomem.language import read_conversation
from octomem.llm_schema import LLMOutput
from octomem.memory_types import TypeRegistry
from octomem.models import MemoryBase, MemoryType, Scope, SourceRef, Turn, make_memory_id

if TYPE_CHECKING:
    from octomem.language import TurnReading
    from octomem.plans import RankedList, RecallPlan

    Readings = list[TurnReading]
else:
    Readings = Any

# internal key of a candidate that says a stored fact is no longer true: reconcile closes
# the fact it names (as an LLM DELETE would) and never stores the candidate itself
RETRACTS = "retracts"


class ConflictPolicy(StrEnum):
    SUPERSEDE = "supersede"  # a new value closes the old record (valid_to) and adds a new one
    UPDATE = "update"  # the stored record is rewritten in place; history keeps the old text
    APPEND = "append"  # no conflicts: every distinct record is kept (near-dups still merge)


class ExtractionContext(BaseModel):
    """What an extractor knows besides the turns themselves."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    scope: Scope
    now: datetime
    user_name: str | None = None
    working_ttl: timedelta = timedelta(hours=24)
    core_char_limit: int = 2000
    id_key: bytes | None = None  # the data directory's id key (`octomem.id_key`)
    # the Orchestrator's memory types: the id prefix of each (None: `id_prefix_hint`)
    types: TypeRegistry | None = None
    # what the language layer read in each turn being extracted (`read_turns`): parsed
    # once per call, shared by every agent
    readings: Readings | None = None

    def memory_id(self, memory_type: MemoryType, *key: object, session: bool = False) -> str:
        """Deterministic id within this context's user/agent (and session if asked)."""
        scope = self.scope
        parts: tuple[object, ...] = (scope.user_id, scope.agent_id)
        if session:
            parts += (scope.session_id,)
        if self.types is not None:
            return self.types.make_id(memory_type, *parts, *key, id_key=self.id_key)
        return make_memory_id(memory_type, *parts, *key, id_key=self.id_key)


def read_turns(turns: Sequence[Turn], ctx: ExtractionContext) -> list[TurnReading]:
    """The reading of each of `turns` (`octomem.language.read_conversation`), parsed once
    per context and kept in `ctx.readings`: every agent extracting from the same turns
    shares it. "he" and "she" may name a person from an earlier user turn of the call."""
    if ctx.readings is not None and [r.turn_id for r in ctx.readings] == [t.id for t in turns]:
        return ctx.readings
    readings = read_conversation(turns, ctx.user_name)
    ctx.readings = readings
    return readings


def user_turns(turns: Sequence[Turn], ctx: ExtractionContext) -> list[tuple[Turn, TurnReading]]:
    """The user's turns among `turns`, each with its reading (`read_turns`)."""
    pairs = zip(turns, read_turns(turns, ctx), strict=True)
    return [(turn, reading) for turn, reading in pairs if turn.role == "user"]


def record_fields(turn: Turn, ctx: ExtractionContext, agent: str) -> dict[str, Any]:
    """Scope, timestamps and source shared by every record extracted from `turn`."""
    scope = ctx.scope
    return {
        "user_id": scope.user_id,
        "agent_id": scope.agent_id,
        "session_id": scope.session_id,
        "created_at": turn.timestamp,
        "updated_at": turn.timestamp,
        "valid_from": turn.timestamp,
        "source": SourceRef(
            turn_ids=[turn.id],
            message_ids=[turn.external_id or turn.id],
            extractor=f"offline:{agent}",
        ),
    }


Output = TypeVar("Output", bound=LLMOutput)


@dataclass(frozen=True)
class AgentPrompt(Generic[Output]):
    """An agent's part of the LLM extraction: its instructions (overridable in config
    under `llm.prompts.<agent>`), its response model and how a reply becomes records."""

    instructions: str
    output: type[Output]
    to_records: Callable[[Output, Sequence[Turn], ExtractionContext], list[MemoryBase]]


Retrieved = tuple[list["RankedList"], dict[str, MemoryBase]]


class RecallPort(Protocol):
    """What an agent's own retrieval step (`MemoryAgent.retrieve`) may use: searches bound
    to one recall's plan, so that whatever they return is within its scope (user, agent,
    session), filters and validity. Scores are higher for better matches."""

    async def embed(self, text: str) -> list[float]:
        """The text's embedding, as the stores hold them."""
        ...

    async def nearest(
        self, memory_type: MemoryType, vector: Sequence[float], limit: int
    ) -> list[tuple[MemoryBase, float]]:
        """The memories of a type nearest the vector (cosine similarity), best first."""
        ...

    async def keyword(
        self, memory_type: MemoryType, query: str, limit: int
    ) -> list[tuple[MemoryBase, float]]:
        """The memories of a type that match the query's words (BM25), best first."""
        ...

    async def get(self, memory_type: MemoryType, ids: Sequence[str]) -> list[MemoryBase]:
        """The memories with these ids that the plan allows (others are left out)."""
        ...


@runtime_checkable
class MemoryAgent(Protocol):
    memory_type: MemoryType
    # the class of its records: a built-in type's own, or for a custom type CustomMemory or
    # a class derived from it with typed fields; an Orchestrator reads them back as it
    record_type: type[MemoryBase]
    policy: ConflictPolicy
    prompt: AgentPrompt[Any] | None  # None: the agent's rules extract, also with an LLM
    query_cue: re.Pattern[str] | None  # a query it matches asks for this kind of memory

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Offline (rule-based) extraction: candidate records with deterministic ids."""
        ...

    def conflict_key(self, record: MemoryBase) -> str | None:
        """Records of one scope with the same conflict key hold competing values."""
        ...

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        """Whether a near-duplicate (embedding similarity) of `record` updates it."""
        ...

    def merge(self, existing: MemoryBase, candidate: MemoryBase, now: datetime) -> MemoryBase:
        """The stored record `existing` updated in place (same id) by `candidate`."""
        ...

    async def retrieve(self, search: RecallPort, query: str, plan: RecallPlan) -> Retrieved | None:
        """This agent's own ranked lists and records for a recall plan, found through
        `search`; None: the default retrieval (vector, keyword and graph search of its
        memories)."""
        ...


class BaseAgent:
    """Defaults shared by the agents; each agent overrides what differs."""

    memory_type: ClassVar[MemoryType]
    record_type: ClassVar[type[MemoryBase]]
    # a custom type's id prefix ("{id_prefix}_{hash}"); None: the type's name. Optional
    # for agents not derived from BaseAgent (`octomem.agents.registry.type_registry`).
    id_prefix: ClassVar[str | None] = None
    policy: ClassVar[ConflictPolicy] = ConflictPolicy.APPEND
    prompt: ClassVar[AgentPrompt | None] = None
    query_cue: ClassVar[re.Pattern[str] | None] = None

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        return []

    def conflict_key(self, record: MemoryBase) -> str | None:
        return None

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return True

    def merge(self, existing: MemoryBase, candidate: MemoryBase, now: datetime) -> MemoryBase:
        """Default: the newer wording wins, sources are united, created_at is kept; the
        candidate's metadata and internal keys win over the stored record's."""
        source = existing.source.model_copy(
            update={
                "turn_ids": _union(existing.source.turn_ids, candidate.source.turn_ids),
                "message_ids": _union(existing.source.message_ids, candidate.source.message_ids),
            }
        )
        data = candidate.model_dump()
        data.update(
            id=existing.id,
            created_at=existing.created_at,
            updated_at=now,
            valid_from=existing.valid_from,
            source=source,
            metadata={**existing.metadata, **candidate.metadata},
            internal={**existing.internal, **candidate.internal},
            entities=_union(existing.entities, candidate.entities),
            version=existing.version + 1,
            content_hash="",
        )
        return type(existing).model_validate(data)

    async def retrieve(self, search: RecallPort, query: str, plan: RecallPlan) -> Retrieved | None:
        return None


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
