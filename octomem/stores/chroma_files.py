"""What embedded Chroma leaves on disk of deleted entries, and how it is removed.

- The write log: every write is kept in `embeddings_queue` (chroma.sqlite3) - with the
  entry's metadata, i.e. octomem's record JSON, and its embedding - until the collection's
  vector index is next saved (every `hnsw:sync_threshold` writes, 1000 by default); rows
  Chroma deletes stay in the file's free pages. `purge_log` turns each logged write of
  deleted ids into the bare delete Chroma logs itself (no embedding, no metadata), so a
  replay of the log still ends with them absent, then rewrites the file (VACUUM).
- The vector index files (`<segment>/data_level0.bin`, `length.bin`): Chroma's HNSW saves
  the whole allocated capacity, and the slots past the last element are uninitialised
  memory - they were seen to hold the record JSON of writes made shortly before the index
  was created. `scrub_index_files` zeroes those slots; the header says where they start.
"""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from collections.abc import Sequence
from pathlib import Path

from octomem.stores.sqlite_base import checkpoint_truncate

LOG_DELETE = 3  # the operation code of a delete in embeddings_queue
# header.bin of Chroma's hnswlib: int32 version, then offsetLevel0, max_elements,
# cur_element_count, size_data_per_element (size_t each), ...
_HEADER = struct.Struct("<i4Q")


def purge_log(path: Path, ids: Sequence[str]) -> None:
    """Strip the payload of every logged write of `ids` (all deleted already) from an
    embedded Chroma's database, then VACUUM it. Chroma's own connections stay open:
    SQLite's locks keep them apart (busy: waited for up to 30 s)."""
    if not path.exists():
        return
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "UPDATE embeddings_queue SET operation = ?, vector = NULL, encoding = NULL,"
                " metadata = '{}' WHERE id = ?",
                [(LOG_DELETE, entry_id) for entry_id in ids],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            checkpoint_truncate(conn)
    finally:
        conn.close()


def scrub_index_files(root: Path) -> int:
    """Zero the unused slots of every HNSW index under `root`; returns bytes zeroed.
    Files it does not recognise are left alone."""
    zeroed = 0
    for header in root.glob("*/header.bin"):
        with contextlib.suppress(OSError, struct.error):
            _, _, max_elements, count, per_element = _HEADER.unpack(
                header.read_bytes()[: _HEADER.size]
            )
            if not 0 <= count <= max_elements:
                continue
            zeroed += _zero_tail(header.with_name("data_level0.bin"), count * per_element)
            zeroed += _zero_tail(header.with_name("length.bin"), count * 4)
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
