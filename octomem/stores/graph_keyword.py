"""KeywordStore in the graph server (server mode): an inverted index kept as nodes, BM25
computed by the server from the posting lists of the query's terms, so every app host
finds a memory by its words. Neo4j's full-text indexes are not used: ArcadeDB's Bolt
plugin cannot create them, and their statistics span every project and user.

Nodes (each with the `user_id` key of `graph_common.Namespace`, so `reset` and `entries`
stay within the project, and forgetting a user leaves no node of theirs):

- `KeywordDoc` {id, user_id, memory_type, is_current, expires_at, content, context, length}
- `KeywordPosting` {term, doc, c, x, length, memory_type, is_current, expires_at, user_id}:
  one per (document, term), `term` keyed by user ("<user key>\\x1f<term>"), `c` / `x` the
  term's count in the content and context columns; the document's fields are copied so
  that a search reads postings only;
- `KeywordStats` {user_id, docs, tokens}: per user, the document count and total length.

Ranking is FTS5's `bm25(keyword_fts, 1.0, 0.3)` term for term, over text tokenised by FTS5
itself (`_Tokenizer`), except that document counts and lengths are the user's own, not
the whole index's: no counter shared by every writer, and no user's ranking depends on
another's text.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

from octomem.models import ListStatus, MemoryBase, MemoryType, as_utc, keyword_context, utcnow
from octomem.stores.base import ALL_USERS, AllUsers, IndexEntry
from octomem.stores.fence import Fence
from octomem.stores.fts import CONTEXT_WEIGHT, K1, MIN_IDF, query_tokens
from octomem.stores.graph_common import NAMESPACED, SEPARATOR
from octomem.stores.neo4j_client import ServerStore, Tx
from octomem.stores.neo4j_client import records as fetch

B = 0.75  # FTS5's bm25: b
_BATCH = 256  # documents per transaction: a large delete or re-index stays in small ones


_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT octomem_keyword_doc IF NOT EXISTS FOR (d:KeywordDoc) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT octomem_keyword_stats IF NOT EXISTS "
    "FOR (s:KeywordStats) REQUIRE s.user_id IS UNIQUE",
    "CREATE INDEX octomem_keyword_term IF NOT EXISTS FOR (p:KeywordPosting) ON (p.term)",
    "CREATE INDEX octomem_keyword_posting_doc IF NOT EXISTS FOR (p:KeywordPosting) ON (p.doc)",
    "CREATE INDEX octomem_keyword_doc_user IF NOT EXISTS FOR (d:KeywordDoc) ON (d.user_id)",
)
_OLD_DOCS: LiteralString = (
    "MATCH (d:KeywordDoc) WHERE d.id IN $ids RETURN d.id AS id, d.user_id AS u, d.length AS length"
)
_DELETE_POSTINGS: LiteralString = "MATCH (p:KeywordPosting) WHERE p.doc IN $ids DELETE p"
_DELETE_DOCS: LiteralString = "MATCH (d:KeywordDoc) WHERE d.id IN $ids DELETE d"
# per user: add the change in documents and tokens; a user left with none keeps no node
_COUNT: LiteralString = (
    "UNWIND $rows AS row MERGE (s:KeywordStats {user_id: row.u}) "
    "SET s.docs = coalesce(s.docs, 0) + row.docs, s.tokens = coalesce(s.tokens, 0) + row.tokens "
    "WITH s WHERE s.docs <= 0 DELETE s"
)
# an upsert's writes in one statement (one round trip; no answer read): the stored
# documents' counts taken off their users' and their postings deleted, the documents and
# their postings written, and their counts added (`count(*)` between the parts: one row
# goes on, whatever a part matched). The postings are matched a document at a time: after
# a `WITH`, ArcadeDB reads every posting for `p.doc IN $ids` (66 ms an add at 3,300
# memories)
_WRITE: LiteralString = (
    "UNWIND $ids AS id MATCH (o:KeywordDoc {id: id}) "
    "WITH o.user_id AS u, count(o) AS n, sum(o.length) AS len "
    "MERGE (s:KeywordStats {user_id: u}) "
    "SET s.docs = coalesce(s.docs, 0) - n, s.tokens = coalesce(s.tokens, 0) - len "
    "WITH count(*) AS old "
    "UNWIND $ids AS pid MATCH (p:KeywordPosting {doc: pid}) DELETE p WITH count(*) AS gone "
    "UNWIND $docs AS row MERGE (d:KeywordDoc {id: row.id}) "
    "SET d.user_id = row.user_id, d.memory_type = row.memory_type, "
    "d.is_current = row.is_current, d.expires_at = row.expires_at, "
    "d.content = row.content, d.context = row.context, d.length = row.length, "
    "d.created_at = row.created_at "
    "WITH count(*) AS written "
    "UNWIND $postings AS row CREATE (p:KeywordPosting {term: row.term, doc: row.doc, "
    "c: row.c, x: row.x, length: row.length, memory_type: row.memory_type, "
    "is_current: row.is_current, expires_at: row.expires_at, user_id: row.user_id}) "
    "WITH count(*) AS posted " + _COUNT
)
# BM25 of every document holding a query term, best first (ties by id, as FTS5's ORDER BY
# rank, id), in one statement: the user's document count and average length, then one
# pass over each term's postings: the term's document frequency (every posting, as FTS5
# counts superseded rows too) gives its IDF, floored as FTS5 floors it, times `q.n`, how
# often the query holds the term; then the postings that pass the filters add up per
# document. A user without documents: no row.
_SEARCH: LiteralString = (
    "MATCH (s:KeywordStats {user_id: $u}) WHERE s.docs > 0 "
    "WITH s.docs AS docs, s.tokens * 1.0 / s.docs AS mean "
    "WITH docs, CASE WHEN mean > 1e-9 THEN mean ELSE 1e-9 END AS avgdl "
    "UNWIND $q AS q MATCH (p:KeywordPosting {term: q.term}) "
    "WITH docs, avgdl, q, collect(p) AS ps "
    "WITH avgdl, q, ps, log((docs - size(ps) + 0.5) / (size(ps) + 0.5)) AS raw "
    "WITH avgdl, ps, q.n * CASE WHEN raw > 0 THEN raw ELSE $min_idf END AS idf "
    "UNWIND ps AS p "
    "WITH p, idf, avgdl, p.c + $cw * p.x AS f "
    "WHERE ($types IS NULL OR p.memory_type IN $types) "
    "AND ($all OR (p.is_current AND (p.expires_at IS NULL OR p.expires_at > $now))) "
    "WITH p.doc AS doc, p.memory_type AS mtype, "
    "sum(idf * f * ($k1 + 1.0) / (f + $k1 * (1.0 - $b + $b * p.length / avgdl))) AS score "
    "RETURN doc, mtype, score ORDER BY score DESC, doc LIMIT $limit"
)
_ENTRY_RETURN: LiteralString = (
    " RETURN n.id AS id, n.memory_type AS mtype, n.user_id AS u, n.is_current AS cur, "
    "n.expires_at AS exp, n.content AS content, n.context AS context, "
    "n.created_at AS created ORDER BY n.id"
)
# live at $now: current and not expired
_LIVE: LiteralString = "(d.is_current AND (d.expires_at IS NULL OR d.expires_at > $now))"
_OF_TYPE: LiteralString = "MATCH (d:KeywordDoc) WHERE d.user_id = $u AND d.memory_type = $t "
_NEWEST: LiteralString = "d.created_at DESC, d.id DESC SKIP $skip LIMIT $limit"
# a page of `listing`, by status
_LISTING: dict[str, LiteralString] = {
    "current": _OF_TYPE + "AND " + _LIVE + " RETURN d.id AS id ORDER BY " + _NEWEST,
    "past": _OF_TYPE + "AND NOT " + _LIVE + " RETURN d.id AS id ORDER BY " + _NEWEST,
    "all": _OF_TYPE + "WITH d, CASE WHEN " + _LIVE + " THEN 1 ELSE 0 END AS live "
    "RETURN d.id AS id ORDER BY live DESC, " + _NEWEST,
}
_TALLIES: LiteralString = (
    "MATCH (d:KeywordDoc) WHERE d.user_id = $u "
    "RETURN d.memory_type AS t, sum(CASE WHEN " + _LIVE + " THEN 1 ELSE 0 END) AS live, "
    "count(d) AS n"
)
_ENTRIES_OF_USER: LiteralString = "MATCH (n:KeywordDoc) WHERE n.user_id = $u" + _ENTRY_RETURN
_ALL_ENTRIES: LiteralString = "MATCH (n:KeywordDoc) WHERE " + NAMESPACED + _ENTRY_RETURN
# `reset`, in batches, within the namespace
_RESET: tuple[LiteralString, ...] = tuple(
    "MATCH (n:" + label + ") WHERE " + NAMESPACED + " WITH n LIMIT 10000 DELETE n "
    "RETURN count(*) AS deleted"
    for label in ("KeywordPosting", "KeywordDoc", "KeywordStats")
)


class GraphKeywordStore(ServerStore):
    """Full-text index in the graph server; see `octomem.stores.base.KeywordStore`."""

    WHAT = "keyword"
    SCHEMA = _SCHEMA

    async def upsert(self, records: Sequence[MemoryBase], *, fence: Fence | None = None) -> None:
        latest = list({record.id: record for record in records}.values())
        for start in range(0, len(latest), _BATCH):
            batch = latest[start : start + _BATCH]
            rows = [(r.content, keyword_context(r)) for r in batch]
            terms = await asyncio.to_thread(_TOKENIZER.terms, rows)
            await self._write_batch(batch, terms, fence)

    async def _write_batch(
        self, records: Sequence[MemoryBase], terms: Sequence[Terms], fence: Fence | None
    ) -> None:
        ns = self._ns
        docs, postings = [], []
        added = _Change()
        for record, found in zip(records, terms, strict=True):
            expires = record.expiry()
            user = ns.user(record.user_id)
            doc = {
                "id": ns.key(record.id),
                "user_id": user,
                "memory_type": record.memory_type.value,
                "is_current": record.is_current,
                "expires_at": as_utc(expires).timestamp() if expires is not None else None,
                "length": found.length,
            }
            docs.append(
                {
                    **doc,
                    "content": record.content,
                    "context": keyword_context(record),
                    "created_at": as_utc(record.created_at).timestamp(),
                }
            )
            posting = {k: v for k, v in doc.items() if k != "id"} | {"doc": doc["id"]}
            added.add(user, 1, found.length)
            for term in sorted(found.content.keys() | found.context.keys()):
                key = f"{user}{SEPARATOR}{term}"
                c, x = found.content[term], found.context[term]
                postings.append({**posting, "term": key, "c": c, "x": x})
        ids = [doc["id"] for doc in docs]
        params = {"ids": ids, "docs": docs, "postings": postings, "rows": added.rows()}
        await self._deferred("upsert", [(_WRITE, params)], fence=fence)

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
        if limit <= 0 or (memory_types is not None and not memory_types):
            return []
        terms = query_terms(query)
        if not terms:
            return []
        user = self._ns.user(user_id)
        types = None
        if memory_types is not None:
            types = [MemoryType(t).value for t in dict.fromkeys(memory_types)]
        params: dict[str, Any] = {
            "types": types,
            "all": include_superseded,
            "now": as_utc(now or utcnow()).timestamp(),
            "cw": CONTEXT_WEIGHT,
            "k1": K1,
            "b": B,
            "min_idf": MIN_IDF,
            "limit": limit,
        }

        # a term twice in the query (two words, one stem) counts twice, as in FTS5
        weight = Counter(f"{user}{SEPARATOR}{term}" for term in terms)
        q = [{"term": key, "n": n} for key, n in sorted(weight.items())]

        rows = await self._query("search", _SEARCH, write=False, q=q, u=user, **params)
        return [
            (self._ns.strip(row["doc"]), MemoryType(row["mtype"]), float(row["score"]))
            for row in rows
        ]

    async def delete(self, ids: Sequence[str], *, fence: Fence | None = None) -> None:
        wanted = self._ns.keys(dict.fromkeys(ids))
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]

            async def work(tx: Tx, batch: list[str] = batch) -> None:
                change = _Change()
                for old in await fetch(tx, _OLD_DOCS, ids=batch):
                    change.add(old["u"], -1, -int(old["length"]))
                if change.users:
                    await fetch(tx, _DELETE_POSTINGS, ids=batch)
                    await fetch(tx, _DELETE_DOCS, ids=batch)
                    await change.write(tx)

            await self._call("delete", work, fence=fence)

    async def entries(self, user_id: str | None | AllUsers = ALL_USERS) -> list[IndexEntry]:
        ns = self._ns
        if user_id is ALL_USERS:
            rows = await self._query("entries", _ALL_ENTRIES, write=False, **ns.params)
        else:
            rows = await self._query("entries", _ENTRIES_OF_USER, write=False, u=ns.user(user_id))
        return [
            IndexEntry(
                ns.strip(row["id"]),
                MemoryType(row["mtype"]),
                ns.strip(row["u"]) or None,
                bool(row["cur"]),
                None if row["exp"] is None else float(row["exp"]),
                row["content"],
                row["context"] or "",
                float(row["created"] or 0.0),
            )
            for row in rows
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
        ns = self._ns
        params: dict[str, Any] = {
            "u": ns.user(user_id),
            "t": memory_type.value,
            "now": as_utc(now).timestamp(),
            "skip": max(offset, 0),
            "limit": max(limit, 0),
        }
        rows = await self._query("listing", _LISTING[status], write=False, **params)
        return [ns.strip(row["id"]) for row in rows]

    async def tallies(
        self, user_id: str | None, *, now: datetime
    ) -> dict[MemoryType, tuple[int, int]]:
        at = as_utc(now).timestamp()
        rows = await self._query("tallies", _TALLIES, write=False, u=self._ns.user(user_id), now=at)
        return {
            MemoryType(row["t"]): (int(row["live"]), int(row["n"]) - int(row["live"]))
            for row in rows
        }

    async def reset(self) -> None:
        for statement in _RESET:
            await self._drain("reset", statement, **self._ns.params)


class _Change:
    """How a transaction changes each user's document count and total length."""

    def __init__(self) -> None:
        self.users: dict[str, tuple[int, int]] = {}

    def add(self, user: str, docs: int, tokens: int) -> None:
        had = self.users.get(user, (0, 0))
        self.users[user] = (had[0] + docs, had[1] + tokens)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"u": user, "docs": docs, "tokens": tokens}
            for user, (docs, tokens) in sorted(self.users.items())  # one lock order
            if docs or tokens
        ]

    async def write(self, tx: Tx) -> None:
        if rows := self.rows():
            await fetch(tx, _COUNT, rows=rows)


# SQLite FTS5's own tokeniser (`porter unicode61`): this index must split and stem text
# exactly as the embedded FTS5 index does, so that BM25 ranks alike in both modes. SQLite
# does not expose its tokenisers to SQL, so the text goes through a contentless FTS5 table
# in memory and the tokens are read back from its `fts5vocab` instance table.
_TOKENIZER_SCHEMA = """
CREATE VIRTUAL TABLE t USING fts5(content, context, content='', tokenize='porter unicode61');
CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');
"""


@dataclass(frozen=True)
class Terms:
    """One document's terms: how often each occurs in each column, and its length (the
    number of tokens of both columns, as FTS5's bm25 counts it)."""

    content: Counter[str]
    context: Counter[str]

    @property
    def length(self) -> int:
        return self.content.total() + self.context.total()


class _Tokenizer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            conn.executescript(_TOKENIZER_SCHEMA)
            self._conn = conn
        return self._conn

    def terms(self, rows: Sequence[tuple[str, str]]) -> list[Terms]:
        """The terms of (content, context) rows, in their order."""
        found = [Terms(Counter(), Counter()) for _ in rows]
        if not rows:
            return found
        with self._lock:
            conn = self._connection()
            try:
                conn.executemany(
                    "INSERT INTO t (rowid, content, context) VALUES (?, ?, ?)",
                    [(n, content, context) for n, (content, context) in enumerate(rows)],
                )
                for term, doc, column in conn.execute("SELECT term, doc, col FROM v"):
                    terms = found[doc]
                    (terms.content if column == "content" else terms.context)[term] += 1
            finally:
                conn.execute("INSERT INTO t (t) VALUES ('delete-all')")
        return found


_TOKENIZER = _Tokenizer()


def query_terms(text: str) -> list[str]:
    """The terms FTS5 matches for the quoted words of `text` (`fts`): one per token of each
    quoted word, repeated where two words stem alike (FTS5 scores each quoted word). A
    word FTS5 splits in two (``foo_bar``) counts as its two terms, not as one phrase."""
    words = query_tokens(text)
    found = _TOKENIZER.terms([(word, "") for word in words])
    return [term for terms in found for term in terms.content.elements()]
