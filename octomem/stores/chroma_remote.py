"""The client of a Chroma server, with every request bounded.

chromadb's HTTP client waits without limit (its httpx session has no timeout), and its
constructor already makes requests (the caller's identity, the tenant, the database). So:
the client is made in a thread of its own, which the calls wait for at most `timeout_s`
(one connect under way at a time: a stalled server holds one thread, not one per call);
once made, its session gets `timeout_s` for connecting and for each read and write.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from octomem.stores.chroma_files import internals_changed


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
