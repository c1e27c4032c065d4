"""The MemoryAgent protocol and the shared base every agent builds on.

An agent is one pluggable unit that owns one memory type: its record model, its offline
extractor, its LLM prompt and response model, the key that makes two records the same
memory (folded into the deterministic id), the key that makes two records conflict, its
conflict policy, how a stored record absorbs a newer one, the words that say a query asks
for its memories, and optionally its own retrieval step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

from octomem.language import read_conversation
from octomem.llm_schema import LLMOutput
from octomem.memory_types import TypeRegistry
from octomem.models import (
    AttachedImage,
    MemoryBase,
    MemoryType,
    Scope,
    SemanticMemory,
    SourceRef,
    Turn,
    make_memory_id,
)

if TYPE_CHECKING:
    from octomem.language import TurnReading
    from octomem.plans import RankedList, RecallPlan

    Readings = list[TurnReading]
else:
    Readings = Any

# internal key of a candidate that says a stored fact is no longer true: reconcile closes
# the fact it names (as an LLM DELETE would) and never stores the candidate itself
RETRACTS = "retracts"
# internal key of a projected view (an agent whose `projects` names a source type): the id
# of its source record, or the source type's name for a view of a whole scope
PROJECTION_OF = "projection_of"
VIEW_EXTRACTOR = "projection"  # source.extractor of a view: "projection:<agent>"


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


@dataclass(frozen=True, kw_only=True)
class ViewContext:
    """What rendering a projected view knows besides its sources: the time of the write,
    the user's current name and the core block's size limit."""

    now: datetime
    user_name: str | None = None
    char_limit: int = 2000


def user_name_in(facts: Iterable[MemoryBase]) -> str | None:
    """The newest value of a "name" fact among `facts` (semantic facts about the user)."""
    names = [f for f in facts if isinstance(f, SemanticMemory) and f.attribute == "name"]
    names.sort(key=lambda f: (f.valid_from, f.id))
    return names[-1].value if names else None


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

    # Hooks: per-type behaviour the orchestrator asks each agent about instead of naming
    # memory types. `BaseAgent` has the defaults; an agent overrides what differs.
    session_scoped: bool  # a session id narrows its memories (recall, reconcile): working
    keeps_turns: bool  # it holds the raw turns (`turn_records`): neighbour-turn context in
    # recall and the turns that stale facts came from are its records: episodic
    marks_stale_turns: bool  # closing one of its records marks the turns it came from as
    # outdated, so recall demotes them: semantic, knowledge, procedural
    always_recalled: bool  # its records come whole with every recall (`result.core`), are
    # ranked only when asked for, and have no past versions to recall as of a time: core
    names_user: bool  # its records about the user (subject "user") state their name
    # (attribute "name"), which extraction and views use: semantic

    def turn_records(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """keeps_turns: one record per turn, with deterministic ids (`turn_record_id`)."""
        ...

    def turn_record_id(self, record: MemoryBase, turn_id: str, id_key: bytes | None) -> str:
        """keeps_turns: the id of the record of turn `turn_id` in `record`'s scope."""
        ...

    def closing(self, record: MemoryBase, at: datetime) -> dict[str, Any]:
        """Fields besides valid_to (and superseded_by) that closing `record` at `at` sets."""
        ...

    def reread(self, record: MemoryBase, text: str, user_name: str | None) -> MemoryBase:
        """`record` whose content `update()` rewrote to `text`, with its other fields read
        again from the new text (`user_name`: the user's current name, for an agent that
        `names_user`; else None)."""
        ...

    # For a SUPERSEDE agent that `finds_versions`: when no current record has a
    # candidate's conflict key, `version_of` says which of the scope's `current` records
    # of its type the candidate is a new version of (a procedure described again under
    # another title); None: none, it is new. Reconcile lists them only for such agents.
    finds_versions: bool

    def version_of(
        self, candidate: MemoryBase, current: Sequence[MemoryBase]
    ) -> MemoryBase | None: ...

    # Projection: an agent whose `projects` names a source type keeps views of that type's
    # records (one source per fact: knowledge edges and the core human block are views of
    # semantic facts). The orchestrator renders them on every write of a source, in the
    # same journaled step, and never stores an extracted copy of what a view says.
    projects: MemoryType | None
    per_source: bool  # one view per source record (a fact's edge), else one per scope

    def view_id(
        self, user_id: str | None, agent_id: str | None, source_id: str | None, id_key: bytes | None
    ) -> str:
        """The id of a new view: of the source `source_id`, or of the (user, agent) scope."""
        ...

    def render_view(
        self,
        sources: Sequence[MemoryBase],
        view_id: str,
        existing: MemoryBase | None,
        ctx: ViewContext,
    ) -> MemoryBase | None:
        """The view as `sources` now imply it (a per-source view gets its one source; a
        scope view every current source of the scope), `existing` closed if they imply
        none; None if nothing needs writing."""
        ...

    def view_at(
        self, sources: Sequence[MemoryBase], view_id: str, at: datetime, ctx: ViewContext
    ) -> MemoryBase | None:
        """A scope view as it read at `at`, from the sources valid then (recall as_of)."""
        ...

    def view_filter(self) -> dict[str, Any]:
        """Which of its records in a scope is that scope's view (scope views)."""
        ...

    def canonical(self, candidates: Sequence[MemoryBase], id_key: bytes | None) -> list[MemoryBase]:
        """Candidates of one call without second copies of what its views will say: a
        candidate of its own type that a source candidate implies is dropped, and one
        that should have been a source becomes that source (its id keyed with `id_key`)."""
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

    session_scoped: ClassVar[bool] = False
    keeps_turns: ClassVar[bool] = False
    marks_stale_turns: ClassVar[bool] = False
    always_recalled: ClassVar[bool] = False
    names_user: ClassVar[bool] = False

    def turn_records(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        raise NotImplementedError(f"{type(self).__name__} does not keep turns")

    def input_records(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Optional hook: records of what the input itself held (the text read from its
        images and files), written with the raw turns whatever the extraction mode (rules,
        LLM, or none: infer=False) and kept by id, like the turns. Default: none."""
        return []

    # whether the agent keeps what a vision model says images show (`image_records`): the
    # images of a conversation are shown in the LLM call that extracts for it
    describes_images: ClassVar[bool] = False

    def image_records(
        self, turn: Turn, image: AttachedImage, description: str, ctx: ExtractionContext
    ) -> list[MemoryBase]:
        """Optional hook (with `describes_images`): records of what a vision model said
        `image`, attached to `turn`, shows (`description`, masked). Default: none."""
        return []

    def turn_record_id(self, record: MemoryBase, turn_id: str, id_key: bytes | None) -> str:
        raise NotImplementedError(f"{type(self).__name__} does not keep turns")

    def closing(self, record: MemoryBase, at: datetime) -> dict[str, Any]:
        return {}

    def reread(self, record: MemoryBase, text: str, user_name: str | None) -> MemoryBase:
        return record

    finds_versions: ClassVar[bool] = False

    def version_of(self, candidate: MemoryBase, current: Sequence[MemoryBase]) -> MemoryBase | None:
        return None

    projects: ClassVar[MemoryType | None] = None
    per_source: ClassVar[bool] = True

    def view_id(
        self, user_id: str | None, agent_id: str | None, source_id: str | None, id_key: bytes | None
    ) -> str:
        raise NotImplementedError(f"{type(self).__name__} projects nothing")

    def render_view(
        self,
        sources: Sequence[MemoryBase],
        view_id: str,
        existing: MemoryBase | None,
        ctx: ViewContext,
    ) -> MemoryBase | None:
        raise NotImplementedError(f"{type(self).__name__} projects nothing")

    def view_at(
        self, sources: Sequence[MemoryBase], view_id: str, at: datetime, ctx: ViewContext
    ) -> MemoryBase | None:
        return None

    def view_filter(self) -> dict[str, Any]:
        return {f"internal.{PROJECTION_OF}": self.projects.value if self.projects else ""}

    def canonical(self, candidates: Sequence[MemoryBase], id_key: bytes | None) -> list[MemoryBase]:
        return list(candidates)


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
