"""An import's body read as it arrives, and an export's scratch file: neither leaves
anything on disk that a crash or a forget could miss.

An import reads the request's body straight from the connection (`Arriving`): its lines
are masked as they are parsed (`import_file.read_lines`), so only masked lines reach the
import's spool, and a secret in an uploaded export is never written as sent. An export is
written to a nameless file (`nameless`) and streamed from it: the kernel frees the file
when it is closed or the process ends, however it ends, so no user's words outlive a
killed download (a later forget could not find a named one).
"""

from __future__ import annotations

import asyncio
import queue
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")

_DEPTH = 8  # chunks held between the connection and the reader (~64 KB each)
_POLL_S = 0.05


class Arriving:
    """A request's body as a binary stream for a reader in another thread: `read` waits
    for the next chunk. `feed` (a task on the event loop) passes the chunks; when it ends
    without the body's end (the client gone, the body too large), `read` raises what
    ended it."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._queue: queue.Queue[bytes] = queue.Queue(_DEPTH)
        self._rest = b""
        self._ended = False
        self.failed: BaseException | None = None  # why the body did not arrive whole
        self.closed = False  # the reader has stopped: chunks are not waited for

    async def feed(self) -> None:
        try:
            async for chunk in self._chunks:
                if chunk:
                    await self._put(chunk)
            await self._put(b"")  # the body's end
        except BaseException as exc:  # cancelled too: the reader must not wait on
            self.failed = exc
            raise

    async def _put(self, chunk: bytes) -> None:
        """`chunk` for the reader; dropped once it has stopped (`close`)."""
        while not self.closed:
            try:
                self._queue.put_nowait(chunk)
                return
            except queue.Full:  # the reader is behind: wait for it
                await asyncio.sleep(_POLL_S / 10)

    def read(self, size: int = -1) -> bytes:
        while not self._rest and not self._ended:
            try:
                chunk = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if self.failed is not None or self.closed:
                    raise OSError(
                        f"the request's body did not arrive whole: {self.failed!r}"
                    ) from None
                continue
            self._rest, self._ended = chunk, not chunk
        size = len(self._rest) if size < 0 else size
        part, self._rest = self._rest[:size], self._rest[size:]
        return part

    def close(self) -> None:
        self.closed = True


async def read_as_it_arrives(
    chunks: AsyncIterator[bytes],
    start: Callable[[Arriving], Awaitable[T]],
    write: Callable[[asyncio.Future[T]], Awaitable[T]],
) -> T:
    """`start(body)` (an import) reads the body while it arrives; once all of it has,
    `write` runs it to its end as a write. Until then it has written nothing (an import
    checks every line before it writes), and it ends with the request: a request cut off
    while its body arrives stored nothing. What ended a body that did not arrive whole (too
    large, the client gone) is raised; an import that failed before the body's end (a bad
    line) is answered once the rest is read and dropped, so the client reads the answer."""
    body = Arriving(chunks)
    feeding = asyncio.create_task(body.feed())
    reading = asyncio.ensure_future(start(body))
    handed = False
    try:
        await asyncio.wait([feeding, reading], return_when=asyncio.FIRST_COMPLETED)
        if feeding.done() and body.failed is None:
            handed = True
            return await write(reading)
        if body.failed is not None:
            raise body.failed
        body.close()
        await asyncio.wait([feeding])
        return await reading
    finally:
        body.close()
        if not handed:
            reading.cancel()
        feeding.cancel()


def nameless(folder: Path) -> IO[bytes]:
    """A private scratch file in `folder` with no name (O_TMPFILE where the system has it,
    else unlinked as it is made): it goes with its last descriptor."""
    folder.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryFile(dir=folder)
