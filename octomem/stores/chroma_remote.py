"""The client of a Chroma server, with every request bounded.

chromadb's HTTP client waits without limit (its httpx session has no timeout), and its
constructor already makes requests (the caller's identity, the tenant, the database). So:
the client is made in a thread of its own, which the calls wait for at most `timeout_s`
(one connect under way at a time: a stalled server holds one thread, not one per call);
once made, its session gets `timeout_s` for connecting and for each read and write.

Its requests run in threads of their own (`run`), not the event loop's default executor,
which has a few threads a core: a recall sends about nine requests at once, each thread
waiting on the network, and a few threads would send them in waves, a round trip each.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx

from octomem.stores.chroma_files import internals_changed

T = TypeVar("T")
THREADS = 32  # requests of one store in flight at once


def bound_requests(client: Any, timeout_s: float) -> Any:
    """`client` (a chromadb HttpClient) with `timeout_s` on each of its requests."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):  # a chromadb internal: no public setting
        raise internals_changed("its HttpClient has no _server._session httpx client")
    session.timeout = httpx.Timeout(timeout_s)
    return client


class Remote:
    """The client of a Chroma server (or one handed in): made on first use, shared by the
    calls of one store; the server keeps its own files. `timeout_s`: how long a call waits
    for the client to be made (None: as long as it takes)."""

    def __init__(self, connect: Callable[[], Any], timeout_s: float | None = None) -> None:
        self._connect = connect
        self._timeout_s = timeout_s
        self._client: Any = None
        self._making: concurrent.futures.Future[Any] | None = None
        self._lock = threading.Lock()
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in one of this client's threads (in the caller's context, as
        `asyncio.to_thread` runs it)."""
        with self._lock:
            if self._threads is None:
                self._threads = concurrent.futures.ThreadPoolExecutor(
                    THREADS, thread_name_prefix="octomem-chroma"
                )
            threads = self._threads
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(threads, call)

    @contextlib.contextmanager
    def using(self) -> Iterator[Any]:
        yield self._get()

    def _get(self) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            making = self._making
            if making is None or making.done():  # none under way, or the last one failed
                making = self._making = concurrent.futures.Future()
                threading.Thread(target=self._make, args=(making,), daemon=True).start()
        # TimeoutError (a connection that may pass: retried) past the bound
        client = making.result(self._timeout_s)
        with self._lock:
            if self._making is making and self._client is None:
                self._client = client
            return self._client if self._client is not None else client

    def _make(self, making: concurrent.futures.Future[Any]) -> None:
        try:
            making.set_result(self._connect())
        except BaseException as exc:
            making.set_exception(exc)

    @property
    def client(self) -> Any:
        """The open client, or None."""
        return self._client

    def close(self) -> None:
        with self._lock:
            self._client = None
            self._making = None
            threads, self._threads = self._threads, None
        if threads is not None:  # a request to a stalled server ends by its bound
            threads.shutdown(wait=False)
