"""What embedded Chroma leaves on disk of deleted entries, and how it is removed (only while
Chroma's engine has the files closed: `chroma_engine`).

- The write log: `embeddings_queue` in chroma.sqlite3 keeps every write - with octomem's
  record JSON and the embedding - until the vector index is next saved; deleted rows stay
  in free pages. `purge_log` removes the logged writes of deleted ids (keeping, for an id
  the saved index holds, the bare delete a replay needs), then VACUUMs.
- The database's journal: `use_write_ahead_log` puts chroma.sqlite3 in SQLite's WAL mode
  before the engine opens it (the mode stays with the file).
- The vector index files (`data_level0.bin`, `length.bin`): Chroma's HNSW saves its whole
  capacity, and the slots past the last element are uninitialised memory that was seen to
  hold record JSON. `scrub_index_files` zeroes them (the header says where they start).

No public API removes deleted text from these files (`chroma vacuum` purges only what the
saved indexes hold already), so Chroma's internals are read and written here as the
chromadb versions pyproject allows have them (`nox -s chroma` tests the lowest and the
newest): the log's table, `segments` and `max_seq_id`, and a saved index's `header.bin`,
`data_level0.bin`, `length.bin` and `index_metadata.pickle`. Where a version differs in a
way that matters, maintenance stops with `internals_changed` before it rewrites anything;
where it only cannot tell which ids a saved index holds, it keeps each deleted id as a
bare delete (`_saved_ids`).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import struct
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from octomem import retries
from octomem.errors import StoreError
from octomem.logs import get_logger
from octomem.stores.sqlite_base import checkpoint_truncate

log = get_logger(__name__)
LOG_DELETE = 3  # the operation code of a delete in embeddings_queue
LOG_COLUMNS = frozenset({"seq_id", "id", "operation", "vector", "encoding", "metadata"})
PURGED_ID = "octomem-purged"  # the id of an emptied log row (a delete of nothing)
# header.bin of Chroma's hnswlib: int32 version, then offsetLevel0, max_elements,
# cur_element_count, size_data_per_element (size_t each), ...
_HEADER = struct.Struct("<i4Q")


def internals_changed(what: str) -> StoreError:
    """The error of file maintenance that finds Chroma's internals other than it knows."""
    try:
        installed = version("chromadb")
    except PackageNotFoundError:  # pragma: no cover - chromadb is a dependency
        installed = "?"
    return StoreError(
        f"embedded Chroma's files are not as octomem knows them ({what}; chromadb "
        f"{installed}), so the text of deleted memories cannot be purged from them and "
        "nothing was rewritten. Install a chromadb version octomem's requirements allow "
        "(octomem is tested on the lowest and the newest), or report this version"
    )


def held_in_this_process(path: Path) -> list[str] | None:
    """The files under `path` that a descriptor of this process has open (Linux's
    /proc/self/fd, macOS's /dev/fd and F_GETPATH), or None where the system does not say.
    Chroma's engine closes its files in the background after `close` returns, and SQLite
    opened from Python beside them (a second SQLite library in the process, blind to the
    engine's locks) truncates the shared-memory index the engine still has mapped."""
    root = str(path) + os.sep
    if os.path.isdir("/proc/self/fd"):
        base = "/proc/self/fd"

        def named(fd: str) -> str:
            return os.readlink(f"{base}/{fd}")

    else:
        try:
            import fcntl

            get_path: int = fcntl.F_GETPATH  # type: ignore[attr-defined,unused-ignore]
        except (ImportError, AttributeError):
            return None
        base = "/dev/fd"

        def named(fd: str) -> str:
            raw = fcntl.fcntl(int(fd), get_path, bytes(1024))
            return raw.split(b"\0", 1)[0].decode(errors="replace")

    held = []
    for fd in os.listdir(base):
        try:
            name = named(fd)
        except OSError:  # closed meanwhile
            continue
        if name.startswith(root):
            held.append(name[len(root) :])
    return held


def use_write_ahead_log(path: Path) -> None:
    """Put the database of the embedded Chroma at `path` (created if there is none) in
    SQLite's WAL mode, which the file keeps; only with the engine closed. Chroma's engine
    leaves it in the rollback-journal mode, where each of an upsert's two transactions
    syncs the journal, the database and the directory: ~8 fsyncs, most of an upsert's
    time. In WAL mode a transaction syncs the log once (Chroma's synchronous=FULL stays),
    as durable when the write returns; the log is emptied when the engine closes, and by
    `purge_log`. A file another process holds locked stays as it is (slower, not wrong)."""
    database = path / "chroma.sqlite3"

    def switch() -> str:
        conn = sqlite3.connect(str(database), timeout=30, isolation_level=None)
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        finally:
            conn.close()

    try:
        mode = retries.sqlite_setup()(switch)
    except sqlite3.Error as exc:
        mode = f"unchanged ({exc})"
    if mode != "wal":
        log.warning("chroma_database_not_in_wal_mode", path=str(database), mode=mode)


def purge_log(path: Path, ids: Sequence[str]) -> None:
    """Remove what Chroma's write log keeps of `ids` (deleted already), then VACUUM the
    database; only with the engine closed (`chroma_engine.EmbeddedChroma.closed`).

    An id the saved vector index does not hold loses every logged write: no replay needs
    them. One it holds keeps its writes as the bare delete Chroma itself logs (no
    embedding, no metadata), which removes it from the index when the log is replayed."""
    database = path / "chroma.sqlite3"
    if not database.exists():
        if path.is_dir() and any(path.iterdir()):
            raise internals_changed(f"{path} holds no chroma.sqlite3")
        return  # nothing written yet
    conn = sqlite3.connect(str(database), timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            _check_log(conn, ids)
            saved = _saved_ids(conn, path)
            strip = [(LOG_DELETE, i) for i in ids if saved is None or i in saved]
            drop = [(i,) for i in ids if saved is not None and i not in saved]
            # the last row stays (emptied): the next write's sequence number follows it,
            # and the engine's segments skip numbers they have already applied
            (last,) = conn.execute("SELECT max(seq_id) FROM embeddings_queue").fetchone()
            conn.executemany(
                "UPDATE embeddings_queue SET id = ?, operation = ?, vector = NULL,"
                " encoding = NULL, metadata = '{}' WHERE seq_id = ? AND id = ?",
                [(PURGED_ID, LOG_DELETE, last, i) for (i,) in drop],
            )
            conn.executemany(
                "UPDATE embeddings_queue SET operation = ?, vector = NULL, encoding = NULL,"
                " metadata = '{}' WHERE id = ?",
                strip,
            )
            conn.executemany("DELETE FROM embeddings_queue WHERE id = ?", drop)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            checkpoint_truncate(conn)
    finally:
        conn.close()


def _check_log(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    """The write log is the table octomem knows: its columns, and a delete's code as Chroma
    logged the deletion of these ids (each one's last row, where the log still has it)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(embeddings_queue)")}
    if missing := LOG_COLUMNS - columns:
        lacking = ", ".join(sorted(missing))
        raise internals_changed(f"the write log embeddings_queue lacks {lacking}")
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        last = conn.execute(
            "SELECT q.operation FROM embeddings_queue AS q JOIN (SELECT id, max(seq_id) AS seq"
            f" FROM embeddings_queue WHERE id IN ({marks}) GROUP BY id) AS m"
            " ON q.seq_id = m.seq",
            chunk,
        ).fetchall()
        if any(operation != LOG_DELETE for (operation,) in last):
            raise internals_changed(
                f"a deleted entry's last logged write is not a delete ({LOG_DELETE})"
            )


def _saved_ids(conn: sqlite3.Connection, path: Path) -> set[str] | None:
    """The entry ids held by the saved vector indexes of every collection (None: unknown,
    so every id is kept as a bare delete). An index with no saved position holds none:
    its whole log is replayed into an empty index."""
    try:
        segments = conn.execute(
            "SELECT s.id, m.seq_id FROM segments s LEFT JOIN max_seq_id m ON m.segment_id = s.id"
            " WHERE s.scope = 'VECTOR'"
        ).fetchall()
    except sqlite3.DatabaseError:
        return None
    saved: set[str] = set()
    for segment_id, seq_id in segments:
        if seq_id is None:
            continue
        held = _index_ids(path / str(segment_id) / "index_metadata.pickle")
        if held is None:
            return None
        saved |= held
    return saved


class _DataOnly(pickle.Unpickler):
    """Reads plain data (dicts, lists, strings, numbers) and refuses any class or function."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def _index_ids(file: Path) -> set[str] | None:
    """The ids in a saved HNSW index's metadata (`id_to_label`), or None if unreadable."""
    try:
        with file.open("rb") as stream:
            data = _DataOnly(stream).load()
        labels = data["id_to_label"]
        return {str(key) for key in labels}
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError):
        return None


def scrub_index_files(root: Path, *, strict: bool = False) -> int:
    """Zero the unused slots of every HNSW index under `root`; returns bytes zeroed. An
    index whose files it does not recognise is left alone: with `strict` (a purge, which
    must leave nothing behind) that is `internals_changed`, else a warning (the scrubs
    when the engine opens and closes)."""
    zeroed = 0
    unknown: list[str] = []
    for data in root.glob("*/data_level0.bin"):
        try:
            _, _, max_elements, count, per_element = _HEADER.unpack(
                data.with_name("header.bin").read_bytes()[: _HEADER.size]
            )
            if not 0 <= count <= max_elements or per_element <= 0:
                raise ValueError("its header's counts are out of range")
            zeroed += _zero_tail(data, count * per_element)
            zeroed += _zero_tail(data.with_name("length.bin"), count * 4)
        except (OSError, struct.error, ValueError) as exc:
            unknown.append(f"{data.parent.name}: {exc}")
    if unknown and strict:
        raise internals_changed(f"vector index files not recognised ({'; '.join(unknown)})")
    if unknown:
        log.warning("chroma index files not recognised; not scrubbed", indexes=unknown)
    return zeroed


def _zero_tail(path: Path, start: int) -> int:
    """Overwrite `path` from byte `start` to its end with zeros (only where not zero)."""
    if not path.exists() or path.stat().st_size <= start:
        return 0
    with path.open("r+b") as file:
        file.seek(start)
        tail = file.read()
        if not tail.strip(b"\0"):
            return 0
        file.seek(start)
        file.write(bytes(len(tail)))
        file.flush()
    return len(tail)
