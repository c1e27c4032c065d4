"""SQLite FTS5's own tokeniser (`porter unicode61`) for keyword indexes that are not FTS5.

The server-mode keyword index (`graph_keyword`) must split and stem text exactly as the
embedded FTS5 index does, so that BM25 ranks alike in both modes. SQLite does not expose
its tokenisers to SQL, so the text goes through a contentless FTS5 table in memory and the
tokens are read back from its `fts5vocab` instance table.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from octomem.stores.fts import query_tokens

_SCHEMA = """
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
            conn.executescript(_SCHEMA)
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


def document_terms(rows: Sequence[tuple[str, str]]) -> list[Terms]:
    """The terms FTS5 would index for (content, context) rows."""
    return _TOKENIZER.terms(rows)


def query_terms(text: str) -> list[str]:
    """The terms FTS5 matches for the quoted words of `text` (`fts`): one per token of each
    quoted word, repeated where two words stem alike (FTS5 scores each quoted word). A
    word FTS5 splits in two (``foo_bar``) counts as its two terms, not as one phrase."""
    words = query_tokens(text)
    found = _TOKENIZER.terms([(word, "") for word in words])
    return [term for terms in found for term in terms.content.elements()]
