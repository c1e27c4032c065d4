"""What an agent is given: the context of an extraction (`ExtractionContext`, the turns'
readings, the fields every record of a turn shares), of a view's rendering
(`ViewContext`), of its own retrieval step (`RecallPort`), and the shape of its LLM prompt
(`AgentPrompt`). The roles an agent plays are in `octomem.agents.base`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from octomem.language import read_conversation
from octomem.llm_schema import LLMOutput
from octomem.memory_types import TypeRegistry
from octomem.models import MemoryBase, MemoryType, Scope, SourceRef, Turn, make_memory_id

if TYPE_CHECKING:
    from octomem.language import TurnReading
    from octomem.plans import RankedList

    Readings = list[TurnReading]
else:
    Readings = Any

# internal key of a candidate that says a stored fact is no longer true: reconcile closes
# the fact it names (as an LLM DELETE would) and never stores the candidate itself
RETRACTS = "retracts"
# internal key of a projected view (of an agent that plays `ViewKeeper`): the id of its
# source record, or the source type's name for a view of a whole scope
PROJECTION_OF = "projection_of"
VIEW_EXTRACTOR = "projection"  # source.extractor of a view: "projection:<agent>"
# internal key of a record read in what someone other than the user said: their name
SAID_BY = "said_by"


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
    # turns of the call before the ones the model is asked about, which it extracted from
    # before (`octomem.orchestrator.extracted`): shown to it as context only
    earlier: tuple[Turn, ...] = ()

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
    readings = read_conversation(turns, ctx.user_name, ctx.scope.user_id)
    ctx.readings = readings
    return readings


def user_turns(
    turns: Sequence[Turn], ctx: ExtractionContext, *, others: bool = False
) -> list[tuple[Turn, TurnReading]]:
    """The user's turns among `turns`, each with its reading (`read_turns`); with `others`
    also the user-role turns other speakers said (`TurnReading.speaker`)."""
    pairs = zip(turns, read_turns(turns, ctx), strict=True)
    return [
        (turn, reading)
        for turn, reading in pairs
        if turn.role == "user" and (others or reading.speaker is None)
    ]


def union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    """The items of both, each once, in order."""
    return list(dict.fromkeys([*first, *second]))


def united(first: SourceRef, second: SourceRef) -> SourceRef:
    """`first` naming the turns and messages of both, in order."""
    return first.model_copy(
        update={
            "turn_ids": union(first.turn_ids, second.turn_ids),
            "message_ids": union(first.message_ids, second.message_ids),
        }
    )


def keep_said(records: dict[str, MemoryBase], record: MemoryBase) -> None:
    """`record` kept under its id, unless a turn of the call said it later (`valid_from`);
    the one kept names every turn that said it, so a turn new to the store is seen, and
    dated, whichever turn comes last in the call."""
    if (earlier := records.get(record.id)) is not None:
        source = united(earlier.source, record.source)
        if earlier.valid_from > record.valid_from:
            record = earlier
        record.source = source
    records[record.id] = record


def said_by(reading: TurnReading) -> dict[str, str]:
    """The internal note of a record read in another speaker's turn: who said it."""
    return {SAID_BY: reading.speaker} if reading.speaker else {}


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


@dataclass(frozen=True, kw_only=True)
class ViewContext:
    """What rendering a projected view knows besides its sources: the time of the write,
    the user's current name and the core block's size limit."""

    now: datetime
    user_name: str | None = None
    char_limit: int = 2000


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

    async def nearest(
        self, memory_type: MemoryType, vector: Sequence[float], limit: int
    ) -> list[tuple[MemoryBase, float]]:
        """The memories of a type nearest the vector (cosine similarity), best first."""

    async def keyword(
        self, memory_type: MemoryType, query: str, limit: int
    ) -> list[tuple[MemoryBase, float]]:
        """The memories of a type that match the query's words (BM25), best first."""

    async def get(self, memory_type: MemoryType, ids: Sequence[str]) -> list[MemoryBase]:
        """The memories with these ids that the plan allows (others are left out)."""
