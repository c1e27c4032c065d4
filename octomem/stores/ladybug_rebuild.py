"""Writing a fresh embedded graph database from rows: the schema and the child process
of `LadybugGraphStore.compact`.

The child runs this file by its path, not as a module of the octomem package (whose
import would take longer than the rebuild): it reads the rows pickled on stdin by its
parent and writes the database file named by its argument.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any, cast

import ladybug as lb

SCHEMA = (
    "CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY, user_id STRING, "
    "name STRING, name_lc STRING, entity_type STRING)",
    "CREATE NODE TABLE IF NOT EXISTS Memory(id STRING PRIMARY KEY, user_id STRING, "
    "memory_type STRING)",
    "CREATE REL TABLE IF NOT EXISTS RELATES(FROM Entity TO Entity, id STRING, user_id STRING, "
    "predicate STRING, fact STRING, memory_id STRING, valid_at TIMESTAMP, "
    "invalid_at TIMESTAMP, created_at TIMESTAMP)",
    "CREATE REL TABLE IF NOT EXISTS MENTIONS(FROM Memory TO Entity)",
)
# the rows of each kind, as `LadybugGraphStore` dumps them, and how they are loaded
DUMP = {
    "entities": "MATCH (e:Entity) RETURN e.id, e.user_id, e.name, e.name_lc, e.entity_type",
    "memories": "MATCH (m:Memory) RETURN m.id, m.user_id, m.memory_type",
    "relations": "MATCH (s:Entity)-[r:RELATES]->(o:Entity) RETURN s.id, o.id, r.id, r.user_id, "
    "r.predicate, r.fact, r.memory_id, r.valid_at, r.invalid_at, r.created_at",
    "mentions": "MATCH (m:Memory)-[:MENTIONS]->(e:Entity) RETURN m.id, e.id",
}
_LOAD = {
    "entities": "CREATE (:Entity {id: $a, user_id: $b, name: $c, name_lc: $d, entity_type: $e})",
    "memories": "CREATE (:Memory {id: $a, user_id: $b, memory_type: $c})",
    "relations": "MATCH (s:Entity {id: $a}), (o:Entity {id: $b}) CREATE (s)-[:RELATES {id: $c, "
    "user_id: $d, predicate: $e, fact: $f, memory_id: $g, valid_at: $h, invalid_at: $i, "
    "created_at: $j}]->(o)",
    "mentions": "MATCH (m:Memory {id: $a}), (e:Entity {id: $b}) CREATE (m)-[:MENTIONS]->(e)",
}
_NAMES = "abcdefghij"


def rows(conn: lb.Connection, query: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
    """One statement's rows (also `LadybugGraphStore`'s way to run a statement)."""
    result = cast(lb.QueryResult, conn.execute(query, params or {}))  # one statement, one result
    try:
        return cast(list[list[Any]], result.get_all())
    finally:
        result.close()


def write_database(fresh: Path, data: dict[str, list[list[Any]]]) -> None:
    """Create the database file `fresh` holding `data` (rows per kind of `DUMP`)."""
    db = lb.Database(str(fresh))
    conn = lb.Connection(db)
    try:
        for statement in SCHEMA:
            rows(conn, statement)
        conn.execute("BEGIN TRANSACTION")
        for kind, found in data.items():
            for row in found:
                rows(conn, _LOAD[kind], dict(zip(_NAMES, row, strict=False)))
        conn.execute("COMMIT")
        rows(conn, "CHECKPOINT")
    finally:
        conn.close()
        db.close()


def main() -> None:
    data = pickle.loads(sys.stdin.buffer.read())  # written by our own parent process
    write_database(Path(sys.argv[1]), data)


if __name__ == "__main__":
    main()
