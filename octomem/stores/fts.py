"""KeywordStore on SQLite FTS5: BM25 ranking over memory content, scoped per user.

Two indexed columns: `content`, and `context` - for a raw conversation turn the turn
before it, so a reply is found by the words of what it answers, and what the agents read
from it (`octomem.models.keyword_context`) - weighted `CONTEXT_WEIGHT`. An index of
another schema is refused, not migrated. User text is never FTS5 syntax: it is split into
word tokens, each quoted, ORed.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from octomem.errors import StoreError
from octomem.models import ListStatus, MemoryBase, MemoryType, as_utc, keyword_context, utcnow
from octomem.stores.base import ALL_USERS, AllUsers, IndexEntry
from octomem.stores.fence import Fence
from octomem.stores.sqlite_base import SqliteStore

_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_TOKENS = 64
K1 = 1.2  # FTS5's bm25: k1, and the floor of a word's IDF
MIN_IDF = 1e-6  # FTS5's floor for a term found in over half of the documents
CONTEXT_WEIGHT = 0.3  # BM25 weight of the context column (content: 1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keyword_docs (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    memory_type TEXT NOT NULL,
    user_id TEXT,
    is_current INTEGER NOT NULL,
    expires_at REAL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS keyword_docs_listing
    ON keyword_docs (user_id, memory_type, created_at, id);
CREATE VIRTUAL TABLE IF NOT EXISTS keyword_fts USING fts5(
    content, context, tokenize = 'porter unicode61'
);
"""
_FTS_COLUMNS = ("content", "context")
_DOC_COLUMNS = ("rowid", "id", "memory_type", "user_id", "is_current", "expires_at", "created_at")
# live at a time (the parameter): current and not expired
_LIVE = "(d.is_current = 1 AND (d.expires_at IS NULL OR d.expires_at > ?))"


def _columns(conn: sqlite3.Connection, table: str) -> tuple[str, ...]:
    return tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))


def query_tokens(text: str) -> list[str]:
    """The words of a query that the index searches: lowercased, each once, at most 64."""
    return list(dict.fromkeys(t.lower() for t in _WORD.findall(text)))[:_MAX_TOKENS]


def _any(tokens: Sequence[str]) -> str:
    """An FTS5 query that matches any of the tokens, each quoted (never FTS5 syntax)."""
    return " OR ".join('"' + token.replace('"', '""') + '"' for token in tokens)


@dataclass(frozen=True)
class _Ranked:
    """One search's ranked query: the best `limit` (id, memory type, rank) rows of an FTS5
    query that pass the filters (`where`, `params`); rank is minus the BM25 score."""

    where: str
    params: Sequence[Any]
    limit: int

    def __call__(
        self, conn: sqlite3.Connection, expression: str, since: int | None = None
    ) -> list[tuple[str, str, float]]:
        after = "" if since is None else " AND keyword_fts.rowid >= ?"
        sql = (
            f"SELECT d.id, d.memory_type, bm25(keyword_fts, 1.0, {CONTEXT_WEIGHT!r}) AS rank"
            " FROM keyword_fts JOIN keyword_docs AS d ON d.rowid = keyword_fts.rowid"
            f" WHERE keyword_fts MATCH ? AND {self.where}{after} ORDER BY rank, d.id LIMIT ?"
        )
        bounds = [] if since is None else [since]
        rows = conn.execute(sql, [expression, *self.params, *bounds, self.limit]).fetchall()
        return [(rid, mtype, float(rank)) for rid, mtype, rank in rows]

    def newest(self, conn: sqlite3.Connection, expression: str, count: int) -> int | None:
        """The rowid from which on `count` rows match and pass the filters (the newest
        ones: rowids grow as rows are written); None if fewer do."""
        row = conn.execute(
            "SELECT keyword_fts.rowid FROM keyword_fts JOIN keyword_docs AS d"
            " ON d.rowid = keyword_fts.rowid"
            f" WHERE keyword_fts MATCH ? AND {self.where}"
            " ORDER BY keyword_fts.rowid DESC LIMIT 1 OFFSET ?",
            [expression, *self.params, count - 1],
        ).fetchone()
        return None if row is None else int(row[0])


def _top(
    conn: sqlite3.Connection,
    tokens: Sequence[str],
    ranked: _Ranked,
    *,
    prune_from: int,
    max_scored: int,
) -> list[tuple[str, str, float]]:
    """`ranked` of the tokens ORed, scoring at most about `max_scored` rows (0: no cap).

    Exact where the words match fewer than `max_scored` rows, or where `_pruned` proves
    that rows holding only common words cannot rank; otherwise only the newest
    `max_scored` matching rows are scored (exactly: IDF counts the whole index), so the
    cost does not grow with the store."""
    counts = {
        token: int(
            conn.execute(
                "SELECT count(*) FROM keyword_fts WHERE keyword_fts MATCH ?", (_any([token]),)
            ).fetchone()[0]
        )
        for token in tokens
    }
    found = [token for token in tokens if counts[token]]
    if not found:
        return []
    everything = _any(found)
    matches = sum(counts.values())
    if len(found) > 1 and matches >= prune_from:
        pruned = _pruned(conn, found, counts, ranked)
        if pruned is not None:
            return pruned
    if max_scored and matches > max_scored:
        since = ranked.newest(conn, everything, max_scored)
        if since is not None:
            return ranked(conn, everything, since)
    return ranked(conn, everything)


def _pruned(
    conn: sqlite3.Connection, found: Sequence[str], counts: dict[str, int], ranked: _Ranked
) -> list[tuple[str, str, float]] | None:
    """`ranked` of the `found` words ORed - the same rows, scores and order - without
    scoring every row that holds a common word, where that provably changes nothing
    (MaxScore); None where it cannot be proven.

    A word adds at most (k1 + 1) x its IDF to a row's BM25 (its `bound`). The most common
    words are split off while their bounds together stay below the IDFs of all the words
    and the rarer words hold at most half of the matches. If the `limit`-th best row
    holding a rarer and a common word (`both`, scored exactly) scores at least the common
    words' bounds together, no row holding only common words can rank: the rows holding a
    rarer word, and `both`, are the answer."""
    matches = sum(counts[t] for t in found)
    # FTS5's IDF counts every row of the index; max(rowid) is at least that many, and
    # a larger count only raises the bounds
    rows = int(conn.execute("SELECT max(rowid) FROM keyword_docs").fetchone()[0] or 0)
    idf = {t: max(math.log((rows - counts[t] + 0.5) / (counts[t] + 0.5)), MIN_IDF) for t in found}
    bound = {t: (K1 + 1.0) * idf[t] for t in found}
    usual, left = sum(idf.values()), matches
    common: set[str] = set()
    total = 0.0
    for token in sorted(found, key=lambda t: -counts[t])[:-1]:
        if total + bound[token] >= usual:
            break
        common.add(token)
        total += bound[token]
        left -= counts[token]
    if not common or 2 * left > matches:
        return None
    rare = _any([t for t in found if t not in common])
    both = ranked(conn, f"({rare}) AND ({_any([t for t in found if t in common])})")
    if len(both) < ranked.limit or -both[-1][2] < total:
        return None
    best = {rid: (mtype, rank) for rid, mtype, rank in both}
    for rid, mtype, rank in ranked(conn, rare):
        if rid not in best or rank < best[rid][1]:
            best[rid] = (mtype, rank)
    top = sorted(((rid, m, r) for rid, (m, r) in best.items()), key=lambda row: (row[2], row[0]))
    return top[: ranked.limit]


class FtsKeywordStore(SqliteStore):
    """Full-text index over memory content; see `octomem.stores.base.KeywordStore`."""

    SCHEMA = _SCHEMA
    # a search whose words match fewer rows than this scores them all (`_top`)
    PRUNE_FROM: ClassVar[int] = 2000
    LABEL = "keyword index"
    HINT = "check that the file is writable and not corrupt (reset the index to rebuild it)"

    def __init__(self, path: Path, *, max_scored: int = 2000) -> None:
        super().__init__(path)
        self._max_scored = max_scored  # `_top`; `recall.keyword_max_scored`

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        for table, wanted in (("keyword_fts", _FTS_COLUMNS), ("keyword_docs", _DOC_COLUMNS)):
            if (found := _columns(conn, table)) and found != wanted:  # () : a new file
                raise StoreError(
                    f"{self.LABEL} at {self._path}: its table {table} has the columns "
                    f"{', '.join(found)}, not {', '.join(wanted)}: it was written by another "
                    "octomem version (the "
                    "data format may change between versions before 1.0). Export the memories "
                    "with the version that wrote them and import them with this one "
                    "(docs/operations.md, Data format before 1.0)"
                )

    def _before_compact(self, conn: sqlite3.Connection) -> None:
        # merge the index's segments into one: a deleted row's tokens stay in the old
        # segments (behind a delete marker) until they are merged away
        conn.execute("INSERT INTO keyword_fts (keyword_fts) VALUES ('optimize')")

    async def upsert(self, records: Sequence[MemoryBase], *, fence: Fence | None = None) -> None:
        latest = {record.id: record for record in records}
        if not latest:
            return

        def write(conn: sqlite3.Connection) -> None:
            for record in latest.values():
                expires = record.expiry()
                row = conn.execute(
                    "INSERT INTO keyword_docs"
                    " (id, memory_type, user_id, is_current, expires_at, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                    " memory_type = excluded.memory_type, user_id = excluded.user_id,"
                    " is_current = excluded.is_current, expires_at = excluded.expires_at,"
                    " created_at = excluded.created_at RETURNING rowid",
                    (
                        record.id,
                        record.memory_type.value,
                        record.user_id,
                        int(record.is_current),
                        as_utc(expires).timestamp() if expires is not None else None,
                        as_utc(record.created_at).timestamp(),
                    ),
                ).fetchone()
                conn.execute("DELETE FROM keyword_fts WHERE rowid = ?", (row[0],))
                conn.execute(
                    "INSERT INTO keyword_fts (rowid, content, context) VALUES (?, ?, ?)",
                    (row[0], record.content, keyword_context(record)),
                )

        await self._run("upsert", write)

    async def search(
        self,
        query: str,
        *,
        user_id: str | None,
        memory_types: Sequence[MemoryType] | None = None,
        limit: int = 20,
        include_superseded: bool = False,
        now: datetime | None = None,
    ) -> list[tuple[str, MemoryType, float]]:
        tokens = query_tokens(query)
        if not tokens or limit <= 0 or (memory_types is not None and not memory_types):
            return []
        where = ["d.user_id IS ?"]
        params: list[Any] = [user_id]
        if memory_types is not None:
            types = [MemoryType(t).value for t in dict.fromkeys(memory_types)]
            where.append(f"d.memory_type IN ({', '.join('?' * len(types))})")
            params.extend(types)
        if not include_superseded:
            where.append("d.is_current = 1 AND (d.expires_at IS NULL OR d.expires_at > ?)")
            params.append(as_utc(now or utcnow()).timestamp())
        ranked = _Ranked(" AND ".join(where), params, limit)
        prune_from, max_scored = self.PRUNE_FROM, self._max_scored

        def read(conn: sqlite3.Connection) -> list[tuple[str, MemoryType, float]]:
            if not conn.in_transaction:  # one snapshot: counts and scores of the same rows
                conn.execute("BEGIN")
            rows = _top(conn, tokens, ranked, prune_from=prune_from, max_scored=max_scored)
            return [(rid, MemoryType(mtype), -rank) for rid, mtype, rank in rows]

        return await self._run("search", read)

    async def delete(self, ids: Sequence[str], *, fence: Fence | None = None) -> None:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return

        def remove(conn: sqlite3.Connection) -> None:
            for memory_id in wanted:
                row = conn.execute(
                    "DELETE FROM keyword_docs WHERE id = ? RETURNING rowid", (memory_id,)
                ).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM keyword_fts WHERE rowid = ?", (row[0],))

        await self._run("delete", remove)

    async def entries(self, user_id: str | None | AllUsers = ALL_USERS) -> list[IndexEntry]:
        sql = (
            "SELECT d.id, d.memory_type, d.user_id, d.is_current, d.expires_at, f.content,"
            " f.context, d.created_at"
            " FROM keyword_docs AS d JOIN keyword_fts AS f ON f.rowid = d.rowid"
        )
        params: tuple[object, ...] = ()
        if user_id is not ALL_USERS:
            sql += " WHERE d.user_id IS ?"
            params = (user_id,)
        return [
            IndexEntry(rid, MemoryType(mtype), uid, bool(cur), exp, content, context or "", created)
            for rid, mtype, uid, cur, exp, content, context, created in await self._rows(
                "entries", sql + " ORDER BY d.id", *params
            )
        ]

    async def listing(
        self,
        user_id: str | None,
        memory_type: MemoryType,
        *,
        status: ListStatus,
        now: datetime,
        offset: int = 0,
        limit: int = 50,
    ) -> list[str]:
        newest = "d.created_at DESC, d.id DESC"
        chosen = {
            "current": f"AND {_LIVE} ORDER BY {newest}",
            "past": f"AND NOT {_LIVE} ORDER BY {newest}",
            "all": f"ORDER BY {_LIVE} DESC, {newest}",
        }[status]
        sql = (
            "SELECT d.id FROM keyword_docs AS d WHERE d.user_id IS ? AND d.memory_type = ? "
            f"{chosen} LIMIT ? OFFSET ?"
        )
        params = (
            user_id,
            memory_type.value,
            as_utc(now).timestamp(),
            max(limit, 0),
            max(offset, 0),
        )
        return [row[0] for row in await self._rows("listing", sql, *params)]

    async def tallies(
        self, user_id: str | None, *, now: datetime
    ) -> dict[MemoryType, tuple[int, int]]:
        sql = (
            f"SELECT d.memory_type, sum({_LIVE}), count(*) FROM keyword_docs AS d"
            " WHERE d.user_id IS ? GROUP BY d.memory_type"
        )
        rows = await self._rows("tallies", sql, as_utc(now).timestamp(), user_id)
        return {MemoryType(t): (int(live), int(n) - int(live)) for t, live, n in rows}

    async def reset(self) -> None:
        def clear(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM keyword_docs")
            conn.execute("DELETE FROM keyword_fts")

        await self._run("reset", clear)
