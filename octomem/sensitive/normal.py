"""Text as the detectors see it, and the way back to the text as it was written.

Detection runs on the text in Unicode NFKC (full-width digits and letters become ASCII)
without the Default Ignorable code points (zero-width spaces, soft hyphens, bidi marks),
with the decimal digits of other scripts as ASCII digits and Latin lookalikes as Latin
letters in Latin words (below), so "４１１１ １１１１ ...", a card number with zero-width
spaces between its digits or in Arabic-Indic digits, is found like its plain form.

What is stored keeps the characters the user wrote outside the masked spans: NFKC
changes what text says ("x²" becomes "x2", "①" "1"), joiners build emoji sequences and
Persian or Indic words, and the content hash, deduplication and history all work on the
text as written. `Normal.original` maps a span of the normalised text back to the span
of the original that produced it.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): not rendered
IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# decimal digits of other scripts (Arabic-Indic "٤١١١", Devanagari "४१११"...), which
# NFKC keeps as they are: the detectors see them as the ASCII digits they stand for
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")
# Cyrillic and Greek letters drawn like Latin ones ("sk-аnt-..." with a Cyrillic "а"):
# read as those Latin letters in a word that holds Latin letters or digits and no other
# letter of those scripts; words written in Cyrillic or Greek are read as they are
LOOKALIKE = dict(
    zip(
        "аеорсухіјѕԁһԛԝАВЕКМНОРСТХУІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧο",
        "aeopcyxijsdhqwABEKMHOPCTXYIJSABEZHIKMNOPTYXo",
        strict=True,
    )
)
_LATIN_WORD = re.compile(r"(?<!\S)\S*[A-Za-z0-9]\S*")
_ANY_LOOKALIKE = re.compile(f"[{''.join(LOOKALIKE)}]")


@dataclass(frozen=True)
class Normal:
    """The normalised text; `pieces` map it back: one (normalised start, original start,
    original end, one-to-one) per piece."""

    text: str
    pieces: list[tuple[int, int, int, bool]]
    _starts: list[int] = field(repr=False)

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that the normalised span [start, end) came from:
        from the start of the piece holding `start` to the end of the piece holding the
        last character (invisible characters inside the span are in it, those at its
        edges are not)."""
        if end <= start:
            return start, end
        first = self.pieces[bisect.bisect_right(self._starts, start) - 1]
        last = self.pieces[bisect.bisect_right(self._starts, end - 1) - 1]
        begin = first[1] + (start - first[0] if first[3] else 0)
        stop = last[1] + (end - last[0] if last[3] else last[2] - last[1])
        return begin, stop


def _joins_previous(char: str, normal: str) -> bool:
    """Whether NFKC may compose this character with the one before it: a combining mark,
    a character that becomes one (half-width katakana voice marks), a Hangul vowel or
    final consonant."""
    return unicodedata.combining(normal[0]) != 0 or "\u1160" <= char <= "\u11ff"


def normalise(text: str) -> Normal | None:
    """The text as the detectors see it, or None when that is the text itself (ASCII, or
    NFKC already with nothing invisible)."""
    if text.isascii():
        return None
    swap = _lookalikes(text)
    if (
        not swap
        and IGNORABLE.search(text) is None
        and unicodedata.is_normalized("NFKC", text)
        and _OTHER_DIGIT.search(text) is None
    ):
        return None
    out: list[str] = []
    # per piece: original start, original end, one-to-one (an unchanged ASCII run)
    spans: list[tuple[int, int, bool]] = []
    at = 0

    def plain(start: int, end: int) -> None:
        if end > start:
            out.append(text[start:end])
            spans.append((start, end, True))

    for run in _NON_ASCII.finditer(text):
        plain(at, run.start())
        for index in range(run.start(), run.end()):
            char = text[index]
            if IGNORABLE.match(char):
                continue
            normal = LOOKALIKE[char] if index in swap else unicodedata.normalize("NFKC", char)
            if _OTHER_DIGIT.fullmatch(normal):
                normal = str(unicodedata.decimal(normal))
            if spans and _joins_previous(char, normal):
                start, end, one_to_one = spans[-1]
                if one_to_one and end - start > 1:  # split the run's last character off
                    out[-1] = text[start : end - 1]
                    spans[-1] = (start, end - 1, True)
                    out.append(text[end - 1])
                    spans.append((end - 1, end, False))
                    start = end - 1
                source = IGNORABLE.sub("", text[start : index + 1])
                out[-1] = unicodedata.normalize("NFKC", source)
                spans[-1] = (start, index + 1, False)
            else:
                out.append(normal)
                spans.append((index, index + 1, False))
        at = run.end()
    plain(at, len(text))
    pieces: list[tuple[int, int, int, bool]] = []
    position = 0
    for piece, (start, end, one_to_one) in zip(out, spans, strict=True):
        if piece:
            pieces.append((position, start, end, one_to_one))
            position += len(piece)
    return Normal("".join(out), pieces, [p[0] for p in pieces])


def _lookalikes(text: str) -> set[int]:
    """The offsets of the Cyrillic and Greek lookalikes to read as Latin letters: those in
    a word with Latin letters or digits whose other letters are all ASCII or lookalikes
    ("pаssword", "sk-аnt-..."; not "Wi-Fi-пароль")."""
    swap: set[int] = set()
    if _ANY_LOOKALIKE.search(text) is None:  # most non-ASCII text: no word to look at
        return swap
    for word in _LATIN_WORD.finditer(text):
        value = word.group()
        if value.isascii():
            continue
        others = [i for i, c in enumerate(value) if not c.isascii() and c.isalpha()]
        if others and all(value[i] in LOOKALIKE for i in others):
            swap.update(word.start() + i for i in others)
    return swap
