"""A request the client holds in flight: headers and a first chunk of its body are sent,
the rest waits for `finish()`. The server has the request (its connection accepted, its
handler started) but cannot complete it, so a test can look at the service while a
request is deterministically in flight - no sleeps, no timing.

The streamed route (/v1/import) reads its body inside the work gate, so a held import
holds one of the worker's `service.max_concurrent` slots.
"""

from __future__ import annotations

import json
import select
import socket
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
