"""Where an import keeps what it will write between reading its file and writing it.

Reading the file (`import_index`) appends what it will write - masked, checked - to a
`Spool`: a private file of the data directory that has no name (it goes when closed, or
when the process dies), so nothing unmasked reaches disk and a stream is read once.
Memory keeps only where each of a user's items lies in it (`UserPlan`), and writing reads
them back a journal part at a time (`parts_of`): an import holds one part, not its file.

Every part is bounded by a number of items and by `PART_CHARS` of spooled JSON; planning
and writing cut the parts by the same rule (`Stream`), so the number of parts is known
before the first is journaled (`write.write_parts`).
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import functools
import json
import tempfile
from array import array
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from octomem.memory_types import TypeRegistry
from octomem.models import Change, Entity, HistoryEvent, IntentPart, Relation

PART_CHARS = 8 << 20  # spooled JSON per journal part, at most (one larger item: alone)
# items per part: events, records, entities/edges
EVENTS, CHANGES, GRAPH = 128, 128, 1000

# what a spooled row holds, by its first byte
EVENT, WRITE, DELETE, ENTITY, RELATION, BLOB = b"E", b"W", b"D", b"N", b"R", b"B"

Moved = dict[tuple[str | None, str], str]  # (user, entity id in the file) -> id stored
T = TypeVar("T")


class Spool:
    """Rows appended once and read back by offset, in a nameless file of `folder`; and the
    one thread an import's work on its file runs in (`run`), so that what it allocates
    and frees is reused there rather than spread over the arenas of every worker thread."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (`close`)
        self._end = 0
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="octomem-import")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, work, *args)

    def append(self, rows: list[bytes]) -> list[tuple[int, int]]:
        """(offset, size) of each row, appended in order."""
        self._file.seek(self._end)
        placed = []
        for row in rows:
            self._file.write(row + b"\n")
            placed.append((self._end, len(row)))
            self._end += len(row) + 1
        return placed

    def read(self, offset: int) -> bytes:
        self._file.seek(offset)
        return self._file.readline()[:-1]

    def close(self) -> None:
        self._worker.shutdown()  # a batch under way ends first
        self._file.close()


@dataclass
class Stream:
    """One kind of a user's items, in the order they are written: where each lies in the
    spool, and how many journal parts they make."""

    limit: int  # items per part
    offsets: array[int] = field(default_factory=lambda: array("q"))
    _parts: int = 0  # parts closed so far while planning
    _items: int = 0  # ... and the items and characters of the one being planned
    _chars: int = 0

    def add(self, offset: int, size: int) -> None:
        if _full(self._items, self._chars, size, self.limit):
            self._parts, self._items, self._chars = self._parts + 1, 0, 0
        self._items += 1
        self._chars += size
        self.offsets.append(offset)

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def parts(self) -> int:
        return self._parts + (1 if self._items else 0)

    def chunks(self, spool: Spool) -> Iterator[list[bytes]]:
        """The rows of each part, read back in order (cut as `add` planned them)."""
        rows: list[bytes] = []
        chars = 0
        for offset in self.offsets:
            row = spool.read(offset)
            if _full(len(rows), chars, len(row), self.limit):
                yield rows
                rows, chars = [], 0
            rows.append(row)
            chars += len(row)
        if rows:
            yield rows


def _full(items: int, chars: int, size: int, limit: int) -> bool:
    """Whether a part of `items` holding `chars` takes no item of `size` more."""
    return items > 0 and (items >= limit or chars + size > PART_CHARS)


@dataclass
class UserPlan:
    """What an import writes for one user, as spool offsets, in the order of its write:
    history events, then records (written, or deleted), then the graph as it was."""

    events: Stream = field(default_factory=lambda: Stream(EVENTS))
    changes: Stream = field(default_factory=lambda: Stream(CHANGES))
    entities: Stream = field(default_factory=lambda: Stream(GRAPH))
    relations: Stream = field(default_factory=lambda: Stream(GRAPH))
    blobs: array[int] = field(default_factory=lambda: array("q"))
    wanted: set[str] = field(default_factory=set)  # blobs its records say were kept
    views: set[tuple[str | None, str | None]] = field(default_factory=set)  # of its facts
    scopes: set[tuple[str | None, str | None]] = field(default_factory=set)  # it writes

    @property
    def streams(self) -> tuple[Stream, ...]:
        return self.events, self.changes, self.entities, self.relations

    @property
    def parts(self) -> int:
        return sum(stream.parts for stream in self.streams)

    @property
    def items(self) -> int:
        return sum(len(stream) for stream in self.streams)


async def parts_of(
    spool: Spool, plan: UserPlan, types: TypeRegistry, moved: Moved
) -> AsyncIterator[IntentPart]:
    """The plan's journal parts, each read from the spool (off the event loop) when asked
    for; relations follow their entities to the ids they are stored under (`moved`)."""
    context = types.reading_context

    def part(stream: Stream, rows: list[bytes]) -> IntentPart:
        # one JSON document a part, validated at once (the rows are the items' own JSON)
        if stream is plan.changes:
            writes = b",".join(r[1:] for r in rows if r[:1] == WRITE)
            deletes = b",".join(r[1:] for r in rows if r[:1] == DELETE)
            body = b'{"writes":[%s],"deletes":[%s]}' % (writes, deletes)
        else:
            name = {id(plan.events): b"events", id(plan.entities): b"entities"}
            kind = name.get(id(stream), b"relations")
            body = b'{"%s":[%s]}' % (kind, b",".join(r[1:] for r in rows))
        built = IntentPart.model_validate_json(body, context=context)
        if stream is plan.relations and moved:
            built.relations = [follow(relation, moved) for relation in built.relations]
        return built

    for stream in plan.streams:
        chunks = stream.chunks(spool)
        while rows := await spool.run(next, chunks, None):
            yield await spool.run(part, stream, rows)


def blobs_of(spool: Spool, plan: UserPlan) -> Iterator[tuple[str, bytes]]:
    """(sha256, bytes) of the user's blob lines, one at a time (checked when read)."""
    for offset in plan.blobs:
        _, sha, data = json.loads(spool.read(offset)[1:])
        yield sha, base64.b64decode(data)


def follow(relation: Relation, moved: Moved) -> Relation:
    """The relation pointing at its user's entities where the import stored them."""
    ends = {
        end: moved[(relation.user_id, value)]
        for end, value in (("subject_id", relation.subject_id), ("object_id", relation.object_id))
        if (relation.user_id, value) in moved
    }
    return relation.model_copy(update=ends) if ends else relation


def row(kind: bytes, item: Any) -> bytes:
    """A spool row: its kind, then the item as JSON."""
    if isinstance(item, Change | HistoryEvent | Entity | Relation):
        return kind + item.model_dump_json().encode()
    return kind + json.dumps(item).encode()


def give_back() -> None:
    """Hand the memory freed since back to the system (glibc's `malloc_trim`; elsewhere
    nothing): applying a part allocates and frees in several threads, each with a malloc
    arena whose free lists glibc keeps rather than return."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
