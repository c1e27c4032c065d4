"""The roles an agent plays, and the base every built-in agent builds on.

An agent is one pluggable unit that owns one memory type. Every agent plays three roles,
together the `MemoryAgent` protocol: extract, reconcile policy and recall hook. Some play
more: each further role is a small protocol that an agent plays by having its members; the
orchestrator finds the players (`octomem.agents.registry.Roles`, read once per set of
agents) and never names a memory type or a record class. A subclass drops a role it
inherits by setting one of the role's methods to None (as `__hash__ = None` drops
hashing): `class RankedCore(CoreAgent): block = None`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from octomem.agents.context import (
    PROJECTION_OF,
    RETRACTS,
    SAID_BY,
    VIEW_EXTRACTOR,
    AgentPrompt,
    ConflictPolicy,
    ExtractionContext,
    RecallPort,
    Retrieved,
    ViewContext,
    keep_said,
    read_turns,
    record_fields,
    said_by,
    union,
    united,
    user_turns,
)
from octomem.filters import Filter
from octomem.language import content_stems
from octomem.models import AttachedImage, CoreMemory, MemoryBase, MemoryType, Relation, Turn

if TYPE_CHECKING:
    from octomem.plans import RecallPlan

# what an agent is given (`octomem.agents.context`), found here with its roles
__all__ = [
    "PROJECTION_OF",
    "RETRACTS",
    "SAID_BY",
    "VIEW_EXTRACTOR",
    "AgentPrompt",
    "ConflictPolicy",
    "ExtractionContext",
    "RecallPort",
    "Retrieved",
    "ViewContext",
    "keep_said",
    "read_turns",
    "record_fields",
    "said_by",
    "user_turns",
]


# --- the three roles every agent plays -------------------------------------------------


class Extractor(Protocol):
    """Extract: candidate records of its type from a conversation."""

    memory_type: MemoryType
    # the class of its records: a built-in type's own, or for a custom type CustomMemory or
    # a class derived from it with typed fields; an Orchestrator reads them back as it
    record_type: type[MemoryBase]
    prompt: AgentPrompt[Any] | None  # None: the agent's rules extract, also with an LLM

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Offline (rule-based) extraction: candidate records with deterministic ids."""


class ReconcilePolicy(Protocol):
    """Reconcile: how a candidate meets what is stored."""

    policy: ConflictPolicy
    session_scoped: bool  # a session id narrows its memories (recall, reconcile): working

    def conflict_key(self, record: MemoryBase) -> str | None:
        """Records of one scope with the same conflict key hold competing values."""

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        """Whether a near-duplicate (embedding similarity) of `record` updates it."""

    def merge(self, existing: MemoryBase, candidate: MemoryBase, now: datetime) -> MemoryBase:
        """The stored record `existing` updated in place (same id) by `candidate`."""

    def closing(self, record: MemoryBase, at: datetime) -> dict[str, Any]:
        """Fields besides valid_to (and superseded_by) that closing `record` at `at` sets."""

    def reread(self, record: MemoryBase, text: str, user_name: str | None) -> MemoryBase:
        """`record` whose content `update()` rewrote to `text`, with its other fields read
        again from the new text (`user_name`: the user's current name, for an agent that
        plays `NamesUser`; else None)."""


class RecallHook(Protocol):
    """Recall: when a query asks for its memories, and how they are found."""

    query_cue: re.Pattern[str] | None  # a query it matches asks for this kind of memory

    async def retrieve(self, search: RecallPort, query: str, plan: RecallPlan) -> Retrieved | None:
        """This agent's own ranked lists and records for a recall plan, found through
        `search`; None: the default retrieval (vector, keyword and graph search of its
        memories)."""


@runtime_checkable
class MemoryAgent(Extractor, ReconcilePolicy, RecallHook, Protocol):
    """A memory agent: the roles every agent plays (extract, reconcile policy, recall)."""


# --- the roles some agents play --------------------------------------------------------

TurnPosition = tuple[str | None, str, int]  # a raw turn's (session, batch, index)


@runtime_checkable
class TurnLog(Protocol):
    """Keeps the raw turns: every turn of every call is stored as one of its records before
    extraction, whatever the mode. Recall adds a hit's neighbour turns and reads the stale
    marks on them; `reprocess` reads the turns back. One agent of an Orchestrator plays it
    (the episodic one)."""

    memory_type: MemoryType
    raw_turns: Filter  # which of its records are raw turns

    def turn_records(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """One record per turn, with deterministic ids (`turn_record_id`)."""

    def turn_record_id(self, record: MemoryBase, turn_id: str, id_key: bytes | None) -> str:
        """The id of the record of turn `turn_id` in `record`'s scope."""

    def stored_turn(self, record: MemoryBase) -> Turn | None:
        """The turn a raw-turn record was written from (same id); None for another record."""

    def turn_position(self, record: MemoryBase) -> TurnPosition | None:
        """Where a raw turn said by a named speaker sits in its call, so recall can add
        the turns beside it; None for other records."""

    def turns_at(self, positions: Iterable[TurnPosition]) -> Filter:
        """The filter of the raw turns at these positions."""


@runtime_checkable
class ViewKeeper(Protocol):
    """Keeps views of another type's records (`projects`): one source per fact, so
    knowledge edges and the core human block are views of semantic facts. The orchestrator
    renders them on every write of a source, in the same journaled step, and never stores
    an extracted copy of what a view says."""

    memory_type: MemoryType
    projects: MemoryType
    per_source: bool  # one view per source record (a fact's edge), else one per scope

    def view_id(
        self, user_id: str | None, agent_id: str | None, source_id: str | None, id_key: bytes | None
    ) -> str:
        """The id of a new view: of the source `source_id`, or of the (user, agent) scope."""

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

    def view_at(
        self, sources: Sequence[MemoryBase], view_id: str, at: datetime, ctx: ViewContext
    ) -> MemoryBase | None:
        """A scope view as it read at `at`, from the sources valid then (recall as_of)."""

    def view_filter(self) -> dict[str, Any]:
        """Which of its records in a scope is that scope's view (scope views)."""

    def canonical(self, candidates: Sequence[MemoryBase], id_key: bytes | None) -> list[MemoryBase]:
        """Candidates of one call without second copies of what its views will say: a
        candidate of its own type that a source candidate implies is dropped, and one
        that should have been a source becomes that source (its id keyed with `id_key`)."""


@runtime_checkable
class GraphProjection(Protocol):
    """Its records are written into the entity graph beyond their `entities`: the writer
    links each record's memory node to the entities it names and writes its edge (same id;
    invalid once the record is closed); deleting the record invalidates its edge, never
    deletes it; `doctor` checks that the stored edge is the one the record implies."""

    def linked_names(self, record: MemoryBase) -> list[str]:
        """The names of the entities the record's memory node links to."""

    def edge(self, record: MemoryBase) -> Relation | None:
        """The edge the record is written as; None if it is none."""


@runtime_checkable
class MarksStaleTurns(Protocol):
    """Closing one of its records marks the turns it came from as outdated, and recall
    demotes those turns for questions about what the record said (`StaleEvidence` has the
    defaults)."""

    def said(self, record: MemoryBase) -> set[str]:
        """What the record says, as content stems (`octomem.language.content_stems`),
        without whom it is about: a question naming Alice is not about every fact of hers."""

    def held_name(self, record: MemoryBase) -> str | None:
        """The value the record holds when that value is a name ("Studio Lumen"): a
        question naming it asks about the past, and the turn that said it is evidence."""


@runtime_checkable
class AlwaysRecalled(Protocol):
    """Its records come whole with every recall (`RecallResult.core`); they rank only when
    asked for, and have no past versions to recall as of a time."""

    def block(self, record: MemoryBase) -> CoreMemory | None:
        """The record as a block of `RecallResult.core`; None: not one."""


@runtime_checkable
class NamesUser(Protocol):
    """Its records about the user (subject "user") may state the user's name, which
    extraction and views use."""

    def user_name(self, record: MemoryBase) -> str | None:
        """The name the record states, if it states the user's name (attribute "name")."""


@runtime_checkable
class FindsVersions(Protocol):
    """For a SUPERSEDE agent: when no current record has a candidate's conflict key, which
    of the scope's current records of its type the candidate is a new version of (a
    procedure described again under another title); reconcile supersedes it."""

    def version_of(
        self, candidate: MemoryBase, current: Sequence[MemoryBase]
    ) -> MemoryBase | None: ...


@runtime_checkable
class InputRecords(Protocol):
    """Records of what the input itself held (the text read from its images and files),
    written with the raw turns whatever the extraction mode (rules, LLM, or none:
    infer=False) and kept by id, like the turns."""

    def input_records(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]: ...


@runtime_checkable
class DescribesImages(Protocol):
    """Keeps what a vision model says the images of a conversation show: they are shown in
    the LLM call that extracts for it."""

    def image_records(
        self, turn: Turn, image: AttachedImage, description: str, ctx: ExtractionContext
    ) -> list[MemoryBase]:
        """Records of what the model said `image`, attached to `turn`, shows
        (`description`, masked)."""


class NoNearMerge:
    """A near-duplicate (embedding similarity) of one of its records never updates it:
    ids dedupe, conflict keys supersede or update."""

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return False


class StaleEvidence:
    """The defaults of `MarksStaleTurns`: an agent derived from it plays the role."""

    def said(self, record: MemoryBase) -> set[str]:
        """Its text without its subject's words."""
        subject = getattr(record, "subject", None)
        who = content_stems(subject) if isinstance(subject, str) else set()
        return content_stems(record.content) - who

    def held_name(self, record: MemoryBase) -> str | None:
        """Its `value` when that is (part of) one of its entities."""
        value = getattr(record, "value", None)
        if not isinstance(value, str):
            return None
        return value if any(value in entity for entity in record.entities) else None


# --- the base --------------------------------------------------------------------------


class BaseAgent:
    """Defaults of the roles every agent plays; each agent overrides what differs."""

    memory_type: ClassVar[MemoryType]
    record_type: ClassVar[type[MemoryBase]]
    # a custom type's id prefix ("{id_prefix}_{hash}"); None: the type's name. Optional
    # for agents not derived from BaseAgent (`octomem.agents.registry.type_registry`).
    id_prefix: ClassVar[str | None] = None
    policy: ClassVar[ConflictPolicy] = ConflictPolicy.APPEND
    prompt: ClassVar[AgentPrompt | None] = None
    query_cue: ClassVar[re.Pattern[str] | None] = None
    session_scoped: ClassVar[bool] = False

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        return []

    def conflict_key(self, record: MemoryBase) -> str | None:
        return None

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return True

    def merge(self, existing: MemoryBase, candidate: MemoryBase, now: datetime) -> MemoryBase:
        """Default: the newer wording wins, sources are united, created_at is kept; the
        candidate's metadata and internal keys win over the stored record's."""
        source = united(existing.source, candidate.source)
        data = candidate.model_dump()
        data.update(
            id=existing.id,
            created_at=existing.created_at,
            updated_at=now,
            valid_from=existing.valid_from,
            source=source,
            metadata={**existing.metadata, **candidate.metadata},
            internal={**existing.internal, **candidate.internal},
            entities=union(existing.entities, candidate.entities),
            version=existing.version + 1,
            content_hash="",
        )
        return type(existing).model_validate(data)

    def closing(self, record: MemoryBase, at: datetime) -> dict[str, Any]:
        return {}

    def reread(self, record: MemoryBase, text: str, user_name: str | None) -> MemoryBase:
        return record

    async def retrieve(self, search: RecallPort, query: str, plan: RecallPlan) -> Retrieved | None:
        return None
