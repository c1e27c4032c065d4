"""Content words and light stems: what a query and a memory say, for matching them.

A query's content words (no question or function words) feed keyword search and the names
graph lookup tries; their stems tell whether a question is about what a fact says
(`content_stems`: "lives"/"live"/"lived" match, "user" and "people" say nothing).
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_][\w'’-]*", re.UNICODE)
STOPWORDS = frozenset(
    """a about after again all am an and any are as at be been before being both but by can
    could did do does doing done for from had has have having he her here hers him his how i
    if in into is it its just know me my myself no nor not now of off on once only or other
    our out over own same she should so some such than that the their them then there these
    they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours tell said say says remember""".split()
)
_GENERIC = frozenset({"user", "users", "user's", "people", "person", "thing", "things"})


def content_words(text: str) -> list[str]:
    """The words of `text` that are not stop words, in order, as written."""
    return [w for w in WORD.findall(text) if w.lower().strip("'’-") not in STOPWORDS]


def has_content(text: str) -> bool:
    """Whether `text` holds a word that is not a stop word."""
    return bool(content_words(text))


def stem(word: str) -> str:
    """A light stem, enough to match "lives"/"live"/"lived" and "likes"/"like"."""
    word = re.sub(r"['’]s$", "", word.lower().strip("'’-"))
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def content_stems(text: str) -> set[str]:
    """The stems of a text's content words (no stop words, no "user")."""
    return {
        stem(w)
        for w in WORD.findall(text)
        if w.lower() not in STOPWORDS and w.lower() not in _GENERIC and len(w) > 1
    }
