"""What an import may write: every line of an export checked on its own, before anything is
written, and rejected with its reason when it could not be stored as it is or would reach
another scope's data.

A memory line (its record and history) is one unit: accepted whole or rejected whole. A
line is rejected when
- it does not parse as the record, history event, entity or relation it claims to be;
- its memory type is not one the importing Orchestrator knows (a custom agent's type it
  was not given);
- a scope id (user_id, agent_id, session_id) is one the API would refuse;
- a text is longer than the import limits, or not valid Unicode; a record or event is
  larger than 1,000,000 characters (or five times the text limit) as JSON, or holds a
  value the API would refuse (nested more than 16 levels below where it sits, an integer
  beyond ±(2**53 - 1), ...);
- its record and history (and the records its history events log) name different
  memories, or several users;
- its memory id is given by an earlier line of the file too (an export has one line per
  memory);
- an id in it belongs to another scope: a memory stored (or logged in history) for another
  user or agent, an entity or relation of another user, or the same id claimed by another
  scope earlier in the file;
- a relation links entities that are neither in the file nor stored for its user;
- a file it says was kept (`media.keep_originals`) is not named by a sha256.

A memory the store holds already, whose last logged event is not among the line's events
(it changed since the export: superseded, updated, deleted), keeps its stored state, and
its knowledge edge too: an older export imported again reopens nothing. The line's events
join its history (those logged already change nothing).

An entity is stored under the id its own user and name give (`Entity.make_id`), whatever
id the file says, and the file's relations follow it: a file cannot hold a node under the
id another user's entity gets, and an export whose ids were computed before its names
were masked keeps its edges.

Control characters in texts are removed (as everywhere else), not rejected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from octomem.errors import InvalidInputError
from octomem.memory_types import TypeRegistry
from octomem.models import (
    Entity,
    HistoryEvent,
    MemoryBase,
    MemoryType,
    Relation,
)
from octomem.orchestrator import originals
from octomem.orchestrator.services import Services
from octomem.stores.blobs import is_sha256
from octomem.validation import MAX_DEPTH, check_json, validate_scope_id

MAX_RECORD_JSON_CHARS = 1_000_000  # one record or history event as JSON, at least
RECORD_CHARS_PER_TEXT = 5  # ... and this many characters per character of the text limit
# a caller's value (metadata, a LangGraph store value) sits this many levels below a
# history event: event -> record -> internal -> langgraph_value
RECORD_NESTING = 3
MAX_NAME_CHARS = 1_000  # entity names, predicates
MAX_REPORTED = 1_000  # rejected lines listed in full; the count is always exact


class RejectedLine(BaseModel):
    """A line of an export that an import left out, and why."""

    line: int
    kind: str
    id: str | None = None
    reason: str


class _Reject(Exception):
    pass


@dataclass
class _MemoryLine:
    number: int
    memory_id: str
    memory_type: MemoryType
    user_id: str | None
    agent_id: str | None
    record: MemoryBase | None
    events: list[HistoryEvent]

    @property
    def event_ids(self) -> set[str]:
        return {event.id for event in self.events}


@dataclass
class Parts:
    """What an import writes: records, history events, entities, relations."""

    records: list[MemoryBase] = field(default_factory=list)
    events: list[HistoryEvent] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)


@dataclass
class Checked(Parts):
    """The parts of an export an import writes, and the lines it left out."""

    deleted_memories: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)
    rejected_count: int = 0

    def reject(self, number: int, kind: str, item_id: Any, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            shown = item_id if isinstance(item_id, str) else None
            self.rejected.append(RejectedLine(line=number, kind=kind, id=shown, reason=reason))


def _clean(data: Any, what: str, text_limit: int) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _Reject(f"{what} is not an object")
    try:
        cleaned: dict[str, Any] = check_json(
            data,
            name=what,
            max_chars=max(MAX_RECORD_JSON_CHARS, RECORD_CHARS_PER_TEXT * text_limit),
            max_depth=MAX_DEPTH + RECORD_NESTING,
        )
    except InvalidInputError as exc:
        raise _Reject(str(exc)) from None
    return cleaned


def _scope(item: Any, *names: str) -> None:
    for name in names:
        try:
            validate_scope_id(name, getattr(item, name))
        except InvalidInputError as exc:
            raise _Reject(str(exc)) from None


def _text(value: str | None, what: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise _Reject(f"{what} is {len(value):,} characters; the limit is {limit:,}")


def _known(types: TypeRegistry, memory_type: Any) -> None:
    """A type the importing Orchestrator has no agent of is refused by name."""
    if isinstance(memory_type, str) and memory_type not in types:
        try:
            types.spec(memory_type)
        except InvalidInputError as exc:
            raise _Reject(str(exc)) from None


def _record(data: Any, text_limit: int, types: TypeRegistry) -> MemoryBase:
    cleaned = _clean(data, "the record", text_limit)
    # the hash is derived from the text as it will be stored, which masking and removing
    # control characters may have changed (for an unchanged text it is the same hash)
    cleaned["content_hash"] = ""
    _known(types, cleaned.get("memory_type"))
    try:
        record = types.record_from_dict(cleaned)
    except (ValidationError, ValueError, TypeError) as exc:
        raise _Reject(f"the record is not valid: {_first_error(exc)}") from None
    _scope(record, "user_id", "agent_id", "session_id")
    if types.type_of(record.id) != record.memory_type:
        raise _Reject(f"id {record.id!r} is not the id of a {record.memory_type.value} memory")
    if not record.content.strip():
        raise _Reject("the record's text is empty")
    _text(record.content, "the record's text", text_limit)
    _kept_names(record)
    return record


def _kept_names(record: MemoryBase) -> None:
    """A file said kept (`media.keep_originals`) is named by its sha256: nothing else may
    become a blob's name."""
    for name in originals.kept_names(record):
        if not is_sha256(name):
            raise _Reject(f"a file said kept is named {name!r}, not by a sha256")


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
        raise _Reject(f"a history event is not valid: {_first_error(exc)}") from None
    except _Reject as exc:
        raise _Reject(f"the record of history event {event.id!r}: {exc}") from None
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
) -> _MemoryLine:
    history = line.get("history") or []
    if not isinstance(history, list):
        raise _Reject("history is not a list")
    events = [_event(e, text_limit, types) for e in history]
    data = line.get("record")
    record = _record(data, text_limit, types) if data is not None else None
    # an event's record is the memory's state it logs: of this memory and user too
    logged = [e.record for e in events if e.record is not None]
    ids = {e.memory_id for e in events} | ({record.id} if record else set())
    ids |= {str(r.get("id")) for r in logged}  # checked as records: their ids are text
    if line.get("id") is not None:
        if not isinstance(line["id"], str):
            raise _Reject("its id is not a string")
        ids.add(line["id"])
    if len(ids) != 1:
        raise _Reject("its record and history belong to different memory ids")
    (memory_id,) = ids
    memory_type = types.type_of(memory_id) if isinstance(memory_id, str) else None
    if memory_type is None or any(e.memory_type != memory_type for e in events):
        raise _Reject(f"{memory_id!r} is not an octomem memory id of the events' type")
    users = {e.user_id for e in events} | ({record.user_id} if record else set())
    users |= {r.get("user_id") for r in logged}
    if len(users) != 1:
        raise _Reject("its record and history belong to different users")
    (user_id,) = users
    agent_id = record.agent_id if record is not None else None
    return _MemoryLine(number, memory_id, memory_type, user_id, agent_id, record, events)


def _entity(body: dict[str, Any], text_limit: int) -> Entity:
    try:
        entity = Entity.model_validate(_clean(body, "the entity", text_limit))
    except ValidationError as exc:
        raise _Reject(f"the entity is not valid: {_first_error(exc)}") from None
    _scope(entity, "user_id")
    if not entity.name.strip() or not entity.id.strip():
        raise _Reject("the entity has no name or id")
    _text(entity.name, "the entity's name", MAX_NAME_CHARS)
    _text(entity.entity_type, "the entity's type", MAX_NAME_CHARS)
    return entity


def _relation(body: dict[str, Any], text_limit: int) -> Relation:
    try:
        relation = Relation.model_validate(_clean(body, "the relation", text_limit))
    except ValidationError as exc:
        raise _Reject(f"the relation is not valid: {_first_error(exc)}") from None
    _scope(relation, "user_id")
    _text(relation.predicate, "the relation's predicate", MAX_NAME_CHARS)
    _text(relation.fact, "the relation's fact", text_limit)
    return relation


async def check_lines(
    services: Services, lines: list[dict[str, Any]], *, text_limit: int
) -> Checked:
    """Split an export's lines (header first) into what an import writes and what it
    rejects; reads the stores to find ids that belong to another scope."""
    checked = Checked()
    memories: list[_MemoryLine] = []
    entities: list[tuple[int, Entity]] = []
    relations: list[tuple[int, Relation]] = []
    for number, line in enumerate(lines, 1):
        kind = line.get("type")
        body = {k: v for k, v in line.items() if k != "type"}
        try:
            if kind == "header":
                continue
            if kind == "memory":
                memories.append(_memory_line(line, number, text_limit, services.types))
            elif kind == "entity":
                entities.append((number, _entity(body, text_limit)))
            elif kind == "relation":
                relations.append((number, _relation(body, text_limit)))
            else:
                raise _Reject(f"unknown line type {kind!r}")
        except _Reject as exc:
            checked.reject(number, str(kind), line.get("id"), str(exc))

    owners = await _memory_owners(services, memories)
    latest = await _latest_events(services, memories)
    moved_on: set[str] = set()  # memories the store holds a later state of than the file
    given: set[str] = set()  # memory ids of the lines accepted so far
    for item in memories:
        claimed = owners.setdefault(item.memory_id, (item.user_id, item.agent_id))
        history_only = item.record is None and claimed[0] == item.user_id
        if claimed != (item.user_id, item.agent_id) and not history_only:
            checked.reject(
                item.number, "memory", item.memory_id, "the id belongs to another user or agent"
            )
            continue
        if item.memory_id in given:  # an export has one line per memory
            checked.reject(
                item.number, "memory", item.memory_id, "the id is given by an earlier line too"
            )
            continue
        given.add(item.memory_id)
        checked.events += item.events
        last = latest.get(item.memory_id)
        if item.record is not None and last is not None and last.id not in item.event_ids:
            # changed since the export (superseded, updated, deleted): the stored state
            # stays, the file's events join its history
            moved_on.add(item.memory_id)
            continue
        if item.record is not None:
            checked.records.append(item.record)
        else:
            checked.deleted_memories += 1

    entity_owner = await services.graph.entity_owners([e.id for _, e in entities])
    accepted: list[Entity] = []
    for number, entity in entities:
        if entity_owner.setdefault(entity.id, entity.user_id) != entity.user_id:
            checked.reject(number, "entity", entity.id, "the id belongs to another user")
        else:
            accepted.append(entity)
    checked.entities, moved = _own_ids(accepted)
    entity_owner.update({e.id: e.user_id for e in checked.entities})
    relations = [(number, _follow(relation, moved)) for number, relation in relations]

    if not relations:
        return checked
    linked = [i for _, r in relations for i in (r.subject_id, r.object_id)]
    stored = await services.graph.entity_owners([i for i in linked if i not in entity_owner])
    entity_owner.update(stored)
    relation_owner = {r.id: r.user_id for r in await services.graph.all_relations()}
    for number, relation in relations:
        ends = [entity_owner.get(i, _MISSING) for i in (relation.subject_id, relation.object_id)]
        if relation_owner.setdefault(relation.id, relation.user_id) != relation.user_id:
            checked.reject(number, "relation", relation.id, "the id belongs to another user")
        elif _MISSING in ends:
            checked.reject(number, "relation", relation.id, "it links an entity that is missing")
        elif any(owner != relation.user_id for owner in ends):
            checked.reject(number, "relation", relation.id, "it links an entity of another user")
        elif relation.memory_id not in moved_on:  # a moved-on fact's edge stays as stored
            checked.relations.append(relation)
    return checked


def _own_ids(entities: list[Entity]) -> tuple[list[Entity], dict[tuple[str | None, str], str]]:
    """Each entity under the id its own user and (masked) name give (`Entity.make_id`),
    whatever id the file says: a file cannot plant a node under the id another user's
    entity will get (their forgets would reach each other's edges), and an older export
    whose ids were computed from names it never masked keeps its edges. Also (user, id
    in the file) -> id stored, for the relations to follow."""
    moved: dict[tuple[str | None, str], str] = {}
    out: list[Entity] = []
    for entity in entities:
        own = Entity.make_id(entity.user_id, entity.name)
        if own != entity.id:
            moved[(entity.user_id, entity.id)] = own
            entity = entity.model_copy(update={"id": own})
        out.append(entity)
    return out, moved


def _follow(relation: Relation, moved: dict[tuple[str | None, str], str]) -> Relation:
    """The relation pointing at its user's entities where `_own_ids` stored them."""
    ends = {
        end: moved[(relation.user_id, value)]
        for end, value in (("subject_id", relation.subject_id), ("object_id", relation.object_id))
        if (relation.user_id, value) in moved
    }
    return relation.model_copy(update=ends) if ends else relation


_MISSING = "\x00missing"  # never a user_id: scope ids cannot hold control characters


async def _memory_owners(
    services: Services, memories: list[_MemoryLine]
) -> dict[str, tuple[str | None, str | None]]:
    """(user_id, agent_id) of each memory id stored already: from its record, else (for a
    deleted memory) the user its history names."""
    by_type: dict[MemoryType, list[str]] = defaultdict(list)
    for item in memories:
        by_type[item.memory_type].append(item.memory_id)
    owners: dict[str, tuple[str | None, str | None]] = {}
    for memory_type, ids in by_type.items():
        for start in range(0, len(ids), 500):
            for record in await services.vector.get(memory_type, ids[start : start + 500]):
                owners[record.id] = (record.user_id, record.agent_id)
    for item in memories:
        if item.memory_id in owners:
            continue
        logged = await services.history.for_memory(item.memory_id)
        if logged:
            owners[item.memory_id] = (logged[-1].user_id, item.agent_id)
    return owners


async def _latest_events(
    services: Services, memories: list[_MemoryLine]
) -> dict[str, HistoryEvent]:
    """The last event the history log holds of each memory of the lines' users."""
    found: dict[str, HistoryEvent] = {}
    for user_id in dict.fromkeys(item.user_id for item in memories if item.record is not None):
        found.update(await services.history.latest(user_id))
    return found


def scopes_named(lines: Iterable[dict[str, Any]]) -> set[tuple[str | None, str | None]]:
    """Every (user, agent) scope the lines, their records and their history name (and each
    user's own); a line's values are checked later, so anything but text or None is
    skipped."""

    def owners(item: Any) -> Iterator[dict[str, Any]]:
        if isinstance(item, dict):
            yield item
            yield from owners(item.get("record"))
            history = item.get("history")
            for event in history if isinstance(history, list) else []:
                yield from owners(event)

    found: set[tuple[str | None, str | None]] = set()
    for line in lines:
        for item in owners(line):
            user, agent = item.get("user_id"), item.get("agent_id")
            if isinstance(user, str | None) and isinstance(agent, str | None):
                found |= {(user, None), (user, agent)}
    return found
