"""A wallet's recovery phrase without a cue: 12, 15, 18, 21 or 24 words in lower case from
BIP39's English list (the 2,048 words every wallet's phrase is drawn from; `mnemonic`, the
reference implementation), numbered or not, whose last word's checksum bits match the
rest. Prose of those words passes the checksum once in 16 at 12 words: a phrase is taken
only where it is the whole run of list words or leaves at most two of them around it,
with no word three times, so a long list of common words ("lion tiger zebra ...") is none.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterator

from octomem.sensitive.spans import Found

LENGTHS = (24, 21, 18, 15, 12)
_AROUND = 2  # list words a run may hold besides its phrase
_WORD = re.compile(r"[^\W\d_]+")
# what may stand between two words of a phrase: spaces, a comma or a line break, and the
# next word's number ("1. legal 2. winner", "(3) thank")
_BETWEEN = re.compile(r"[ \t]*[,;]?\s*(?:\(?\d{1,2}[.):-]?\s*)?")
_STRIP = "\"'`“”‘’.:()-0123456789"  # around a word in the text split on spaces and commas


@functools.cache
def _index() -> dict[str, int]:
    from mnemonic import Mnemonic

    return {word: n for n, word in enumerate(Mnemonic("english").wordlist)}


def _valid(words: list[str]) -> bool:
    """BIP39's checksum: the last len/3 bits of the words' 11-bit indices are the first
    bits of the SHA-256 of the rest (the entropy)."""
    index = _index()
    bits = "".join(f"{index[w]:011b}" for w in words)
    checksum = len(bits) // 33
    entropy = int(bits[:-checksum], 2).to_bytes((len(bits) - checksum) // 8, "big")
    digest = f"{hashlib.sha256(entropy).digest()[0]:08b}"
    return bits[-checksum:] == digest[:checksum]


def find_seeds(text: str) -> Iterator[Found]:
    words = _index()
    if len(text) < LENGTHS[-1] * 4 or not _a_run(text, words):
        return
    run: list[re.Match[str]] = []  # words in a row, each in the list
    for word in _WORD.finditer(text):
        if run and _BETWEEN.fullmatch(text, run[-1].end(), word.start()) is None:
            yield from _phrase(run)
            run = []
        if word.group() in words:  # (lower case only: the list's)
            run.append(word)
        else:
            yield from _phrase(run)
            run = []
    yield from _phrase(run)


def _a_run(text: str, words: dict[str, int]) -> bool:
    """Whether `text` may hold 12 words of the list in a row (a cheap first look: most
    texts hold none, and need no regex)."""
    count = 0
    for token in text.replace(",", " ").replace(";", " ").split():
        word = token.strip(_STRIP)
        if word in words:
            count += 1
            if count >= LENGTHS[-1]:
                return True
        elif word:  # (a number of a numbered list is no word)
            count = 0
    return False


def _phrase(run: list[re.Match[str]]) -> Iterator[Found]:
    """The phrase `run` holds, if one: at its start or end, with at most `_AROUND` other
    list words beside it."""
    if not LENGTHS[-1] <= len(run) <= LENGTHS[0] + _AROUND:
        return
    words = [w.group() for w in run]
    if Counter(words).most_common(1)[0][1] > 2:
        return
    for length in LENGTHS:
        if length <= len(run) <= length + _AROUND:
            for at in dict.fromkeys((0, len(run) - length)):
                if _valid(words[at : at + length]):
                    yield Found(run[at].start(), run[at + length - 1].end(), "seed", tail=False)
                    return
