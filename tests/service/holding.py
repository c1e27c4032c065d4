"""A request the client holds in flight: headers and a first chunk of its body are sent,
the rest waits for `finish()`. The server has the request (its connection accepted, its
handler started) but cannot complete it, so a test can look at the service while a
request is deterministically in flight - no sleeps, no timing.

The streamed route (/v1/import) reads its body inside the work gate, so a held import
holds one of the worker's `service.max_concurrent` slots.

Sending is not the same as the server having read: `read_by_server()` waits until the
server's end of the connection has taken every byte sent out of the kernel (its receive
queue in /proc/net/tcp is empty), which is when the server has parsed the request line
and headers. Before that, a server told to shut down would see an idle connection and
close it.
"""

from __future__ import annotations

import json
import select
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h11


class Held:
    def __init__(self, url: str, path: str, headers: dict[str, str], first: bytes) -> None:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        self.sock = socket.create_connection((host, port), timeout=60)
        self.conn = h11.Connection(h11.CLIENT)
        head = [("Host", f"{host}:{port}"), ("Transfer-Encoding", "chunked")]
        head += list(headers.items())
        self._send(h11.Request(method="POST", target=path, headers=head))
        self._send(h11.Data(data=first))

    def read_by_server(self, timeout: float = 60.0) -> None:
        """Block until the server has read everything sent so far (see the module doc)."""
        client = _endpoint(self.sock.getsockname())
        server = _endpoint(self.sock.getpeername())
        deadline = time.monotonic() + timeout
        while _receive_queue(local=server, remote=client) != 0:
            if time.monotonic() > deadline:
                raise AssertionError("the server never read the held request")
            time.sleep(0.01)

    def _send(self, event: Any) -> None:
        data = self.conn.send(event)
        if data:
            self.sock.sendall(data)

    def answered(self) -> bool:
        """Whether the server has already answered (refused) the request."""
        return bool(select.select([self.sock], [], [], 0)[0])

    def finish(self, rest: bytes = b"") -> tuple[int, Any]:
        """Send the rest of the body; the server's answer (status, JSON body)."""
        if rest:
            self._send(h11.Data(data=rest))
        self._send(h11.EndOfMessage())
        return self.answer()

    def answer(self) -> tuple[int, Any]:
        """Wait for the server's answer, whether or not the body was finished."""
        status, body = 0, b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(self.sock.recv(65536))
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        self.close()
        return status, json.loads(body) if body else None

    def close(self) -> None:
        self.sock.close()


def _endpoint(address: tuple[Any, ...]) -> str:
    """An IPv4 (host, port) as /proc/net/tcp writes it: little-endian hex address."""
    host, port = address[0], address[1]
    packed = socket.inet_aton(host)[::-1].hex().upper()
    return f"{packed}:{port:04X}"


def _receive_queue(local: str, remote: str) -> int | None:
    """Bytes waiting in the receive queue of the socket local->remote; None if absent."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return int(fields[4].split(":")[1], 16)
    return None
