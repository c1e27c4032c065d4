"""Remote URLs in content parts: off by default; when on, only allowed schemes, within a
byte cap, and never to a loopback, link-local or private address (every address a host
resolves to is checked before connecting)."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from octomem.errors import InvalidInputError
from octomem.media.fetch import checked_address, fetch
from octomem.settings import FetchConfig

ON = FetchConfig(enabled=True, schemes=["http", "https"], timeout_s=5)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://127.8.9.10:8080/x.png",
        "http://[::1]/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/x.png",
        "http://192.168.1.1/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://0.0.0.0/x.png",
        "http://localhost/x.png",  # a host name that resolves to loopback
    ],
)
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError, match="loopback, link-local, private"):
        fetch(url, ON, 1_000_000)


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host with one public and one private address is refused (the private one could be
    the one a later connection reaches)."""

    def two(host: str, port: int, *args: object, **kwargs: object) -> list[object]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", two)
    with pytest.raises(InvalidInputError, match="10.1.2.3"):
        checked_address("mixed.example", 443, ON)
    assert checked_address("mixed.example", 443, ON.model_copy(update={"allow_private": True}))


def test_off_by_default_and_schemes() -> None:
    with pytest.raises(InvalidInputError, match="fetching is off"):
        fetch("https://example.com/a.png", FetchConfig(), 1000)
    with pytest.raises(InvalidInputError, match="scheme 'http'"):
        fetch("http://example.com/a.png", FetchConfig(enabled=True), 1000)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/small.txt")
            self.end_headers()
            return
        body = b"hello from the server" if self.path == "/small.txt" else b"x" * 50_000
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        if self.path != "/unsized":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_when_allowed_with_cap_and_redirects(server: str) -> None:
    local = ON.model_copy(update={"allow_private": True})
    assert fetch(f"{server}/small.txt", local, 1000) == b"hello from the server"
    assert fetch(f"{server}/hop", local, 1000) == b"hello from the server"
    with pytest.raises(InvalidInputError, match="redirects"):
        fetch(f"{server}/hop", local.model_copy(update={"max_redirects": 0}), 1000)
    for path in ("/big", "/unsized"):  # declared too large; too large while reading
        with pytest.raises(InvalidInputError, match="media.max_bytes"):
            fetch(f"{server}{path}", local, 10_000)
    with pytest.raises(InvalidInputError, match="loopback"):  # the same server, not allowed
        fetch(f"{server}/small.txt", ON, 1000)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://admin:Quokka7731Zephyr@files.example.com/router.png", "Quokka7731Zephyr"),
        (
            "https://files.example.com/x.png?access_token=ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
            "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        ),
    ],
)
def test_an_error_naming_a_url_masks_its_credentials(url: str, secret: str) -> None:
    """The error reaches logs, traces and HTTP responses: the URL's secret may not."""
    for config in (FetchConfig(), FetchConfig(enabled=True, schemes=["http"])):
        with pytest.raises(InvalidInputError) as caught:
            fetch(url, config, 1_000_000)
        assert secret not in str(caught.value) and "[MASKED" in str(caught.value)
        assert "files.example.com" in str(caught.value)  # it still says which URL
