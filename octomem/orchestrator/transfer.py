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

Import writes the records back as they are (same ids, validity, hashes, versions; no
extraction or reconciliation), the history events with their own ids, then the graph;
the keyword index and the embeddings are rebuilt from the records. The file is read once,
in bounded pieces (`import_file`), checked line by line against the stores
(`import_checks`, `import_index`) and kept, masked, in a spool it is written from a
journal part at a time (`import_spool`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from octomem.errors import ImportRejectedError, InvalidInputError, OctomemError
from octomem.models import (
    Entity,
    GraphCounts,
    HistoryEvent,
    IntentPart,
    MemoryBase,
    MemoryType,
    Relation,
    Stats,
    StatsTotals,
    TypeCounts,
    utcnow,
)
from octomem.orchestrator import originals
from octomem.orchestrator.import_checks import TransferSummary as TransferSummary
from octomem.orchestrator.import_file import FORMAT, VERSION, Source, read_lines
from octomem.orchestrator.import_index import Index, check_lines
from octomem.orchestrator.import_spool import Spool, UserPlan, blobs_of, give_back, parts_of
from octomem.orchestrator.retrieval import every_record
from octomem.orchestrator.services import Services
from octomem.orchestrator.write import blobs as kept
from octomem.orchestrator.write import write_parts
from octomem.scopes import scope_filter

_SHOWN = 5  # rejected lines named in an error message

Progress = Callable[[int, int], None]  # (done, total)
Record = MemoryBase | dict[str, Any]  # a record of a type this Orchestrator lacks: its JSON


def _user_clause(user_id: str | None) -> dict[str, Any] | None:
    return scope_filter(user_id) if user_id is not None else None


async def _collect(
    services: Services, user_id: str | None
) -> tuple[list[Record], list[HistoryEvent], list[Entity], list[Relation]]:
    """Every record (of a type this Orchestrator lacks: its stored JSON), history event,
    entity and relation of `user_id`, or of all."""
    records: list[Record] = [*await every_record(services, _user_clause(user_id))]
    for found in (await services.vector.foreign_records(_user_clause(user_id))).values():
        records += found
    if user_id is not None:
        users: list[str | None] = [user_id]
    else:
        seen = {originals.user_of(r) for r in records} | set(await services.history.user_ids())
        users = sorted(seen, key=lambda u: (u is not None, u or ""))
    events: list[HistoryEvent] = []
    relations: list[Relation] = []
    entities: list[Entity] = []
    for user in users:
        user_events = await services.history.for_user(user)
        events += user_events
        relations += await services.graph.relations(user)
        names: set[str] = set()
        for record in [r for r in records if originals.user_of(r) == user] + [
            e.record for e in user_events if e.record
        ]:
            names.update(_linked(services, record))
        entities += await services.graph.find_entities(user, sorted(n for n in names if n.strip()))
    return records, events, entities, relations


def _dump(record: Record) -> dict[str, Any]:
    return record if isinstance(record, dict) else record.model_dump(mode="json")


def _linked(services: Services, record: Record) -> list[str]:
    """The names of the entities a record links in the graph (of a type this Orchestrator
    lacks: its `entities`)."""
    if isinstance(record, MemoryBase):
        return services.roles.linked_names(record)
    if record.get("memory_type") in services.roles.graph:  # a past version: read it
        with contextlib.suppress(ValueError, OctomemError):
            return services.roles.linked_names(services.types.record_from_dict(record))
    return [n for n in record.get("entities") or [] if isinstance(n, str)]


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


def _summarise(lines: Sequence[dict[str, Any]]) -> TransferSummary:
    kinds = Counter(line["type"] for line in lines)
    memories = [line for line in lines if line["type"] == "memory"]
    stored = [line for line in memories if line["record"] is not None]
    return TransferSummary(
        memories=len(stored),
        deleted_memories=len(memories) - len(stored),
        history_events=sum(len(line["history"]) for line in memories),
        entities=kinds["entity"],
        relations=kinds["relation"],
        blobs=kinds["blob"],
        by_type=dict(Counter(line["memory_type"] for line in stored)),
    )


async def export_jsonl(
    services: Services,
    target: str | os.PathLike[str] | IO[str],
    *,
    user_id: str | None = None,
    progress: Progress | None = None,
) -> TransferSummary:
    """Write every memory (of `user_id`, or of everyone) with its history, and the graph. A
    file is written whole or not at all, readable by its owner only."""
    if not isinstance(target, str | os.PathLike) and not callable(getattr(target, "write", None)):
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


async def import_jsonl(
    services: Services,
    source: Source,
    *,
    progress: Progress | None = None,
    skip_invalid: bool = False,
) -> TransferSummary:
    """Restore an export exactly, with any secret in its text masked. Every line is checked
    against the stores before anything is written (`import_index`): if any could not be
    stored as it is, nothing is imported (ImportRejectedError lists them), unless
    `skip_invalid` (the summary's `rejected` lists the lines left out). What the stores hold
    already as the file has it is left alone (`unchanged`). Each user's part is then one
    journaled write of bounded parts, under that user's lock."""
    limits = services.settings
    lines = read_lines(
        source,
        max_bytes=limits.service.max_import_bytes,
        max_line_bytes=limits.input.max_import_line_bytes,
    )
    text_limit = 2 * limits.input.max_message_chars
    with contextlib.closing(lines), contextlib.closing(Spool(limits.store_dir)) as spool:
        # a forget of a scope once a line naming it is read stores nothing of it (`seen`)
        index = await check_lines(services, lines, spool, text_limit=text_limit)
        summary = index.summary
        if summary.rejected_count and not skip_invalid:
            raise _refused(summary)
        summary.blobs = await _write(services, index, spool, progress)
    return summary


def _refused(summary: TransferSummary) -> ImportRejectedError:
    rejected = summary.rejected
    shown = "; ".join(f"line {r.line} ({r.kind}): {r.reason}" for r in rejected[:_SHOWN])
    more = summary.rejected_count - min(_SHOWN, len(rejected))
    return ImportRejectedError(
        f"{summary.rejected_count} line(s) of the export cannot be imported, so nothing "
        f"was (import with skip_invalid=True to store the rest): {shown}"
        + (f"; and {more} more" if more > 0 else ""),
        list(rejected),
    )


async def _write(services: Services, index: Index, spool: Spool, progress: Progress | None) -> int:
    """Write each user's part of the import under that user's lock, as one journaled write
    of bounded parts: history in file order, records, the graph as it was, then the
    projections of the facts imported. How many blobs it wrote."""
    total = sum(plan.items for plan in index.users.values())
    done = restored = 0

    def advance(part: IntentPart) -> None:
        nonlocal done
        done += len(part.events) + len(part.writes) + len(part.deletes)
        done += len(part.entities) + len(part.relations)
        give_back()  # what applying the part freed (one part is held at a time)
        if progress is not None:
            progress(done, total)

    for user_id in sorted(index.users, key=lambda u: (u is not None, u or "")):
        plan = index.users[user_id]
        if not plan.parts:
            continue  # nothing new (a blob its records do not name is not written)
        seen = {scope: index.seen[scope] for scope in plan.scopes if scope in index.seen}
        written: list[int] = []

        async def restore(
            user_id: str | None = user_id, plan: UserPlan = plan, written: list[int] = written
        ) -> None:
            blobs = blobs_of(spool, plan)
            written.append(await kept.restore(services, user_id, blobs, plan.wanted))

        async with services.locks.hold(user_id, since=seen) as fence:
            # the blobs inside the journaled write, before its parts: a crash leaves none
            await write_parts(
                services,
                fence,
                parts_of(spool, plan, services.types, index.moved),
                count=plan.parts,
                users=[user_id],
                views=sorted(plan.views, key=lambda s: tuple((p is not None, p or "") for p in s)),
                actor="import",
                mend=True,  # another directory's versions of a fact: one current after
                done=advance,
                first=restore,
            )
        restored += sum(written)
    return restored


async def stats(services: Services, *, user_id: str | None = None) -> Stats:
    """Counts per memory type (current / superseded), history events and graph size."""
    where = _user_clause(user_id)
    current_where: dict[str, Any] = {"valid_to": None}
    if where:
        current_where = {"AND": [where, current_where]}
    memories: dict[str, TypeCounts] = {}
    for memory_type in services.types:
        total = await services.vector.count(memory_type, where=where)
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
        for relation in await services.graph.relations(user):
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


async def current_users(
    services: Services, *, include_superseded: bool, include_history: bool = False
) -> dict[str, int]:
    """Every user with current memories (or with any), and how many, in id order; with
    `include_history`, the users with history only too (0)."""
    counts: dict[str, int] = {}
    for user_id in sorted(u for u in await services.history.user_ids() if u is not None):
        where = scope_filter(user_id)
        if not include_superseded:
            where = {"AND": [where, {"valid_to": None}]}
        total = 0
        for memory_type in services.types:
            total += await services.vector.count(memory_type, where=where)
        if total or include_history:
            counts[user_id] = total
    return counts
