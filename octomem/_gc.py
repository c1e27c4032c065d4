"""Cyclic garbage collection paused while long-lived objects are made.

What a command-line process imports and opens lives until the process ends, so collecting
it is wasted work: the `octomem` command starts with collection off (`command_line`) and,
once its imports are done and again once its stores are open, keeps what is alive out of
later collections (`settle`). A library caller's collection is never changed for long:
`paused` gives back the state it found."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_COMMAND = False  # this process runs one command of the `octomem` command line


def command_line() -> None:
    """First thing the command-line entry does: no collection until `settle`."""
    global _COMMAND
    _COMMAND = True
    gc.disable()


def settle() -> None:
    """In a command-line process, what is alive now is frozen out of every later collection
    and collection is on; anywhere else, nothing."""
    if _COMMAND:
        gc.freeze()
        gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block, then the state found before it."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
