"""Embedded graph store on ladybug (the maintained Kùzu fork): the default graph backend.

ladybug's client is synchronous, so every call runs in a worker thread
(`asyncio.to_thread`) on one connection guarded by a lock; the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import ladybug as lb
from opentelemetry import trace

from octomem.errors import InvalidInputError, NotFoundError, OctomemError, StoreError
from octomem.logs import get_logger
from octomem.models import Entity, MemoryType, Relation, as_utc, normalize_text
from octomem.stores import ladybug_rebuild
from octomem.stores.base import GraphForgotten, MemoryLink
from octomem.stores.graph_common import (
    DELETE_MEMORY,
    ENTITY_OWNERS,
    FIND_ENTITIES,
    INVALIDATE_RELATION,
    MEMORY_OWNERS,
    MENTIONED_BY,
    NEIGHBOURS,
    RELATION_RETURN,
    RELATIONS,
    ProcessLeases,
    check_lease,
    entity_from_row,
    forget_plan,
    graph_user,
    nearest_mentions,
    owners,
    relation_from_row,
)
from octomem.stores.ladybug_rebuild import DUMP, SCHEMA
from octomem.stores.ladybug_rebuild import rows as _rows

log = get_logger(__name__)
tracer = trace.get_tracer(__name__)

T = TypeVar("T")

DB_FILE = "graph.lbdb"
# ladybug keeps every committed change in memory until a checkpoint writes it to the file,
# and an update of an existing node costs a whole column chunk there (~25 KB a string
# property) against a few hundred bytes of log: at ladybug's default (a checkpoint per
# 16 MB of log) memory grew by ~55 KB a `process` call, to hundreds of MB. A checkpoint
# per 128 KB of log (~60 calls; 0.1-0.3 s each) keeps that to a few MB, ~40 MB at worst
# (docs/operations.md#memory).
_CHECKPOINT_BYTES = 128 * 1024

_REBUILD_TIMEOUT_S = 600.0


_M_PERTURB = -6  # glibc mallopt parameter
_perturbed = False


def initialise_allocations() -> bool:
    """From now on, have the C library fill memory it allocates (and memory freed) with a
    constant byte; True if it does. ladybug writes buffers whole - at a checkpoint, and at
    close even after only reading - and their unused bytes come from the heap, where a
    forgotten user's values may still lie in freed memory. Only glibc offers this
    (`mallopt(M_PERTURB)`); it stays on for the process, at the cost of a memset per
    allocation, and is switched on by the first forget or reset."""
    global _perturbed
    if _perturbed:
        return True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc: nothing to switch on
        return False
    _perturbed = bool(mallopt(_M_PERTURB, 0x5A) == 1)
    return _perturbed


# the child of a rebuild: runs ladybug_rebuild.py by its path, without the octomem package
_CHILD = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _rebuild(handle: _Handle, file: Path) -> None:
    """Rewrite the database file from its live data (see `LadybugGraphStore.compact`).

    The new file is written by a child process: ladybug writes partly filled buffers whole,
    and in this process their unused bytes may be freed memory that held deleted values;
    a fresh process has only ever seen the live data. Reads go on meanwhile (the data they
    see is what is being copied); writes wait until the new file is in place."""
    fresh = file.with_name(file.name + ".rebuild")
    with handle.lock:
        while handle.rebuilding:
            handle.changed.wait()
        data = {kind: _rows(handle.conn, query) for kind, query in DUMP.items()}
        handle.rebuilding = True
    try:
        try:
            _remove_files(fresh)
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, ladybug_rebuild.__file__, str(fresh)],
                input=pickle.dumps(data),
                capture_output=True,
                timeout=_REBUILD_TIMEOUT_S,
                check=False,
                cwd=file.parent,
            )
            if child.returncode != 0:
                raise RuntimeError(child.stderr.decode("utf-8", "replace").strip()[-2000:])
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _remove_files(fresh)
            raise _wrap(exc, file, "compact") from exc
        with handle.lock:
            handle.conn.close()
            handle.db.close()
            try:
                os.replace(fresh, file)  # atomic: the old file or the new one, whole
                _remove_files(file, keep_db=True)
            finally:  # reopen whichever file is there
                handle.db = _open(file)
                handle.conn = lb.Connection(handle.db)
    finally:
        with handle.lock:
            handle.rebuilding = False
            handle.changed.notify_all()


def _open(file: Path) -> lb.Database:
    return lb.Database(str(file), checkpoint_threshold=_CHECKPOINT_BYTES)


def _remove_files(file: Path, *, keep_db: bool = False) -> None:
    """Delete a database file (unless keep_db) and its side files (WAL, shadow)."""
    for path in file.parent.glob(file.name + "*"):
        if path != file or not keep_db:
            path.unlink(missing_ok=True)


def _to_db(value: datetime | None) -> datetime | None:
    """ladybug drops the offset of aware datetimes, so store naive UTC."""
    return None if value is None else as_utc(value).replace(tzinfo=None)


def _from_db(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class _Handle:
    """One open database shared by every store instance on the same file in this process."""

    file: str
    db: lb.Database
    conn: lb.Connection
    lock: threading.RLock
    refs: int = 0
    schema_ready: bool = False
    leases: ProcessLeases = field(default_factory=ProcessLeases)
    rebuilding: bool = False  # a compaction is writing the new file: writes wait
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)


_OPEN: dict[str, _Handle] = {}
_OPEN_LOCK = threading.Lock()


def _acquire(file: Path) -> _Handle:
    key = str(file)
    with _OPEN_LOCK:
        handle = _OPEN.get(key)
        if handle is None:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                db = _open(file)
                conn = lb.Connection(db)
            except (RuntimeError, OSError) as exc:
                raise _wrap(exc, file, "open") from exc
            handle = _Handle(key, db, conn, threading.RLock())
            _OPEN[key] = handle
            log.debug("graph_store_opened", backend="ladybug", path=key)
        handle.refs += 1
        return handle


def _release(handle: _Handle) -> None:
    with _OPEN_LOCK:
        handle.refs -= 1
        if handle.refs > 0:
            return
        _OPEN.pop(handle.file, None)
        with handle.lock:
            handle.conn.close()
            handle.db.close()
        log.debug("graph_store_closed", backend="ladybug", path=handle.file)


def _wrap(exc: BaseException, file: Path | str, op: str) -> StoreError:
    text = " ".join(str(exc).split())
    if "could not set lock" in text.lower():
        return StoreError(
            f"The graph database {file} is locked by another process ({text}). Only one "
            "process can open an embedded graph at a time: stop the other octomem process, give "
            "this one its own data directory, or use the Neo4j backend to share a graph."
        )
    if isinstance(exc, OSError):
        return StoreError(f"Cannot create the graph directory for {file} ({text}): check the path.")
    return StoreError(
        f"Graph operation '{op}' failed on {file} ({text}). If the file is damaged or was "
        "written by another ladybug version, move it aside; a new, empty graph is then created."
    )


@contextlib.contextmanager
def _transaction(conn: lb.Connection) -> Iterator[None]:
    conn.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        # A failed statement may already have rolled the transaction back.
        with contextlib.suppress(RuntimeError):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class LadybugGraphStore:
    """Embedded graph store in ``path`` (a directory; the database is ``path/graph.lbdb``).

    Opening the same path twice in one process (e.g. two Orchestrators) is safe: the
    instances share one database and connection, reference-counted, and the database is
    closed when the last instance closes (two independent ladybug ``Database`` objects on
    one file would not see each other's writes). Another *process* cannot open the path
    while it is open here: ladybug holds a file lock, reported as a `StoreError`.

    Leases live in the shared handle, in memory, on this process's monotonic clock: every
    instance on the same file sees the same leases, no other process can open the file, and
    they end when the last instance closes.

    The database is opened by `init()` (or by the first call); `close()` is final.
    """

    def __init__(self, path: Path) -> None:
        self._dir = Path(path).expanduser().resolve()
        self._file = self._dir / DB_FILE
        self._handle: _Handle | None = None
        self._closed = False
        self._open_lock = threading.Lock()

    # --- plumbing ---------------------------------------------------------------------

    def _conn_handle(self) -> _Handle:
        with self._open_lock:
            if self._closed:
                raise StoreError(f"The graph store at {self._dir} is closed; open a new one.")
            if self._handle is None:
                self._handle = _acquire(self._file)
            return self._handle

    def _call(self, op: str, fn: Callable[[lb.Connection], T], write: bool) -> T:
        handle = self._conn_handle()
        with handle.lock:
            while write and handle.rebuilding:  # it would be lost in the file being built
                handle.changed.wait()
            try:
                if not handle.schema_ready:
                    for statement in SCHEMA:
                        _rows(handle.conn, statement)
                    handle.schema_ready = True
                return fn(handle.conn)
            except OctomemError:
                raise
            except RuntimeError as exc:
                raise _wrap(exc, self._file, op) from exc

    async def _run(self, op: str, fn: Callable[[lb.Connection], T], *, write: bool = True) -> T:
        with tracer.start_as_current_span(f"graph.{op}", attributes={"db.system": "ladybug"}):
            return await asyncio.to_thread(self._call, op, fn, write)

    # --- GraphStore -------------------------------------------------------------------

    @property
    def location(self) -> str:
        return str(self._file)

    async def init(self) -> None:
        await self._run("init", lambda conn: None)

    async def upsert_entities(self, entities: Sequence[Entity]) -> None:
        if not entities:
            return
        latest = {e.id: e for e in entities}

        def work(conn: lb.Connection) -> None:
            with _transaction(conn):
                for e in latest.values():
                    _rows(
                        conn,
                        "MERGE (e:Entity {id: $id}) SET e.user_id = $u, e.name = $name, "
                        "e.name_lc = $name_lc, e.entity_type = $etype",
                        {
                            "id": e.id,
                            "u": graph_user(e.user_id),
                            "name": e.name,
                            "name_lc": normalize_text(e.name),
                            "etype": e.entity_type,
                        },
                    )

        await self._run("upsert_entities", work)

    async def upsert_relations(self, relations: Sequence[Relation]) -> None:
        if not relations:
            return
        latest = {r.id: r for r in relations}

        def work(conn: lb.Connection) -> None:
            with _transaction(conn):
                # one scan of the edges for the whole batch (per edge, a batch cost N^2)
                _rows(
                    conn,
                    "MATCH ()-[r:RELATES]->() WHERE r.id IN $ids DELETE r",
                    {"ids": list(latest)},
                )
                for r in latest.values():
                    created = _rows(
                        conn,
                        "MATCH (s:Entity {id: $sid}), (o:Entity {id: $oid}) "
                        "CREATE (s)-[r:RELATES {id: $id, user_id: $u, predicate: $predicate, "
                        "fact: $fact, memory_id: $memory_id, valid_at: $valid_at, "
                        "invalid_at: $invalid_at, created_at: $created_at}]->(o) RETURN r.id",
                        {
                            "sid": r.subject_id,
                            "oid": r.object_id,
                            "id": r.id,
                            "u": graph_user(r.user_id),
                            "predicate": r.predicate,
                            "fact": r.fact,
                            "memory_id": r.memory_id,
                            "valid_at": _to_db(r.valid_at),
                            "invalid_at": _to_db(r.invalid_at),
                            "created_at": _to_db(r.created_at),
                        },
                    )
                    if not created:
                        raise InvalidInputError(
                            f"Relation {r.id!r} links entities that do not exist "
                            f"({r.subject_id!r} -> {r.object_id!r}); upsert the entities "
                            "first. Nothing was stored."
                        )

        await self._run("upsert_relations", work)

    async def invalidate_relation(self, relation_id: str, invalid_at: datetime) -> None:
        def work(conn: lb.Connection) -> None:
            rows = _rows(conn, INVALIDATE_RELATION, {"id": relation_id, "t": _to_db(invalid_at)})
            if not rows:
                raise NotFoundError(f"Relation {relation_id!r} does not exist in the graph.")

        await self._run("invalidate_relation", work)

    async def relations(
        self,
        user_id: str | None,
        *,
        subject_id: str | None = None,
        predicate: str | None = None,
        include_invalid: bool = False,
    ) -> list[Relation]:
        where = ["r.user_id = $u"]
        params: dict[str, Any] = {"u": graph_user(user_id)}
        if subject_id is not None:
            where.append("s.id = $sid")
            params["sid"] = subject_id
        if predicate is not None:
            where.append("r.predicate = $predicate")
            params["predicate"] = predicate
        if not include_invalid:
            where.append("r.invalid_at IS NULL")
        # Only constant fragments are joined here; every value is a parameter.
        query = RELATIONS + "WHERE " + " AND ".join(where) + RELATION_RETURN
        rows = await self._run("relations", lambda conn: _rows(conn, query, params), write=False)
        return [relation_from_row(row, _from_db) for row in rows]

    async def find_entities(self, user_id: str | None, names: Sequence[str]) -> list[Entity]:
        keys = sorted({normalize_text(n) for n in names})
        if not keys:
            return []
        params = {"u": graph_user(user_id), "names": keys}
        rows = await self._run(
            "find_entities", lambda conn: _rows(conn, FIND_ENTITIES, params), write=False
        )
        return [entity_from_row(row) for row in rows]

    async def link_memories(self, links: Sequence[MemoryLink]) -> None:
        latest = {link.memory_id: link for link in links}  # a memory twice: the last wins
        if not latest:
            return

        def work(conn: lb.Connection) -> None:
            with _transaction(conn):
                for link in latest.values():
                    params = {"id": link.memory_id, "u": graph_user(link.user_id)}
                    _rows(
                        conn,
                        "MERGE (m:Memory {id: $id}) SET m.user_id = $u, m.memory_type = $mtype",
                        {**params, "mtype": MemoryType(link.memory_type).value},
                    )
                    _rows(
                        conn,
                        "MATCH (m:Memory {id: $id})-[x:MENTIONS]->() DELETE x",
                        {"id": link.memory_id},
                    )
                    if ids := sorted(set(link.entity_ids)):
                        _rows(
                            conn,
                            "MATCH (m:Memory {id: $id}), (e:Entity) "
                            "WHERE e.id IN $ids AND e.user_id = $u CREATE (m)-[:MENTIONS]->(e)",
                            {**params, "ids": ids},
                        )

        await self._run("link_memories", work)

    async def memories_for_entities(
        self,
        user_id: str | None,
        entity_ids: Sequence[str],
        *,
        hops: int = 1,
        limit: int = 50,
    ) -> list[tuple[str, MemoryType, int]]:
        if not entity_ids or limit <= 0:
            return []
        uid = graph_user(user_id)

        def work(conn: lb.Connection) -> list[tuple[str, MemoryType, int]]:
            distance = dict.fromkeys(entity_ids, 0)
            frontier = list(distance)
            for hop in range(1, max(hops, 0) + 1):
                found = _rows(conn, NEIGHBOURS, {"ids": frontier, "u": uid})
                frontier = [row[0] for row in found if row[0] not in distance]
                if not frontier:
                    break
                distance.update(dict.fromkeys(frontier, hop))
            rows = _rows(conn, MENTIONED_BY, {"ids": list(distance), "u": uid})
            return nearest_mentions(((m, t, e) for m, t, e in rows), distance, limit)

        return await self._run("memories_for_entities", work, write=False)

    async def delete_memory(self, memory_id: str) -> None:
        await self._run("delete_memory", lambda conn: _rows(conn, DELETE_MEMORY, {"id": memory_id}))

    async def forget(self, user_id: str, memory_ids: Sequence[str] | None = None) -> GraphForgotten:
        queries, params = forget_plan(user_id, memory_ids)

        def drain(conn: lb.Connection, query: str) -> int:
            total = 0
            while deleted := _rows(conn, query, params)[0][0]:
                total += deleted
            return total

        def work(conn: lb.Connection) -> GraphForgotten:
            with _transaction(conn):
                counts = [drain(conn, query) for query in queries]
            return GraphForgotten(*counts)

        return await self._run("forget", work)

    async def compact(self) -> bool:
        """ladybug leaves deleted values in the database file's pages (even after a
        checkpoint), so the file is rebuilt from what is live: read it whole, write a new
        file next to it, swap the two atomically (a crash leaves one or the other whole),
        and reopen it in the handle every store instance of this process shares."""
        handle = self._conn_handle()
        initialise_allocations()
        with tracer.start_as_current_span("graph.compact", attributes={"db.system": "ladybug"}):
            await asyncio.to_thread(_rebuild, handle, self._file)
        return True

    async def memory_ids(self) -> dict[str, str | None]:
        return owners(
            await self._run("memory_ids", lambda conn: _rows(conn, MEMORY_OWNERS), write=False)
        )

    async def entity_owners(self, entity_ids: Sequence[str]) -> dict[str, str | None]:
        ids = sorted(set(entity_ids))
        if not ids:
            return {}
        rows = await self._run(
            "entity_owners", lambda conn: _rows(conn, ENTITY_OWNERS, {"ids": ids}), write=False
        )
        return owners(rows)

    async def all_relations(self) -> list[Relation]:
        query = RELATIONS + RELATION_RETURN
        rows = await self._run("all_relations", lambda conn: _rows(conn, query), write=False)
        return [relation_from_row(row, _from_db) for row in rows]

    async def _leases(self) -> ProcessLeases:
        if self._handle is None:
            await self.init()  # opens the database in a worker thread
        return self._conn_handle().leases

    async def acquire_lease(self, key: str, owner: str, ttl_s: float) -> int:
        check_lease(key, owner, ttl_s)
        return (await self._leases()).acquire(key, owner, ttl_s)

    async def fence_holds(self, tokens: Sequence[tuple[str, int]]) -> bool:
        return (await self._leases()).holds(tokens)

    def lease_key(self, key: str) -> str:
        return key

    async def release_lease(self, key: str, owner: str) -> None:
        check_lease(key, owner)
        (await self._leases()).release(key, owner)

    async def erasures(self, key: str) -> int:
        check_lease(key, "-")
        return (await self._leases()).erasures(key)

    async def count_erasure(self, key: str) -> int:
        check_lease(key, "-")
        return (await self._leases()).count_erasure(key)

    async def reset(self) -> None:
        def work(conn: lb.Connection) -> None:
            with _transaction(conn):
                _rows(conn, "MATCH (m:Memory) DETACH DELETE m")
                _rows(conn, "MATCH (e:Entity) DETACH DELETE e")

        await self._run("reset", work)

    async def close(self) -> None:
        with self._open_lock:
            handle, self._handle = self._handle, None
            self._closed = True
        if handle is not None:
            await asyncio.to_thread(_release, handle)
