"""What the reading libraries (pypdf, fontTools, Pillow) warn about while a file is read:
captured and counted, for a summary, instead of printed.

pypdf logs a warning per page for some PDFs ("fontTools is required to fully parse the
encoding of a CFF Type1 font in font dictionary {...}", each line holding the whole font
dictionary) and one for a truncated file ("EOF marker not found") before it fails; Pillow
warns through the `warnings` module. Inside `captured()` those loggers' warnings (and
warnings raised from those libraries' code, as often as Python's filters show them) are
counted by library and message; records of another thread or task, and other warnings,
go where they would have gone. While any capture is open the libraries' loggers do not
propagate: a record outside a capture is handed to the root logger's handlers as
propagation would (none: not printed, the NullHandler of `octomem.logs`), and
`warnings.showwarning` counts or passes on each warning the same way. Nothing is swapped
per capture, so captures in concurrent tasks and threads do not undo each other.
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
from typing import Any, TextIO

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
_shown: list[Any] = [warnings.showwarning]  # what showed warnings before the capture


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        notes = _current.get()
        if notes is None or record.levelno < logging.WARNING:
            # not ours: to the root's handlers, as propagation would (and, like it, not
            # to Python's last resort on stderr: the library's NullHandler has it)
            for handler in logging.getLogger().handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
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
    try:
        yield notes
    finally:
        _hold(-1)
        _current.reset(token)


def _show(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """`warnings.showwarning` while a capture is open: a reading library's warning in a
    capturing context is counted, any other shown as before."""
    notes = _current.get()
    where = filename.replace("\\", "/")
    library = next((n for n in LIBRARIES if f"/{n}/" in where), None)
    if notes is None or library is None:
        _shown[0](message, category, filename, lineno, file, line)
    else:
        notes[(library, plain(str(message)))] += 1


def _hold(change: int) -> None:
    global _open
    with _lock:
        _open += change
        if change > 0 and _open == 1:
            for name in LIBRARIES:
                logger = logging.getLogger(name)
                _propagated[name], logger.propagate = logger.propagate, False
                logger.addHandler(_HANDLER)
            if warnings.showwarning is not _show:
                _shown[0], warnings.showwarning = warnings.showwarning, _show
        elif _open == 0:
            for name in LIBRARIES:
                logger = logging.getLogger(name)
                logger.removeHandler(_HANDLER)
                logger.propagate = _propagated.pop(name, True)
            if warnings.showwarning is _show:
                warnings.showwarning = _shown[0]
