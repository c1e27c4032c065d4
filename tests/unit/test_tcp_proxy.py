"""The fault proxy (benchmarks/tcp_proxy.py) in front of a local echo server: each mode
does what the fault tests and the latency bench rely on."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from benchmarks.tcp_proxy import TcpProxy, proxy_to


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def proxy(echo: int) -> Iterator[TcpProxy]:
    with proxy_to("127.0.0.1", echo) as running:
        yield running


def _client(proxy: TcpProxy, timeout: float = 10) -> socket.socket:
    return socket.create_connection(proxy.address, timeout=timeout)


def test_pass_and_delay(proxy: TcpProxy) -> None:
    with _client(proxy) as sock:
        sock.sendall(b"ping")
        assert sock.recv(16) == b"ping"
        proxy.set_mode("delay", delay_ms=100)
        began = time.monotonic()
        sock.sendall(b"slow")
        assert sock.recv(16) == b"slow"
        assert time.monotonic() - began >= 0.19  # held one way, then the other


def test_a_stall_holds_everything_until_it_ends(proxy: TcpProxy) -> None:
    with _client(proxy) as sock:
        proxy.set_mode("stall")
        sock.sendall(b"held")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(16)
        with _client(proxy) as late:  # a new connection is accepted, and held too
            late.sendall(b"late")
            late.settimeout(0.5)
            with pytest.raises(TimeoutError):
                late.recv(16)
            proxy.set_mode("pass")
            late.settimeout(10)
            assert late.recv(16) == b"late"
        sock.settimeout(10)
        assert sock.recv(16) == b"held"


def test_drop_cuts_connections_and_refuse_stops_listening(proxy: TcpProxy) -> None:
    with _client(proxy) as sock:
        proxy.set_mode("drop")
        assert sock.recv(16) == b""  # cut
    with _client(proxy) as sock:  # accepted, then cut at once
        assert sock.recv(16) == b""
    proxy.set_mode("refuse")
    with pytest.raises(ConnectionRefusedError):
        _client(proxy)
    proxy.set_mode("pass")  # listens again on the same port
    with _client(proxy) as sock:
        sock.sendall(b"back")
        assert sock.recv(16) == b"back"


def test_cut_after_a_pattern_delivers_it_and_drops_the_answer(proxy: TcpProxy) -> None:
    proxy.cut_after(b"COMMIT")
    with _client(proxy) as sock:
        sock.sendall(b"COMMIT")
        assert sock.recv(16) == b""  # the echo never reaches the client
    assert proxy.cuts == 1
    with _client(proxy) as sock:  # once only
        sock.sendall(b"COMMIT")
        assert sock.recv(16) == b"COMMIT"
