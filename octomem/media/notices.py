"""What the reading libraries (pypdf, fontTools, Pillow) warn about while a file is read:
captured and counted, for a summary, instead of printed.

pypdf logs a warning per page for some PDFs ("fontTools is required to fully parse the
encoding of a CFF Type1 font in font dictionary {...}", each line holding the whole font
dictionary) and one for a truncated file ("EOF marker not found") before it fails; Pillow
warns through the `warnings` module. Inside `captured()` those loggers' warnings (and
warnings raised from those libraries' code) are counted by library and message; records
of another thread or task, and other warnings, go where they would have gone. While any
capture is open the libraries' loggers do not propagate: a record outside a capture is
handed to the root logger's handlers, as propagation would.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

LIBRARIES = ("pypdf", "fontTools", "PIL")
Notes = Counter[tuple[str, str]]  # (library, message) -> how many times
# what a known message means to someone who reads the summary
_PLAIN = {
    "fontTools is required": "a font's encoding not fully read (fontTools is not "
    "installed; some characters may be wrong)",
}
_FIELD = re.compile(r"%\(\w+\)[sdrf]")
_current: ContextVar[Notes | None] = ContextVar("octomem_reading_notes", default=None)
_lock = threading.Lock()
_open = 0  # captures open, in any thread
_propagated: dict[str, bool] = {}


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        notes = _current.get()
        if notes is None or record.levelno < logging.WARNING:
            logging.getLogger().handle(record)  # not ours: as propagation would
            return
        notes[(record.name.split(".")[0], message_of(record))] += 1


_HANDLER = _Handler()


def message_of(record: logging.LogRecord) -> str:
    """The message without what varies from file to file (a font dictionary), short."""
    if isinstance(record.args, dict) and record.args:
        text = _FIELD.sub("…", str(record.msg))
    else:
        text = record.getMessage()
    return plain(text)


def plain(text: str) -> str:
    text = " ".join(text.split())
    for start, meaning in _PLAIN.items():
        if text.startswith(start):
            return meaning
    return text if len(text) <= 160 else text[:159] + "…"


@contextmanager
def captured() -> Iterator[Notes]:
    """The warnings of the reading libraries within the block, counted (see the module)."""
    notes: Notes = Counter()
    token = _current.set(notes)
    _hold(1)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield notes
    finally:
        _hold(-1)
        _current.reset(token)
        for w in caught:
            where = w.filename.replace("\\", "/")
            library = next((n for n in LIBRARIES if f"/{n}/" in where), None)
            if library is None:  # not a reading library's: shown as it would have been
                warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)
            else:
                notes[(library, plain(str(w.message)))] += 1


def _hold(change: int) -> None:
    global _open
    with _lock:
        _open += change
        if change > 0 and _open == 1:
            for name in LIBRARIES:
                logger = logging.getLogger(name)
                _propagated[name], logger.propagate = logger.propagate, False
                logger.addHandler(_HANDLER)
        elif _open == 0:
            for name in LIBRARIES:
                logger = logging.getLogger(name)
                logger.removeHandler(_HANDLER)
                logger.propagate = _propagated.pop(name, True)
