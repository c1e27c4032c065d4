"""Pydantic records that cross a boundary: memories, turns, graph objects, results."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal, Protocol, TypeGuard

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SerializeAsAny,
    Tag,
    TypeAdapter,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)

from octomem.errors import InvalidInputError

# A timestamp far in the future, used where a backend needs a number for "never".
NEVER_TS = 32503680000.0  # 3000-01-01T00:00:00Z


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken to be UTC. A time at the edge of datetime's range whose
    offset carries it past that edge (0001-01-01T00:00+14:00) has no UTC time: an
    InvalidInputError, never an OverflowError."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInputError(
            f"{value.isoformat()} is out of range: timestamps must lie between the years "
            "1000 and 2999"
        ) from None


def _payload(parts: tuple[object, ...]) -> bytes:
    return json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")


def stable_hash(*parts: object) -> str:
    """sha256 over the JSON form of parts: the same inputs give the same hash everywhere."""
    return hashlib.sha256(_payload(parts)).hexdigest()


def keyed_hash(id_key: bytes | None, *parts: object) -> str:
    """HMAC-SHA256 under a data directory's id key (`octomem.id_key`) over the JSON form of
    parts: deterministic for one key, not derivable without it. `id_key=None` (no data
    directory: tests, records built alone) is `stable_hash`."""
    if id_key is None:
        return stable_hash(*parts)
    return hmac.new(id_key, _payload(parts), hashlib.sha256).hexdigest()


def normalize_text(text: str) -> str:
    """Text as compared: composed Unicode (NFC), lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def content_hash(text: str) -> str:
    return stable_hash(normalize_text(text))


# Every datetime that crosses a boundary is timezone-aware UTC (naive input is taken as UTC).
UTCDateTime = Annotated[datetime, AfterValidator(as_utc)]


class MemoryType(StrEnum):
    """A memory type: one of the eight built-in members, or a custom agent's type.

    A custom type is any other valid name (2-31 characters: lower-case letters, digits
    and _, starting with a letter): `MemoryType("recipe")` is a value of this class that
    is not a member (`list(MemoryType)` is always the eight built-ins) and compares and
    hashes by its name. Nothing about it is registered in the process (its prefix and
    record class: `octomem.memory_types.TypeRegistry`). Compare custom types with `==`,
    not `is`.
    """

    CORE = "core"
    EPISODIC = "episodic"
    SEMANTIC = "semantic"
    PROCEDURAL = "procedural"
    WORKING = "working"
    CONTEXTUAL = "contextual"
    KNOWLEDGE = "knowledge"
    RESOURCE = "resource"

    @classmethod
    def _missing_(cls, value: object) -> MemoryType | None:
        """A custom type: a fresh value, stored nowhere (the class is never changed)."""
        if isinstance(value, str) and _TYPE_NAME.fullmatch(value):
            return _custom_type(value)
        return None


_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]{1,30}")


def _custom_type(name: str) -> MemoryType:
    member = str.__new__(MemoryType, name)
    member._name_, member._value_ = name.upper(), name
    return member


BUILTIN_TYPES: tuple[MemoryType, ...] = tuple(MemoryType)
_BUILTIN_NAMES = frozenset(t.value for t in BUILTIN_TYPES)


def is_type_name(name: object) -> TypeGuard[str]:
    """Whether `name` is a valid custom type name or id prefix."""
    return isinstance(name, str) and _TYPE_NAME.fullmatch(name) is not None


def check_type_name(name: object, what: str = "memory type") -> str:
    """`name` if it is a valid custom type name or id prefix, else InvalidInputError."""
    if not is_type_name(name):
        raise InvalidInputError(
            f"{what} {name!r}: use 2-31 characters, lower-case letters, digits and _, "
            "starting with a letter"
        )
    return name


def id_prefix_hint(memory_type: MemoryType) -> str:
    """The id prefix of a type when nothing else says: a built-in's own, else the name."""
    return ID_PREFIX.get(memory_type, memory_type.value)


def make_memory_id(
    memory_type: MemoryType, *key: object, id_key: bytes | None = None, prefix: str | None = None
) -> str:
    """Deterministic id: the same type and key always give the same id (idempotent writes);
    keyed with the data directory's `id_key`, so nobody derives it from a user_id."""
    start = prefix if prefix is not None else id_prefix_hint(memory_type)
    return f"{start}_{keyed_hash(id_key, memory_type.value, *key)[:24]}"


class Operation(StrEnum):
    ADD = "ADD"
    UPDATE = "UPDATE"
    SUPERSEDE = "SUPERSEDE"
    DELETE = "DELETE"
    NOOP = "NOOP"


Role = Literal["user", "assistant", "system", "tool"]


class Scope(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None


# What octomem notes about a message in `Turn.internal` (and on the raw turn stored for it):
# the kinds of secrets masked in it, the non-text content parts left out of it.
TURN_NOTES = ("masked", "non_text_parts")


@dataclass(frozen=True)
class AttachedImage:
    """An image part of a message as a vision model is shown it: in memory, never stored."""

    part: int  # the content part it was, as in the provenance of its resource memory
    sha256: str  # of the bytes the caller sent
    url: str  # a data: URL, scaled down to media.vision_max_side


class Turn(BaseModel):
    """One validated, normalised message of a conversation."""

    id: str
    role: Role
    content: str
    name: str | None = None
    timestamp: UTCDateTime
    index: int
    session_id: str | None = None
    external_id: str | None = None
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="the caller's own keys for this message"
    )
    internal: dict[str, Any] = Field(
        default_factory=dict,
        description="what octomem noted about this message (masked secret kinds, non-text "
        "parts, the text read from its image and file parts: `media`)",
    )
    # its images for a vision model: never serialised, never copied into a record
    _images: list[AttachedImage] = PrivateAttr(default_factory=list)

    @property
    def images(self) -> list[AttachedImage]:
        """None unless `media.vision` is on for this call and their text held no secret."""
        return list(self._images)

    def with_images(self, images: Sequence[AttachedImage]) -> Turn:
        turn = self.model_copy()
        turn._images = list(images)
        return turn

    # the bytes of its image and file parts by sha256, read with media.keep_originals: in
    # memory only (never serialised, never in `internal`), until the blobs are written
    _originals: dict[str, bytes] = PrivateAttr(default_factory=dict)

    @property
    def originals(self) -> dict[str, bytes]:
        return self._originals

    # the values masked in any text of its call's input, as written -> their kinds: in
    # memory only (never serialised, never in `internal`, gone with the call's turns), so
    # that one a model writes without its cue is masked in its reply too (`reply_masking`)
    _secrets: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def secrets(self) -> Mapping[str, str]:
        return self._secrets

    def with_secrets(self, secrets: Mapping[str, str]) -> Turn:
        turn = self.model_copy()
        turn._secrets = dict(secrets)
        return turn


class SourceRef(BaseModel):
    """Where a memory came from: which turns, which extractor."""

    turn_ids: list[str] = Field(default_factory=list)
    message_ids: list[str] = Field(default_factory=list)
    extractor: str = "api"


class MemoryBase(BaseModel):
    """Fields every memory record carries, whatever its type.

    `metadata` holds the caller's keys and nothing else; octomem's own bookkeeping about
    a record is in `internal`, so the two never overwrite each other.
    """

    id: str
    memory_type: MemoryType
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    content: str
    created_at: UTCDateTime = Field(default_factory=utcnow)
    updated_at: UTCDateTime = Field(default_factory=utcnow)
    valid_from: UTCDateTime = Field(default_factory=utcnow)
    valid_to: UTCDateTime | None = None
    superseded_by: str | None = None
    conflict_key: str | None = None
    source: SourceRef = Field(default_factory=SourceRef)
    confidence: float = 1.0
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="the caller's keys only: process()'s and each message's metadata, update()'s",
    )
    internal: dict[str, Any] = Field(
        default_factory=dict,
        description="octomem's own bookkeeping (turn position, flags, extractor notes); "
        "callers' keys live in `metadata` and never collide with these",
    )
    content_hash: str = ""
    entities: list[str] = Field(default_factory=list)
    version: int = 1

    def model_post_init(self, context: Any, /) -> None:
        if not self.content_hash:
            self.content_hash = content_hash(self.content)

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    def expiry(self) -> datetime | None:
        """When this memory stops being recallable (working memory), else None."""
        return getattr(self, "expires_at", None)

    def is_live(self, now: datetime) -> bool:
        """Current and not expired at `now`: what recall may return."""
        expires = self.expiry()
        return self.valid_to is None and (expires is None or expires > now)

    @property
    def scope(self) -> Scope:
        return Scope(user_id=self.user_id, agent_id=self.agent_id, session_id=self.session_id)

    def item(self) -> dict[str, Any]:
        """The record as an integration shows it, JSON-ready: each adapter (the MCP server,
        the mem0-style `Memory`) picks and renames its keys from this one dict."""
        return {
            "id": self.id,
            "memory_type": self.memory_type.value,
            "content": self.content,
            "content_hash": self.content_hash,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "session_id": self.session_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "current": self.is_current,
            "metadata": self.metadata,
        }


TURN_CONTEXT = "previous_turn"  # raw-turn internal: the turn before it in the same `process` call
FACT_KEYS = "fact_keys"  # raw-turn internal: {memory id: text} of what was read from it
# internal: the surface that keeps the record's text in step with a value of its own (the
# LangGraph store): `update()` may not rewrite that text, the value would not follow
KEPT_BY = "kept_by"


def turn_context(record: MemoryBase) -> str:
    """The neighbouring context stored with a raw conversation turn (the previous turn,
    "speaker: text", already masked and truncated); "" for any other record."""
    if record.memory_type is not MemoryType.EPISODIC or record.internal.get("raw") is not True:
        return ""
    context = record.internal.get(TURN_CONTEXT)
    return context if isinstance(context, str) else ""


def fact_keys(record: MemoryBase) -> str:
    """What the agents read from a raw turn (`FACT_KEYS`: the current memories taken from
    it, `octomem.orchestrator.turn_keys`), one per line: extra search keys of the turn;
    "" for any other record."""
    if record.memory_type is not MemoryType.EPISODIC or record.internal.get("raw") is not True:
        return ""
    keys = record.internal.get(FACT_KEYS)
    if not isinstance(keys, dict):
        return ""
    texts = (text for text in keys.values() if isinstance(text, str) and text)
    return "\n".join(dict.fromkeys(texts))


def keyword_context(record: MemoryBase) -> str:
    """The text a keyword index holds beside a record's content, weighted below it: for a
    raw turn, the turn before it and what was read from it (`fact_keys`)."""
    return "\n".join(part for part in (turn_context(record), fact_keys(record)) if part)


def oldest_first(record: MemoryBase) -> tuple[datetime, int, str]:
    """The order memories are listed in: by time, the messages of one call in the order
    they were said (they share its time)."""
    index = record.internal.get("turn_index")
    return record.created_at, index if isinstance(index, int) else -1, record.id


def said_text(record: MemoryBase) -> str:
    """A record's text as a person would quote it: for a raw conversation turn, the turn as
    it was given (its content, which recall reads, names the speaker first)."""
    if record.memory_type is MemoryType.EPISODIC and record.internal.get("raw") is True:
        details, actor = getattr(record, "details", None), getattr(record, "actor", None)
        if record.content == f"{actor}: {details}":  # not since rewritten by an update
            return str(details)
    return record.content


def embedding_text(record: MemoryBase) -> str:
    """The text a record is embedded from for storage: its content, for a raw turn preceded
    by the turn before it (a short reply then carries the topic it answers) and followed by
    what was read from it (`fact_keys`)."""
    parts = (turn_context(record), record.content, fact_keys(record))
    return "\n".join(part for part in parts if part)


class CoreMemory(MemoryBase):
    """A block always given to the agent (persona / human), rewritten within its limit."""

    memory_type: Literal[MemoryType.CORE] = MemoryType.CORE
    label: str
    char_limit: int = 2000


class EpisodicMemory(MemoryBase):
    """A time-stamped event; raw conversation turns are episodic records of type 'message'."""

    memory_type: Literal[MemoryType.EPISODIC] = MemoryType.EPISODIC
    occurred_at: UTCDateTime
    actor: str
    event_type: str
    summary: str
    details: str = ""


class SemanticMemory(MemoryBase):
    """A fact about a person, thing or concept."""

    memory_type: Literal[MemoryType.SEMANTIC] = MemoryType.SEMANTIC
    subject: str
    attribute: str
    value: str


class ProceduralMemory(MemoryBase):
    """How-to knowledge: a titled, ordered list of steps."""

    memory_type: Literal[MemoryType.PROCEDURAL] = MemoryType.PROCEDURAL
    title: str
    trigger: str = ""
    steps: list[str] = Field(default_factory=list)


class WorkingMemory(MemoryBase):
    """Short-lived task state for a session."""

    memory_type: Literal[MemoryType.WORKING] = MemoryType.WORKING
    key: str
    value: str
    expires_at: UTCDateTime


class ContextualMemory(MemoryBase):
    """Situational context: location, device, app, topic, mood..."""

    memory_type: Literal[MemoryType.CONTEXTUAL] = MemoryType.CONTEXTUAL
    kind: str
    value: str


class KnowledgeMemory(MemoryBase):
    """A (subject)-[predicate]->(object) edge of the knowledge graph, with its fact text."""

    memory_type: Literal[MemoryType.KNOWLEDGE] = MemoryType.KNOWLEDGE
    subject: str
    predicate: str
    object: str
    valid_at: UTCDateTime | None = None
    invalid_at: UTCDateTime | None = None


class ResourceMemory(MemoryBase):
    """A document, link, file or image and what it is about."""

    memory_type: Literal[MemoryType.RESOURCE] = MemoryType.RESOURCE
    title: str
    resource_type: str
    uri: str | None = None
    summary: str = ""
    excerpt: str = ""
    sensitive: bool = False


class CustomMemory(MemoryBase):
    """A memory of a custom agent's type: as it is (the fields beyond the common ones in
    `attributes`), or the base of the agent's own record class (`MemoryAgent.record_type`).

    Read without its agent's class (a store given no `TypeRegistry`), a record of a custom
    type is a `CustomMemory` that keeps the fields it does not declare, so writing it back
    loses nothing."""

    model_config = ConfigDict(extra="allow")

    # a built-in type is never a custom one: says so in the JSON schema too, so that a
    # record matches exactly one member of `MemoryRecord`'s oneOf
    memory_type: Annotated[
        MemoryType,
        WithJsonSchema(
            {
                "type": "string",
                "pattern": f"^{_TYPE_NAME.pattern}$",
                "not": {"enum": [t.value for t in BUILTIN_TYPES]},
            }
        ),
    ]
    attributes: dict[str, Any] = Field(default_factory=dict)


# The key of a pydantic validation context that holds the record classes of custom types
# (an Orchestrator's `TypeRegistry`): `MemoryRecord` fields validated with it hold each
# custom record as its agent's class.
RECORD_TYPES = "octomem.record_types"


class RecordClasses(Protocol):
    def record_class(self, memory_type: MemoryType) -> type[MemoryBase]:
        """The record class of a memory type; InvalidInputError if it is not known."""
        ...


def _record_kind(data: Any) -> str:
    kind = data.get("memory_type") if isinstance(data, dict) else getattr(data, "memory_type", "")
    return str(getattr(kind, "value", kind))


def _record_tag(data: Any) -> str:
    """The union member a record payload (or record) validates as."""
    kind = _record_kind(data)
    return kind if kind in _BUILTIN_NAMES else "custom"


def _custom_record_class(
    data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> Any:
    """A custom type's record as the class `RECORD_TYPES` of the validation context gives
    its type (an unknown type fails); without one, a `CustomMemory`."""
    types: RecordClasses | None = (info.context or {}).get(RECORD_TYPES)
    if types is None or _record_tag(data) != "custom":
        return handler(data)
    record_class = types.record_class(MemoryType(_record_kind(data)))
    if isinstance(data, record_class):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump()
    return record_class.model_validate(data, context=info.context)


MemoryRecord = Annotated[
    Annotated[CoreMemory, Tag("core")]
    | Annotated[EpisodicMemory, Tag("episodic")]
    | Annotated[SemanticMemory, Tag("semantic")]
    | Annotated[ProceduralMemory, Tag("procedural")]
    | Annotated[WorkingMemory, Tag("working")]
    | Annotated[ContextualMemory, Tag("contextual")]
    | Annotated[KnowledgeMemory, Tag("knowledge")]
    | Annotated[ResourceMemory, Tag("resource")]
    # SerializeAsAny: a custom agent's record class shows its own fields too
    | Annotated[SerializeAsAny[CustomMemory], Tag("custom")],
    Discriminator(_record_tag),
    WrapValidator(_custom_record_class),
]
RECORD_ADAPTER: TypeAdapter[MemoryRecord] = TypeAdapter(MemoryRecord)

# The id prefix and record class of each built-in type; a custom type's are its agent's.
_BUILTINS: dict[MemoryType, tuple[str, type[MemoryBase]]] = {
    MemoryType.CORE: ("core", CoreMemory),
    MemoryType.EPISODIC: ("epi", EpisodicMemory),
    MemoryType.SEMANTIC: ("sem", SemanticMemory),
    MemoryType.PROCEDURAL: ("proc", ProceduralMemory),
    MemoryType.WORKING: ("work", WorkingMemory),
    MemoryType.CONTEXTUAL: ("ctx", ContextualMemory),
    MemoryType.KNOWLEDGE: ("kg", KnowledgeMemory),
    MemoryType.RESOURCE: ("res", ResourceMemory),
}
ID_PREFIX: Mapping[MemoryType, str] = MappingProxyType({t: p for t, (p, _) in _BUILTINS.items()})
RECORD_CLASS: Mapping[MemoryType, type[MemoryBase]] = MappingProxyType(
    {t: c for t, (_, c) in _BUILTINS.items()}
)


def record_from_json(payload: str | bytes, types: RecordClasses | None = None) -> MemoryBase:
    """A record from its JSON; a custom type's as `types` says, else a `CustomMemory`."""
    return RECORD_ADAPTER.validate_json(payload, context=_context(types))


def record_from_dict(payload: dict[str, Any], types: RecordClasses | None = None) -> MemoryBase:
    """A record from its dict; custom types as in `record_from_json`."""
    return RECORD_ADAPTER.validate_python(payload, context=_context(types))


def _context(types: RecordClasses | None) -> dict[str, Any] | None:
    return {RECORD_TYPES: types} if types is not None else None


# --- graph ---------------------------------------------------------------------------


class Entity(BaseModel):
    """A node of the knowledge graph, scoped to one user."""

    id: str
    user_id: str | None = None
    name: str
    entity_type: str = "entity"

    @staticmethod
    def make_id(user_id: str | None, name: str) -> str:
        """Graph-internal (no API takes an entity id) and scoped by its user; unkeyed, so
        an export restores into any data directory with the ids its edges point to."""
        return "ent_" + stable_hash(user_id, normalize_text(name))[:24]


class Relation(BaseModel):
    """An edge (subject)-[predicate]->(object) with bi-temporal validity."""

    id: str
    user_id: str | None = None
    subject_id: str
    predicate: str
    object_id: str
    fact: str = ""
    memory_id: str | None = None
    valid_at: UTCDateTime | None = None
    invalid_at: UTCDateTime | None = None
    created_at: UTCDateTime = Field(default_factory=utcnow)

    @property
    def is_current(self) -> bool:
        return self.invalid_at is None


# --- history -------------------------------------------------------------------------


class HistoryEvent(BaseModel):
    """One change to one memory. The id is deterministic, so a retried write logs once."""

    id: str
    memory_id: str
    memory_type: MemoryType
    operation: Operation
    old_value: str | None = None
    new_value: str | None = None
    at: UTCDateTime = Field(default_factory=utcnow)
    actor: str = "octomem"
    user_id: str | None = None
    record: dict[str, Any] | None = None
    # the fencing token of its user's lease the writer held, kept by the history store
    # (`fence.body`; None: no lease held), never shown, exported or compared. A vector
    # entry with an older token than its memory's last event was written late (`doctor`)
    fenced: int | None = Field(default=None, exclude=True, repr=False)
    # of a DELETE, kept the same way: whether its writer removed the record (a deletion,
    # True) or kept it closed (a retraction, False); None: not a DELETE, or logged before
    # the two were told apart (`events.leaves_entry`)
    removed: bool | None = Field(default=None, exclude=True, repr=False)

    def __eq__(self, other: object) -> bool:
        """The same change: who wrote it under which lease (`fenced`) and how it was applied
        (`removed`) are the store's."""
        if not isinstance(other, HistoryEvent):
            return NotImplemented
        return type(self) is type(other) and _the_change(self) == _the_change(other)


def _the_change(event: HistoryEvent) -> dict[str, Any]:
    return {k: v for k, v in event.__dict__.items() if k not in ("fenced", "removed")}


# --- write-ahead journal -------------------------------------------------------------


class Change(BaseModel):
    """One record written (or deleted) and the history event that logs it."""

    record: MemoryRecord
    event: HistoryEvent


StoreName = Literal["vector", "keyword", "graph", "history"]


class Restore(BaseModel):
    """A record put back as it is into some stores (a repair: the keyword index and graph
    from the canonical record, the vector store from the history log's truth); `event` is
    the repair's own, logged when "history" is among the stores."""

    record: MemoryRecord
    stores: list[StoreName]
    event: HistoryEvent | None = None


class Drop(BaseModel):
    """An entry removed from some stores with no event (a repair of entries that have no
    canonical record, or that a late write left). `memory_type` names the vector store's
    collection (possibly a type another Orchestrator's agents have)."""

    memory_id: str
    user_id: str | None
    memory_type: str | None = None
    stores: list[StoreName]


class Erase(BaseModel):
    """A `forget` of a user (or of one agent scope of a user): every trace of it removed
    from every store, its files rewritten where this process owns them. `ids`: the memory
    ids found when it began (ids only, no text), so that a run completed after a crash
    also purges what the stores it had cleared no longer list."""

    user_id: str
    agent_id: str | None = None
    ids: list[str] = Field(default_factory=list)


class IntentPart(BaseModel):
    """What a journaled write brings to the stores, as typed operations applied in the
    order of the fields. `rewrites`: records whose embedded text is unchanged, rewritten
    in the vector store alone (nothing embedded again, no history event); `entities` and
    `relations` go as they are (an import's), after the records' own."""

    events: list[HistoryEvent] = Field(default_factory=list)
    writes: list[Change] = Field(default_factory=list)
    restores: list[Restore] = Field(default_factory=list)
    rewrites: list[MemoryRecord] = Field(default_factory=list)
    deletes: list[Change] = Field(default_factory=list)
    drops: list[Drop] = Field(default_factory=list)
    retired: list[Relation] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)

    def records(self) -> list[MemoryBase]:
        return [
            *(c.record for c in self.writes),
            *(r.record for r in self.restores),
            *self.rewrites,
            *(c.record for c in self.deletes),
        ]

    def user_ids(self) -> list[str | None]:
        """The users whose data it writes, each once."""
        owned: list[HistoryEvent | MemoryBase | Entity | Relation | Drop] = [
            *self.events,
            *self.records(),
            *self.drops,
            *self.retired,
            *self.entities,
            *self.relations,
        ]
        return list(dict.fromkeys(x.user_id for x in owned))


class WriteIntent(IntentPart):
    """A write that spans stores, journaled before any store sees it and dropped once every
    store holds it; one left behind by a crash is applied again when the stores reopen.
    Applying an intent twice changes nothing (upserts by id, history events by id).

    A write too large for one journal row (a user's import, a large delete) keeps its body
    in `parts` further rows, applied after its own; `views` are rendered last, from what is
    then stored. An `erase` (a forget) is applied after all of that."""

    id: str
    at: UTCDateTime = Field(default_factory=utcnow)
    parts: int = Field(0, description="bodies (IntentPart) journaled after this one")
    users: list[str | None] = Field(
        default_factory=list, description="users its parts write (their locks are held)"
    )
    views: list[tuple[str | None, str | None]] = Field(
        default_factory=list,
        description="(user, agent) scopes whose projections are rendered again at `at` "
        "from their facts once everything else is written",
    )
    actor: str = Field("octomem", description="who the views' deletions are logged as")
    mend: bool = Field(
        False,
        description="the versions of the facts its parts write mended once they are written "
        "(`validity`): versions brought in without being reconciled, by an import",
    )
    erase: Erase | None = None

    def user_ids(self) -> list[str | None]:
        """The users whose data it writes, each once."""
        views = [user for user, _ in self.views]
        erased = [self.erase.user_id] if self.erase is not None else []
        return list(dict.fromkeys([*self.users, *super().user_ids(), *views, *erased]))


# --- consistency -----------------------------------------------------------------------


class StoreDifferences(BaseModel):
    """How one store differs from the canonical copy (the vector store), by memory id
    (for "blobs": by ``<user key>/<sha256>``; for "vector": its entries written late
    after a forget; for "validity": the versions of a fact valid at the same time as
    another, or from a time to come, in `stale`)."""

    store: Literal["vector", "keyword", "graph", "history", "projections", "blobs", "validity"]
    missing: list[str] = Field(default_factory=list, description="canonical, absent here")
    extra: list[str] = Field(default_factory=list, description="here, not canonical")
    stale: list[str] = Field(default_factory=list, description="here, differing from canonical")

    @property
    def count(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.stale)


class ConsistencyReport(BaseModel):
    """What `Orchestrator.check` found (and, with repair, fixed)."""

    records: int = Field(0, description="memories in the canonical store")
    pending_writes: int = Field(0, description="journaled writes still unfinished at the end")
    completed_writes: int = Field(0, description="interrupted writes this repair completed")
    stores: list[StoreDifferences] = Field(default_factory=list)
    repaired: bool = False
    remaining: int = Field(0, description="differences left after the repair")
    foreign: dict[str, int] = Field(
        default_factory=dict,
        description="memories of types this Orchestrator has no agent of, by type: written "
        "by another's custom agents, not checked (open the stores with those agents to)",
    )
    bidi_ids: list[str] = Field(
        default_factory=list,
        description="user, agent and session ids of stored memories that hold a bidi control "
        "(U+202A-U+202E, U+2066-U+2069), escaped: stored before ids refused them, they can "
        "be read, listed, deleted and forgotten, but no new memory is stored under them",
    )

    @property
    def differences(self) -> int:
        return sum(store.count for store in self.stores)

    @property
    def consistent(self) -> bool:
        """Every store agrees with the canonical one (after the repair, if one ran)."""
        left = self.remaining if self.repaired else self.differences
        return left == 0 and self.pending_writes == 0


class ForgetReport(BaseModel):
    """What `Orchestrator.forget` removed, per store (all zero when run again)."""

    user_id: str
    agent_id: str | None = None
    memories: dict[MemoryType, int] = Field(
        default_factory=dict, description="records (current and superseded) per memory type"
    )
    keyword_entries: int = Field(0, description="ids removed from the keyword index")
    history_events: int = 0
    graph_memories: int = Field(0, description="memory nodes, with their MENTIONS edges")
    graph_relations: int = 0
    graph_entities: int = Field(0, description="entities no remaining memory or relation uses")
    blobs: int = Field(0, description="original files removed (media.keep_originals)")
    files_rewritten: list[str] = Field(
        default_factory=list,
        description="stores whose files were rewritten so that deleted text is gone from disk "
        "(embedded: all of them; a server's own files are up to the server)",
    )
    elapsed_s: float = 0.0

    @property
    def total_memories(self) -> int:
        return sum(self.memories.values())


# --- results -------------------------------------------------------------------------


class MemoryOperation(BaseModel):
    """What reconciliation decided for one candidate and what was written."""

    operation: Operation
    memory_type: MemoryType
    memory_id: str
    text: str
    previous_id: str | None = None
    previous_text: str | None = None
    reason: str = ""
    view: bool = Field(
        False, description="a view kept in step with its fact (a knowledge edge, the core block)"
    )


class LLMUsage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class TypeCounts(BaseModel):
    """One memory type's records: current, and superseded (closed, kept as history)."""

    current: int = 0
    superseded: int = 0


# which memories a page lists (`Orchestrator.browse`): those live now (current, not
# expired), the others (superseded, invalidated, expired), or all of them, live first
ListStatus = Literal["current", "past", "all"]


class StatusCounts(BaseModel):
    """One memory type's records of a user: live now (current, not expired), and past
    (superseded, invalidated or expired, kept as history)."""

    current: int = 0
    past: int = 0


class MemoryPage(BaseModel):
    """`Orchestrator.browse()`: one page of a user's memories of one type, newest first."""

    user_id: str
    memory_type: MemoryType
    status: ListStatus
    offset: int
    total: int = Field(description="how many of the user's memories of this type are in `status`")
    records: list[MemoryRecord] = Field(default_factory=list)
    counts: dict[str, StatusCounts] = Field(
        default_factory=dict, description="per memory type of the Orchestrator: the user's counts"
    )


class GraphCounts(BaseModel):
    relations: int = 0
    invalid_relations: int = Field(0, description="closed (invalidated) relations, kept")


class StatsTotals(BaseModel):
    memories: int = 0
    current: int = 0
    history_events: int = 0


class Stats(BaseModel):
    """`Orchestrator.stats()`: counts per memory type, history events and graph size, for
    one user (`user_id`) or everyone (None)."""

    user_id: str | None = None
    users: int = 0
    memories: dict[str, TypeCounts] = Field(default_factory=dict)
    history_events: dict[str, int] = Field(default_factory=dict)
    graph: GraphCounts = Field(default_factory=GraphCounts)
    totals: StatsTotals = Field(default_factory=StatsTotals)


class StepError(BaseModel):
    """An LLM step of a `process()` that failed, and was done by the rules instead."""

    step: Literal["extraction", "reconcile"]
    agent: MemoryType | None = Field(None, description="the agent whose own LLM call failed")
    message: str

    def __str__(self) -> str:
        where = f" ({self.agent.value})" if self.agent is not None else ""
        return f"{self.step}{where}: {self.message}"


ExtractionReport = Literal["offline", "single_call", "per_agent", "offline_fallback", "none"]


class ProcessResult(BaseModel):
    operations: dict[MemoryType, list[MemoryOperation]] = Field(default_factory=dict)
    turns: list[Turn] = Field(default_factory=list)
    turn_memory_ids: list[str] = Field(default_factory=list, description="raw-turn record ids")
    added_turn_ids: list[str] = Field(
        default_factory=list,
        description="the raw turns this call stored; a turn stored before (a call made "
        "again) is in turn_memory_ids only",
    )
    agents: list[MemoryType] = Field(default_factory=list)
    llm: LLMUsage = Field(default_factory=LLMUsage)
    extraction: ExtractionReport = Field(
        "offline",
        description="how the agents extracted: by their rules (offline), with the LLM "
        "(single_call, per_agent), by their rules after the LLM failed (offline_fallback), "
        "or not at all (none: no agent ran)",
    )
    errors: list[StepError] = Field(default_factory=list, description="LLM failures, if any")
    elapsed_s: float = 0.0

    def all_operations(self) -> list[MemoryOperation]:
        return [op for ops in self.operations.values() for op in ops]

    def count(self, operation: Operation) -> int:
        return sum(1 for op in self.all_operations() if op.operation is operation)


class Provenance(BaseModel):
    """One retriever of one agent that found a hit, and at which rank (1-based)."""

    agent: MemoryType
    retriever: Literal["vector", "keyword", "graph", "unnamed", "context", "current"]
    rank: int
    score: float | None = None


class RecallHit(BaseModel):
    memory: MemoryRecord
    memory_type: MemoryType
    score: float
    provenance: list[Provenance] = Field(default_factory=list)
    replaced_by: list[MemoryRecord] = Field(
        default_factory=list,
        description="current memories that replace what this (stale) hit says; empty if none",
    )
    boosts: dict[str, float] = Field(
        default_factory=dict,
        description="factors fusion applied to this hit's score above the floor, by name: "
        "actor (a person the query names said it), time (in the query's period), stale "
        "(a current memory replaces it); empty if none",
    )

    @property
    def id(self) -> str:
        return self.memory.id

    @property
    def text(self) -> str:
        return self.memory.content


class RecallResult(BaseModel):
    query: str
    hits: list[RecallHit] = Field(default_factory=list)
    core: list[CoreMemory] = Field(default_factory=list)
    elapsed_s: float = 0.0

    def texts(self) -> list[str]:
        return [hit.memory.content for hit in self.hits]
