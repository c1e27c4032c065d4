"""Export and import every memory, its history and the knowledge graph as JSON Lines; stats.

The file is one JSON object per line, each with a ``"type"``:

- ``header``: ``{"type": "header", "format": "octomem-export", "version": 1,
  "exported_at": ..., "user_id": <scope or null for everything>}`` - always the first line;
- ``memory``: ``{"type": "memory", "id", "memory_type", "record": {...} | null,
  "history": [HistoryEvent, ...]}`` - one per memory id that has a record or history;
  ``record`` is the stored record exactly as it is (current, superseded or expired) and
  null for a deleted memory whose history is still kept;
- ``entity``: a graph ``Entity``; ``relation``: a graph ``Relation`` (invalidated ones too);
- ``blob``: ``{"type": "blob", "user_id", "sha256", "data": <base64>}`` - the original
  bytes of an image or file a record says were kept (`media.keep_originals`,
  `octomem.orchestrator.originals`); last in the file.

Import writes the records back as they are - same ids, validity, hashes, versions - with
no extraction or reconciliation, restores the history events with their own ids (a second
import changes nothing) and then the graph's entities and relations. The keyword index
and the embeddings are rebuilt from the records. Blobs are checked against their sha256
before anything is written (InvalidInputError for one that does not match) and each
user's are written before that user's records, with embedded stores (a store server has no
blob directory: they are left out).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, Field

from octomem.errors import ImportRejectedError, InvalidInputError
from octomem.models import (
    Change,
    Entity,
    GraphCounts,
    HistoryEvent,
    IntentPart,
    MemoryBase,
    MemoryType,
    Operation,
    Relation,
    Stats,
    StatsTotals,
    TypeCounts,
    utcnow,
)
from octomem.orchestrator import originals, projections
from octomem.orchestrator.events import history_event
from octomem.orchestrator.import_checks import Parts, RejectedLine, check_lines, scopes_named
from octomem.orchestrator.import_file import FORMAT, VERSION, read_lines
from octomem.orchestrator.services import Services
from octomem.orchestrator.writer import write_parts
from octomem.scopes import scope_filter
from octomem.sensitive import mask_value

_BATCH = 128  # records or history events per journal part (and per store call)
_GRAPH_BATCH = 1000  # entities or relations per journal part
_SHOWN = 5  # rejected lines named in an error message

Progress = Callable[[int, int], None]  # (done, total)
Record = MemoryBase | dict[str, Any]  # a record of a type this Orchestrator lacks: its JSON


class TransferSummary(BaseModel):
    """What an export or import moved."""

    memories: int = 0
    deleted_memories: int = Field(0, description="memory ids with history but no record")
    history_events: int = 0
    entities: int = 0
    relations: int = 0
    blobs: int = Field(0, description="original files of images and documents")
    by_type: dict[str, int] = Field(default_factory=dict)
    rejected: list[RejectedLine] = Field(
        default_factory=list, description="lines an import left out, and why (the first 1,000)"
    )
    rejected_count: int = Field(0, description="how many lines an import left out")


def _user_clause(user_id: str | None) -> dict[str, Any] | None:
    return scope_filter(user_id) if user_id is not None else None


async def _collect(
    services: Services, user_id: str | None
) -> tuple[list[Record], list[HistoryEvent], list[Entity], list[Relation]]:
    """Every record (those of types this Orchestrator lacks as stored JSON objects: it
    exports them as they are), history event, entity and relation of `user_id`, or of all."""
    records: list[Record] = []
    for memory_type in services.types:
        records += await services.vector.list(memory_type, where=_user_clause(user_id))
    for found in (await services.vector.foreign_records(_user_clause(user_id))).values():
        records += found
    if user_id is not None:
        users: list[str | None] = [user_id]
    else:
        seen = {_dump(r).get("user_id") for r in records} | set(await services.history.user_ids())
        users = sorted(seen, key=lambda u: (u is not None, u or ""))
    events: list[HistoryEvent] = []
    relations: list[Relation] = []
    entities: list[Entity] = []
    for user in users:
        user_events = await services.history.for_user(user)
        events += user_events
        relations += await services.graph.relations(user, include_invalid=True)
        names: set[str] = set()
        for data in [d for d in map(_dump, records) if d.get("user_id") == user] + [
            e.record for e in user_events if e.record
        ]:
            names.update(n for n in data.get("entities") or [] if isinstance(n, str))
            if "object" in data:  # an edge (subject)-[predicate]->(object): both are nodes
                names.update(str(data.get(k) or "") for k in ("subject", "object"))
        entities += await services.graph.find_entities(user, sorted(n for n in names if n.strip()))
    return records, events, entities, relations


def _dump(record: Record) -> dict[str, Any]:
    return record if isinstance(record, dict) else record.model_dump(mode="json")


def export_lines(
    records: list[Record],
    events: list[HistoryEvent],
    entities: list[Entity],
    relations: list[Relation],
    *,
    user_id: str | None,
) -> Iterator[dict[str, Any]]:
    """The export's JSON objects, in file order."""
    yield {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "user_id": user_id,
    }
    history: dict[str, list[HistoryEvent]] = defaultdict(list)
    for event in events:
        history[event.memory_id].append(event)
    by_id = {data["id"]: data for data in map(_dump, records)}
    for memory_id in list(dict.fromkeys([*by_id, *history])):
        record = by_id.get(memory_id)
        memory_type = record["memory_type"] if record else history[memory_id][0].memory_type
        yield {
            "type": "memory",
            "id": memory_id,
            "memory_type": MemoryType(memory_type).value,
            "record": record,
            "history": [event.model_dump(mode="json") for event in history.get(memory_id, [])],
        }
    for entity in entities:
        yield {"type": "entity", **entity.model_dump(mode="json")}
    for relation in relations:
        yield {"type": "relation", **relation.model_dump(mode="json")}


def _summarise(lines: Iterable[dict[str, Any]]) -> TransferSummary:
    summary = TransferSummary()
    for line in lines:
        kind = line["type"]
        if kind == "memory":
            summary.history_events += len(line["history"])
            if line["record"] is None:
                summary.deleted_memories += 1
            else:
                summary.memories += 1
                mtype = line["memory_type"]
                summary.by_type[mtype] = summary.by_type.get(mtype, 0) + 1
        elif kind == "entity":
            summary.entities += 1
        elif kind == "relation":
            summary.relations += 1
        elif kind == "blob":
            summary.blobs += 1
    return summary


async def export_jsonl(
    services: Services,
    target: str | os.PathLike[str] | IO[str],
    *,
    user_id: str | None = None,
    progress: Progress | None = None,
) -> TransferSummary:
    """Write every memory (of `user_id`, or of everyone) with its history, and the graph.

    A file is written whole or not at all (a temporary file renamed into place), readable
    by its owner only: it holds what people told their assistants."""
    is_path = isinstance(target, str | os.PathLike)
    if not is_path and not callable(getattr(target, "write", None)):
        raise InvalidInputError(
            f"export target must be a file path or a writable text stream, got "
            f"{type(target).__name__}"
        )
    records, events, entities, relations = await _collect(services, user_id)
    lines = list(export_lines(records, events, entities, relations, user_id=user_id))
    lines += await originals.export_lines(services, records)

    def write(stream: IO[str]) -> None:
        for done, line in enumerate(lines, 1):
            stream.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            if progress is not None:
                progress(done, len(lines))

    if isinstance(target, str | os.PathLike):
        _write_file(Path(target), write)
    else:
        write(target)
    return _summarise(lines)


def _write_file(path: Path, write: Callable[[IO[str]], None]) -> None:
    if path.is_dir():
        raise InvalidInputError(f"cannot export to {path}: it is a folder")
    if not path.parent.is_dir():
        raise InvalidInputError(f"cannot export to {path}: folder {path.parent} does not exist")
    partial = path.with_name(f".{path.name}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInputError(f"cannot export to {path}: {exc.strerror or exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# what an import never masks: ids, hashes, scopes, times, kinds - the structure of a line,
# of the record it holds and of its history events; the same names deeper (in metadata)
# are text like any other. A history event's actor and a record's extractor (in its
# `source`) are free text a file may hold anything in: masked.
_STRUCTURE = frozenset(
    "type format version id memory_id memory_type user_id agent_id session_id content_hash "
    "subject_id object_id operation at created_at updated_at exported_at valid_from "
    "valid_to valid_at invalid_at expires_at occurred_at".split()
)
_SOURCE_IDS = frozenset({"turn_ids", "message_ids"})  # a record's source: the ids it names
# a record's `internal`: a LangGraph item's namespace and key are identifiers, stored as
# put (not masked), that the item is found by
_INTERNAL_IDS = frozenset({"langgraph_namespace", "langgraph_key"})
# a line's record and events, an event's record; a record's source and internal
_HOLDS_PARTS = ("record", "history", "source", "internal")


def _masked(part: Any) -> Any:
    """A line (or the record or history event it holds) with every secret in its text
    masked, but for the values of its own structure keys (content hashes are derived
    again from the masked text when the line is checked: `import_checks`)."""
    if not isinstance(part, dict):
        return mask_value(part)
    out: dict[str, Any] = mask_value(
        {k: v for k, v in part.items() if k not in _STRUCTURE and k not in _HOLDS_PARTS}
    )
    for key, value in part.items():
        if key in _STRUCTURE:
            out[key] = value
        elif key == "record":
            out[key] = None if value is None else _masked(value)
        elif key == "history":
            out[key] = [_masked(e) for e in value] if isinstance(value, list) else mask_value(value)
        elif key in ("source", "internal"):
            ids = _SOURCE_IDS if key == "source" else _INTERNAL_IDS
            out[key] = (
                {k: v if k in ids else mask_value(v) for k, v in value.items()}
                if isinstance(value, dict)
                else mask_value(value)
            )
    return out


async def import_jsonl(
    services: Services,
    source: str | os.PathLike[str] | IO[str] | IO[bytes],
    *,
    progress: Progress | None = None,
    skip_invalid: bool = False,
) -> TransferSummary:
    """Restore an export exactly: records as they were, history events, entities, relations
    - with any secret in their text masked (an export written by another tool, or edited,
    may hold some).

    Every line is checked first (`orchestrator.import_checks`). If any could not be stored as
    it is, or would reach another scope's data, nothing is imported: ImportRejectedError lists
    them. With `skip_invalid=True` the other lines are imported and the summary's
    `rejected` lists the ones left out."""

    def parsed() -> tuple[list[dict[str, Any]], dict[tuple[str | None, str], bytes]]:
        lines = read_lines(
            source,
            max_bytes=services.settings.service.max_import_bytes,
            max_line_bytes=services.settings.input.max_import_line_bytes,
        )
        blobs = originals.parse_blob_lines(
            (line for line in lines if line["type"] == "blob"), services.settings.media
        )
        return [_masked(line) for line in lines if line["type"] != "blob"], blobs

    lines, blobs = await asyncio.to_thread(parsed)
    # a forget of a scope of the file from here on makes the import store nothing of it
    seen = {scope: await services.locks.erasures(*scope) for scope in scopes_named(lines)}
    text_limit = 2 * services.settings.input.max_message_chars
    checked = await check_lines(services, lines, text_limit=text_limit)
    if checked.rejected_count and not skip_invalid:
        shown = "; ".join(
            f"line {r.line} ({r.kind}): {r.reason}" for r in checked.rejected[:_SHOWN]
        )
        more = checked.rejected_count - min(_SHOWN, len(checked.rejected))
        raise ImportRejectedError(
            f"{checked.rejected_count} line(s) of the export cannot be imported, so nothing "
            f"was (import with skip_invalid=True to store the rest): {shown}"
            + (f"; and {more} more" if more > 0 else ""),
            list(checked.rejected),
        )
    records, events = checked.records, checked.events
    entities, relations = checked.entities, checked.relations
    total = len(records) + len(events) + len(entities) + len(relations)
    done = 0

    def advance(part: IntentPart) -> None:
        nonlocal done
        done += len(part.events) + len(part.writes) + len(part.entities) + len(part.relations)
        if progress is not None:
            progress(done, total)

    # one user at a time, under that user's lock, as one journaled write kept in bounded
    # parts: history first, in file order (oldest first per memory), ids as they were; then
    # the records; then the graph as it was (entity types, and edges of deleted or
    # invalidated knowledge); then the projections of the facts imported (an export is
    # consistent already and writes none; a file with lines left out is not)
    parts: dict[str | None, Parts] = defaultdict(Parts)
    for event in events:
        parts[event.user_id].events.append(event)
    for record in records:
        parts[record.user_id].records.append(record)
    for entity in entities:
        parts[entity.user_id].entities.append(entity)
    for relation in relations:
        parts[relation.user_id].relations.append(relation)
    last_event = {event.memory_id: event for event in events}
    restored = 0
    for user_id in sorted(parts, key=lambda u: (u is not None, u or "")):
        part = parts[user_id]
        written: list[int] = []

        async def restore(
            user_id: str | None = user_id, records: Any = part.records, written: Any = written
        ) -> None:
            written.append(await originals.restore(services, user_id, blobs, records))

        scopes = dict.fromkeys([(user_id, None), *_agent_scopes(user_id, part)])
        async with services.locks.hold(user_id, since={s: seen[s] for s in scopes if s in seen}):
            # the blobs inside the journaled write, before its parts: a crash leaves
            # none of them once the reopen drops an import whose parts were not all in
            await write_parts(
                services,
                _intent_parts(part, last_event),
                views=projections.fact_scopes(services, part.records),
                actor="import",
                done=advance,
                first=restore,
            )
        restored += sum(written)
    summary = TransferSummary(
        memories=len(records),
        deleted_memories=checked.deleted_memories,
        history_events=len(events),
        entities=len(entities),
        relations=len(relations),
        blobs=restored,
        rejected=checked.rejected,
        rejected_count=checked.rejected_count,
    )
    for record in records:
        kind = record.memory_type.value
        summary.by_type[kind] = summary.by_type.get(kind, 0) + 1
    return summary


def _agent_scopes(user_id: str | None, part: Parts) -> list[tuple[str | None, str | None]]:
    agents = [r.agent_id for r in part.records]
    agents += [(e.record or {}).get("agent_id") for e in part.events]
    return [(user_id, a) for a in agents if isinstance(a, str)]


def _intent_parts(part: Parts, last_event: dict[str, HistoryEvent]) -> list[IntentPart]:
    """One user's import as bounded journal parts, in the order they are written."""

    def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
        return (items[start : start + size] for start in range(0, len(items), size))

    changes = [
        Change(
            record=r, event=last_event.get(r.id) or history_event(r, Operation.ADD, actor="import")
        )
        for r in part.records
    ]
    return [
        *(IntentPart(events=batch) for batch in chunks(part.events, _BATCH)),
        *(IntentPart(writes=batch) for batch in chunks(changes, _BATCH)),
        *(IntentPart(entities=batch) for batch in chunks(part.entities, _GRAPH_BATCH)),
        *(IntentPart(relations=batch) for batch in chunks(part.relations, _GRAPH_BATCH)),
    ]


async def stats(services: Services, *, user_id: str | None = None) -> Stats:
    """Counts per memory type (current / superseded), history events and graph size."""
    where = _user_clause(user_id)
    memories: dict[str, TypeCounts] = {}
    for memory_type in services.types:
        total = await services.vector.count(memory_type, where=where)
        current_where: dict[str, Any] = {"valid_to": None}
        if where:
            current_where = {"AND": [where, current_where]}
        current = await services.vector.count(memory_type, where=current_where)
        memories[memory_type.value] = TypeCounts(current=current, superseded=total - current)
    for kind, found in (await services.vector.foreign_records(where)).items():
        current = sum(1 for record in found if record.get("valid_to") is None)
        memories[kind] = TypeCounts(current=current, superseded=len(found) - current)
    users: list[str | None] = (
        [user_id] if user_id is not None else list(await services.history.user_ids())
    )
    history: dict[str, int] = dict.fromkeys(memories, 0)
    relations = invalid = 0
    for user in users:
        for event in await services.history.for_user(user):
            kind = event.memory_type.value
            history[kind] = history.get(kind, 0) + 1
        for relation in await services.graph.relations(user, include_invalid=True):
            relations += 1
            invalid += relation.invalid_at is not None
    return Stats(
        user_id=user_id,
        users=len(users),
        memories=memories,
        history_events=history,
        graph=GraphCounts(relations=relations, invalid_relations=invalid),
        totals=StatsTotals(
            memories=sum(m.current + m.superseded for m in memories.values()),
            current=sum(m.current for m in memories.values()),
            history_events=sum(history.values()),
        ),
    )
