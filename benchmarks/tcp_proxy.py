"""A TCP proxy on 127.0.0.1 in front of a server, for fault tests and latency benchmarks.

Its mode is switched at run time (`set_mode`), for the connections open and the ones to
come:

- "pass": bytes flow as they come;
- "delay": each chunk is held `delay_ms` before it is passed on, in both directions (a
  one-way delay: a round trip costs twice it);
- "stall": connections are accepted and kept open, and nothing is passed on either way (a
  server that hangs, or a network that black-holes packets); what was held flows again
  when the mode changes back;
- "drop": every open connection is cut, and a new one is accepted and cut at once;
- "refuse": nothing listens on the port (connections are refused) and every open one is
  cut; leaving it listens on the same port again.

`down()` / `up()` are "refuse" / "pass". `cut_after(pattern)` drops one connection just
after the client sent `pattern` (a commit, say), before the server's answer reaches the
client. Only 127.0.0.1 is ever listened on.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Literal

Mode = Literal["pass", "delay", "stall", "drop", "refuse"]
MODES: tuple[Mode, ...] = ("pass", "delay", "stall", "drop", "refuse")


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.accepted = 0  # connections accepted and passed on upstream
        self.mode: Mode = "refuse"  # until `up()` / `set_mode`
        self.delay_ms = 0.0
        self.cuts = 0  # connections dropped by `cut_after`
        self._cut_pattern: bytes | None = None
        self._cuts_left = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._cond = threading.Condition()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def set_mode(self, mode: Mode, delay_ms: float = 0.0) -> None:
        """Switch every connection, open or to come, to `mode` (see the module docstring)."""
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}: one of {', '.join(MODES)}")
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        with self._cond:
            self.mode = mode
            self.delay_ms = float(delay_ms) if mode == "delay" else 0.0
            self._cond.notify_all()
        if mode in ("drop", "refuse"):
            self._cut(stop_listening=mode == "refuse")
        if mode != "refuse":
            self._listen()

    def cut_after(self, pattern: bytes, times: int = 1) -> None:
        """The next `times` times a client sends bytes holding `pattern`, they reach the
        server and the connection is then dropped: the client never sees the answer."""
        with self._cond:
            self._cut_pattern, self._cuts_left = pattern, times

    def _cuts_now(self, data: bytes) -> bool:
        with self._cond:
            if not self._cuts_left or self._cut_pattern is None or self._cut_pattern not in data:
                return False
            self._cuts_left -= 1
            self.cuts += 1
            return True

    def up(self) -> None:
        self.set_mode("pass")

    def down(self) -> None:
        self.set_mode("refuse")

    def up_when(self, event: threading.Event, timeout_s: float = 60) -> threading.Thread:
        """Listen again once `event` is set (or `timeout_s` has passed: the caller then
        finds `event` unset), from a thread of its own, which is returned."""

        def wait_then_up() -> None:
            event.wait(timeout_s)
            self.up()

        thread = threading.Thread(target=wait_then_up, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.down()

    # --- plumbing ----------------------------------------------------------------------

    def _listen(self) -> None:
        with self._cond:
            if self._listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _cut(self, *, stop_listening: bool) -> None:
        with self._cond:
            listener = self._listener if stop_listening else None
            if stop_listening:
                self._listener = None
            sockets, self._open = self._open, set()
            self._cond.notify_all()
        for sock in [s for s in (listener,) if s is not None] + list(sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # "refuse": the listener is closed
                return
            if self.mode == "drop":
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            for sock in (client, server):  # as the client and server would: no Nagle
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # wait per write
            with self._cond:
                if self._listener is not listener or self.mode == "drop":  # meanwhile
                    client.close()
                    server.close()
                    if self._listener is not listener:
                        return
                    continue
                self._open |= {client, server}
                self.accepted += 1
            cut = threading.Event()  # set once `cut_after` matched on this connection
            _Pipe(self, client, server, cut, upstream=True).start()
            _Pipe(self, server, client, cut).start()

    def _gate(self) -> float:
        """Wait while the proxy stalls; the one-way delay then in force, in seconds."""
        with self._cond:
            while self.mode == "stall":
                self._cond.wait()
            return self.delay_ms / 1000.0


class _Pipe:
    """One direction of one connection: a reader thread queues what arrives (with its
    time), a writer thread passes it on once its delay has passed and no stall holds it."""

    def __init__(
        self,
        proxy: TcpProxy,
        source: socket.socket,
        target: socket.socket,
        cut: threading.Event,
        upstream: bool = False,
    ) -> None:
        self.proxy, self.source, self.target, self.cut = proxy, source, target, cut
        self.upstream = upstream  # client to server: where `cut_after` looks
        self.chunks: collections.deque[tuple[float, bytes]] = collections.deque()
        self.cond = threading.Condition()
        self.eof = False

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            while data := self.source.recv(65536):
                with self.cond:
                    self.chunks.append((time.monotonic(), data))
                    self.cond.notify()
        with self.cond:
            self.eof = True
            self.cond.notify()

    def _write(self) -> None:
        try:
            while True:
                with self.cond:
                    while not self.chunks and not self.eof:
                        self.cond.wait()
                    if not self.chunks:  # eof, all passed on
                        break
                    arrived, data = self.chunks.popleft()
                delay = self.proxy._gate()
                if (wait := arrived + delay - time.monotonic()) > 0:
                    time.sleep(wait)
                self.proxy._gate()  # a stall that began meanwhile holds it still
                if self.cut.is_set():  # an answer to what was cut never reaches the client
                    break
                if self.upstream and self.proxy._cuts_now(data):
                    self.cut.set()  # before the server can answer
                    self.target.sendall(data)
                    self.source.shutdown(socket.SHUT_RDWR)
                    time.sleep(0.2)  # while the server reads what it was sent
                    break
                self.target.sendall(data)
        except OSError:
            pass
        for sock in (self.source, self.target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def proxy_to(
    host: str, port: int, mode: Mode = "pass", delay_ms: float = 0.0
) -> Iterator[TcpProxy]:
    """A proxy to `host:port` in `mode`, refusing (its connections cut) once the block ends."""
    proxy = TcpProxy(host, port)
    proxy.set_mode(mode, delay_ms)
    try:
        yield proxy
    finally:
        proxy.set_mode("pass")  # a stalled pipe's threads end once their sockets close
        proxy.down()
