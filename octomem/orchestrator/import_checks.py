"""What an import may write, line by line: each line of an export checked on its own
(`check_line`), and rejected with its reason when it could not be stored as it is (what
the stores hold already is compared in `import_index`). A memory line (its record and
history) is accepted or rejected whole. A line is rejected here when it does not parse as
what it claims to be; its memory type is not one the importing Orchestrator knows; a
scope id, a text or a JSON value is one the API would refuse, or over the import limits;
its record and history name different memories or users; a file it says was kept is not
named by a sha256. Control characters in texts are removed (as everywhere), not rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from octomem.errors import InvalidInputError
from octomem.memory_types import TypeRegistry
from octomem.models import Entity, HistoryEvent, MemoryBase, MemoryType, Operation, Relation
from octomem.orchestrator import originals
from octomem.orchestrator.events import logged_as
from octomem.orchestrator.import_file import masked
from octomem.stores.blobs import is_sha256
from octomem.validation import MAX_DEPTH, check_json, validate_scope_id

MAX_RECORD_JSON_CHARS = 1_000_000  # one record or history event as JSON, at least
RECORD_CHARS_PER_TEXT = 5  # ... and this many characters per character of the text limit
# a caller's value (metadata, a LangGraph store value) sits this many levels below a
# history event: event -> record -> internal -> langgraph_value
RECORD_NESTING = 3
MAX_NAME_CHARS = 1_000  # entity names, predicates


class RejectedLine(BaseModel):
    """A line of an export that an import left out, and why."""

    line: int
    kind: str
    id: str | None = None
    reason: str


class TransferSummary(BaseModel):
    """What an export or import moved."""

    memories: int = 0
    deleted_memories: int = Field(0, description="memory ids with history but no record")
    unchanged: int = Field(
        0,
        description="memories an import left as the stores hold them: as the file has them "
        "already, or a later state of (their history holds every event of the line)",
    )
    history_events: int = 0
    entities: int = 0
    relations: int = 0
    blobs: int = Field(0, description="original files of images and documents")
    by_type: dict[str, int] = Field(default_factory=dict)
    rejected: list[RejectedLine] = Field(
        default_factory=list, description="lines an import left out, and why (the first 1,000)"
    )
    rejected_count: int = Field(0, description="how many lines an import left out")


class Rejected(Exception):
    """Why a line cannot be imported."""


@dataclass(eq=False)
class MemoryLine:
    """A memory line as checked: its record (None: deleted, its history kept) and events."""

    number: int
    memory_id: str
    memory_type: MemoryType
    user_id: str | None
    agent_id: str | None
    record: MemoryBase | None
    events: list[HistoryEvent]


Checked = MemoryLine | Entity | Relation | None  # None: the header
_Item = TypeVar("_Item", HistoryEvent, MemoryBase)
_Graph = TypeVar("_Graph", Entity, Relation)


def check_line(number: int, line: dict[str, Any], text_limit: int, types: TypeRegistry) -> Checked:
    """A line (masked; not a blob) as what it holds; Rejected says why it cannot be."""
    kind = line.get("type")
    body = {k: v for k, v in line.items() if k != "type"}
    if kind == "header":
        return None
    if kind == "memory":
        return _memory_line(line, number, text_limit, types)
    if kind == "entity":
        return _entity(body, text_limit)
    if kind == "relation":
        return _relation(body, text_limit)
    raise Rejected(f"unknown line type {kind!r}")


def same_event(
    logged: HistoryEvent, event: HistoryEvent, text_limit: int, types: TypeRegistry
) -> bool:
    """Whether a logged event is the change a line's (checked) `event` brings, once read
    again as an import reads a line (masked by today's rules, cleaned, hash derived again)."""
    return _same(logged, event, lambda data: _event(data, text_limit, types), lambda e: e)


def same_state(
    stored: MemoryBase, record: MemoryBase, text_limit: int, types: TypeRegistry
) -> bool:
    """Whether a stored record says what a line's (checked) `record` says - its text and
    validity, what history logs - once read again as an import reads a line."""
    return _same(stored, record, lambda data: _record(data, text_limit, types), _state)


def _same(
    stored: _Item, given: _Item, read: Callable[[Any], _Item], key: Callable[[_Item], object]
) -> bool:
    if key(stored) == key(given):
        return True
    try:
        return key(read(masked(stored.model_dump(mode="json")))) == key(given)
    except Rejected:
        return False


def _state(record: MemoryBase) -> tuple[str, datetime | None]:
    return record.content_hash, record.valid_to


def scopes_of(line: dict[str, Any]) -> set[tuple[str | None, str | None]]:
    """Every (user, agent) scope a line, its record and its history name (and each user's
    own); the line's values are checked later, so anything but a valid scope id or None is
    skipped (its line is rejected: a lone surrogate would fail the scope's hash first)."""
    items: list[Any] = [line, line.get("record")]
    history = line.get("history")
    for event in history if isinstance(history, list) else []:
        items += [event, event.get("record") if isinstance(event, dict) else None]
    found: set[tuple[str | None, str | None]] = set()
    for item in items:
        if isinstance(item, dict):
            user, agent = item.get("user_id"), item.get("agent_id")
            if _scope_id(user) and _scope_id(agent):
                found |= {(user, None), (user, agent)}
    return found


def _scope_id(value: Any) -> bool:
    try:
        validate_scope_id("scope id", value)
    except InvalidInputError:
        return False
    return True


def _clean(data: Any, what: str, text_limit: int) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Rejected(f"{what} is not an object")
    try:
        cleaned: dict[str, Any] = check_json(
            data,
            name=what,
            max_chars=max(MAX_RECORD_JSON_CHARS, RECORD_CHARS_PER_TEXT * text_limit),
            max_depth=MAX_DEPTH + RECORD_NESTING,
        )
    except InvalidInputError as exc:
        raise Rejected(str(exc)) from None
    return cleaned


def _scope(item: Any, *names: str) -> None:
    for name in names:
        try:
            validate_scope_id(name, getattr(item, name))
        except InvalidInputError as exc:
            raise Rejected(str(exc)) from None


def _text(value: str | None, what: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise Rejected(f"{what} is {len(value):,} characters; the limit is {limit:,}")


def _known(types: TypeRegistry, memory_type: Any) -> None:
    if isinstance(memory_type, str) and memory_type not in types:
        try:
            types.spec(memory_type)
        except InvalidInputError as exc:
            raise Rejected(str(exc)) from None


def _record(data: Any, text_limit: int, types: TypeRegistry) -> MemoryBase:
    cleaned = _clean(data, "the record", text_limit)
    # the hash is derived from the text as it will be stored, which masking and removing
    # control characters may have changed (for an unchanged text it is the same hash)
    cleaned["content_hash"] = ""
    _known(types, cleaned.get("memory_type"))
    try:
        record = types.record_from_dict(cleaned)
    except (ValidationError, ValueError, TypeError) as exc:
        raise Rejected(f"the record is not valid: {_first_error(exc)}") from None
    _scope(record, "user_id", "agent_id", "session_id")
    if types.type_of(record.id) != record.memory_type:
        raise Rejected(f"id {record.id!r} is not the id of a {record.memory_type.value} memory")
    if not record.content.strip():
        raise Rejected("the record's text is empty")
    _text(record.content, "the record's text", text_limit)
    _kept_names(record)
    return record


def _kept_names(record: MemoryBase) -> None:
    """A file said kept is named by its sha256: nothing else may become a blob's name."""
    for name in originals.kept_names(record):
        if not is_sha256(name):
            raise Rejected(f"a file said kept is named {name!r}, not by a sha256")


def _event(data: Any, text_limit: int, types: TypeRegistry) -> HistoryEvent:
    cleaned = _clean(data, "a history event", text_limit)
    _known(types, cleaned.get("memory_type"))
    try:
        # how a writer of this store logged it (`fenced`, `removed`) is never a file's
        event = HistoryEvent.model_validate(cleaned).model_copy(
            update={"fenced": None, "removed": None}
        )
        if event.record is not None:
            event.record["content_hash"] = _record(event.record, text_limit, types).content_hash
    except ValidationError as exc:
        raise Rejected(f"a history event is not valid: {_first_error(exc)}") from None
    except Rejected as exc:
        raise Rejected(f"the record of history event {event.id!r}: {exc}") from None
    _scope(event, "user_id")
    _text(event.old_value, "a history event's old text", text_limit)
    _text(event.new_value, "a history event's new text", text_limit)
    return event


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "value"
        return f"{where}: {error['msg']}"
    return str(exc)


def _memory_line(
    line: dict[str, Any], number: int, text_limit: int, types: TypeRegistry
) -> MemoryLine:
    history = line.get("history") or []
    if not isinstance(history, list):
        raise Rejected("history is not a list")
    events = [_event(e, text_limit, types) for e in history]
    data = line.get("record")
    record = _record(data, text_limit, types) if data is not None else None
    # an event's record is the memory's state it logs: of this memory and user too
    logged = [e.record for e in events if e.record is not None]
    ids = {e.memory_id for e in events} | ({record.id} if record else set())
    ids |= {str(r.get("id")) for r in logged}  # checked as records: their ids are text
    if line.get("id") is not None:
        if not isinstance(line["id"], str):
            raise Rejected("its id is not a string")
        ids.add(line["id"])
    if len(ids) != 1:
        raise Rejected("its record and history belong to different memory ids")
    (memory_id,) = ids
    memory_type = types.type_of(memory_id) if isinstance(memory_id, str) else None
    if memory_type is None or any(e.memory_type != memory_type for e in events):
        raise Rejected(f"{memory_id!r} is not an octomem memory id of the events' type")
    users = {e.user_id for e in events} | ({record.user_id} if record else set())
    users |= {r.get("user_id") for r in logged}
    if len(users) != 1:
        raise Rejected("its record and history belong to different users")
    (user_id,) = users
    last = events[-1] if events else None
    if record and last and last.operation is not Operation.DELETE and not logged_as(last, record):
        # the stores would disagree (`octomem doctor`): a line edited by hand, or an export
        # of stores that did (repaired there first)
        raise Rejected("its record is not what its last history event logs")
    agent_id = record.agent_id if record is not None else None
    return MemoryLine(number, memory_id, memory_type, user_id, agent_id, record, events)


def _graph_item(kind: type[_Graph], body: dict[str, Any], what: str, text_limit: int) -> _Graph:
    try:
        item = kind.model_validate(_clean(body, what, text_limit))
    except ValidationError as exc:
        raise Rejected(f"{what} is not valid: {_first_error(exc)}") from None
    _scope(item, "user_id")
    return item


def _entity(body: dict[str, Any], text_limit: int) -> Entity:
    entity = _graph_item(Entity, body, "the entity", text_limit)
    if not entity.name.strip() or not entity.id.strip():
        raise Rejected("the entity has no name or id")
    _text(entity.name, "the entity's name", MAX_NAME_CHARS)
    _text(entity.entity_type, "the entity's type", MAX_NAME_CHARS)
    return entity


def _relation(body: dict[str, Any], text_limit: int) -> Relation:
    relation = _graph_item(Relation, body, "the relation", text_limit)
    _text(relation.predicate, "the relation's predicate", MAX_NAME_CHARS)
    _text(relation.fact, "the relation's fact", text_limit)
    return relation
