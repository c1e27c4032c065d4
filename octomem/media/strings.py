"""The text a file's bytes hold where no reader looks, as `strings` finds it: whether
masking finds a secret in it (`holds_secret`), so that bytes kept as they are
(`media.keep_originals`) hold none. The readers read a file's text (a PDF's pages, an
image through OCR, its metadata), but bytes after a PNG's end, a private chunk, an
unreferenced PDF object or a comment hold text too, and keeping the bytes keeps it.

Read are the runs of printable characters, `MIN_RUN` or more, in ASCII or UTF-8 and in
UTF-16 (either byte order, ASCII characters), each masked as a text of its own (`SEPARATOR`
keeps runs apart). Shorter runs, or runs read together, find secrets in the noise of
compressed data: in random bytes (as compressed data looks), a two-letter cue ("pw=",
"PW:") then a value that looks generated turned up once in 5 MB with runs of 4 or more,
once in 75 MB with runs of 8, once in 700 MB with runs of 10 (three times in 300 MB read
together, one a line, as `strings` prints them). The bytes are read in windows of `WINDOW` that
share `OVERLAP` bytes with the next one: memory is bounded by a window, time grows with
the file's size, and a secret with its cue (shorter than `OVERLAP`) is found whole in one
window. Compressed streams (a PDF's page contents, a
PNG's pixels) are not inflated: their text is what the readers read, and it is masked
already.
"""

from __future__ import annotations

import re

from octomem.sensitive import mask

WINDOW = 1 << 18  # bytes read at a time
OVERLAP = 1 << 12  # bytes each window shares with the next: longer than a cue and its value
MIN_RUN = 10  # characters
SEPARATOR = "\n.\n"  # between runs: no cue reaches past it to a value in the next run
# a run of printable characters: not a control character nor what could not be decoded
_TEXT = re.compile(rf"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]{{{MIN_RUN},}}")
_ASCII = re.compile(rf"[\t\n\r\x20-\x7e]{{{MIN_RUN},}}")


def runs(window: bytes) -> str:
    """The printable runs of `window`, `SEPARATOR` between them. Decoded first (in C: a
    regex over the bytes is ten times slower): as UTF-8, every byte that is not a
    character's becomes U+FFFD, and as UTF-16 little-endian at both offsets, which is
    big-endian at the other one."""
    found = _TEXT.findall(window.decode("utf-8", "replace"))
    for start in (0, 1):
        found += _ASCII.findall(window[start:].decode("utf-16-le", "replace"))
    return SEPARATOR.join(found)


def holds_secret(data: bytes) -> bool:
    """Whether masking finds a secret in the printable runs of `data`."""
    view = memoryview(data)
    for start in range(0, max(len(data) - OVERLAP, 1), WINDOW):
        if mask(runs(bytes(view[start : start + WINDOW + OVERLAP]))).sensitive:
            return True
    return False
