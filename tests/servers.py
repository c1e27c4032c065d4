"""Servers the tests start themselves (`benchmarks.servers`, which the benchmarks use
too); a server that does not come up fails the test with its log's tail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import pytest

from benchmarks import servers
from benchmarks.servers import answers, executable, free_port, listening
from octomem.errors import OctomemError

__all__ = ["answers", "executable", "free_port", "listening", "running", "up"]
T = TypeVar("T")


@contextmanager
def up(server: AbstractContextManager[T]) -> Iterator[T]:
    """Enter `server`; the test fails (never skips) if it cannot start or come up."""
    try:
        started = server.__enter__()
    except OctomemError as exc:  # no executable, or it did not come up
        pytest.fail(str(exc))
    try:
        yield started
    finally:
        server.__exit__(None, None, None)


def running(*args: Any, **kwargs: Any) -> AbstractContextManager[Any]:
    """`benchmarks.servers.running`, failing the test if the process does not come up."""
    return up(servers.running(*args, **kwargs))
