"""A wallet's recovery phrase without a cue: 12, 15, 18, 21 or 24 words in lower case from
BIP39's English list (the 2,048 words every wallet's phrase is drawn from), numbered or
not, whose last word's checksum bits match the rest (`mnemonic`, the reference
implementation): a phrase of prose words that all stand in the list passes that check
once in 16 at 12 words, once in 256 at 24, and prose seldom runs 12 words from the list.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from octomem.sensitive.spans import Found

LENGTHS = (24, 21, 18, 15, 12)
_AROUND = ",;.:()-0123456789"  # around a word in the text split on spaces
_WORD = re.compile(r"[^\W\d_]+")
# what may stand between two words of a phrase: spaces, a comma or a line break, and the
# next word's number ("1. legal 2. winner", "(3) thank")
_BETWEEN = re.compile(r"[ \t]*[,;]?\s*(?:\(?\d{1,2}[.):-]?\s*)?")


@functools.cache
def _bip39() -> Any:
    from mnemonic import Mnemonic

    return Mnemonic("english")


@functools.cache
def _wordlist() -> frozenset[str]:
    return frozenset(_bip39().wordlist)


def find_seeds(text: str) -> Iterator[Found]:
    words = _wordlist()
    if len(text) < LENGTHS[-1] * 4 or not _a_run(text, words):
        return
    run: list[re.Match[str]] = []  # words in a row, each in the list
    for word in _WORD.finditer(text):
        if run and _BETWEEN.fullmatch(text, run[-1].end(), word.start()) is None:
            yield from _phrases(run)
            run = []
        if word.group() in words:  # (lower case only: the list's)
            run.append(word)
        else:
            yield from _phrases(run)
            run = []
    yield from _phrases(run)


def _a_run(text: str, words: frozenset[str]) -> bool:
    """Whether `text` may hold 12 words of the list in a row (split on spaces, a cheap
    first look: most texts hold none, and need no regex)."""
    count = 0
    for token in text.split():
        word = token.strip(_AROUND)
        if word in words:
            count += 1
            if count >= LENGTHS[-1]:
                return True
        elif word:  # (a number of a numbered list is no word)
            count = 0
    return False


def _phrases(run: list[re.Match[str]]) -> Iterator[Found]:
    """The phrases among `run`'s words, longest first, each once."""
    at = 0
    while len(run) - at >= LENGTHS[-1]:
        for length in LENGTHS:
            chosen = run[at : at + length]
            if len(chosen) == length and _bip39().check(" ".join(w.group() for w in chosen)):
                yield Found(chosen[0].start(), chosen[-1].end(), "seed", tail=False)
                at += length
                break
        else:
            at += 1
