"""Fetch a remote http(s) URL for a content part, only where the configuration allows it.

Every address the host resolves to is checked before any connection: loopback,
link-local, private, reserved, multicast and unspecified addresses are refused (unless
`allow_private`), and the connection goes to the address that was checked (no second
lookup that DNS rebinding could answer differently). Redirects are followed up to
`max_redirects`, each checked the same way; the whole fetch has one deadline and a byte cap.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from octomem.errors import InvalidInputError
from octomem.sensitive import mask_text
from octomem.settings import FetchConfig

_CHUNK = 65_536


def fetch(url: str, config: FetchConfig, max_bytes: int) -> bytes:
    """The body of `url`; InvalidInputError for anything refused or failed."""
    if not config.enabled:
        raise InvalidInputError(
            f"remote URL {_short(url)} is not fetched: fetching is off. Pass the bytes as a "
            f"data: URL, or enable it with media.fetch.enabled (OCTOMEM_MEDIA__FETCH__ENABLED)"
        )
    deadline = time.monotonic() + config.timeout_s
    for _ in range(config.max_redirects + 1):
        status, location, body = _get(url, config, max_bytes, deadline)
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        if status != 200:
            raise InvalidInputError(f"fetching {_short(url)} failed: HTTP status {status}")
        return body
    raise InvalidInputError(
        f"fetching {_short(url)} took more than {config.max_redirects} redirects"
    )


def checked_address(host: str, port: int, config: FetchConfig) -> str:
    """The first address of `host`, after checking that every address it has may be reached."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInputError(f"cannot resolve host {host!r}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise InvalidInputError(f"host {host!r} has no address")
    for address in addresses:
        if not config.allow_private and not _public(address):
            raise InvalidInputError(
                f"host {host!r} resolves to {address}, a loopback, link-local, private or "
                f"reserved address: refused (media.fetch.allow_private)"
            )
    return addresses[0]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None and not _public(str(mapped)):
            return False
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def _get(
    url: str, config: FetchConfig, max_bytes: int, deadline: float
) -> tuple[int, str | None, bytes]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in config.schemes:
        raise InvalidInputError(
            f"URL scheme {scheme or '(none)'!r} of {_short(url)} is not fetched; allowed: "
            f"{', '.join(config.schemes)} (media.fetch.schemes)"
        )
    try:
        host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidInputError(f"URL {_short(url)} is malformed: {exc}") from None
    if not host:
        raise InvalidInputError(f"URL {_short(url)} names no host")
    address = checked_address(host, port, config)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise InvalidInputError(f"fetching {_short(url)} timed out ({config.timeout_s} s)")
    conn = _connection(scheme, host, address, port, remaining)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", target, headers={"Host": parts.netloc.rsplit("@", 1)[-1]})
        response = conn.getresponse()
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise InvalidInputError(_too_big(url, max_bytes))
        body = bytearray()
        while chunk := response.read(_CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise InvalidInputError(_too_big(url, max_bytes))
            if time.monotonic() > deadline:
                raise InvalidInputError(f"fetching {_short(url)} timed out ({config.timeout_s} s)")
        return response.status, response.getheader("Location"), bytes(body)
    except (OSError, http.client.HTTPException) as exc:
        raise InvalidInputError(f"fetching {_short(url)} failed: {exc}") from None
    finally:
        conn.close()


def _connection(
    scheme: str, host: str, address: str, port: int, timeout: float
) -> http.client.HTTPConnection:
    """A connection to the checked `address` that still speaks to `host` (Host, SNI, cert)."""
    if scheme == "http":
        return http.client.HTTPConnection(address, port, timeout=timeout)
    context = ssl.create_default_context()

    class _Pinned(http.client.HTTPSConnection):
        def connect(self) -> None:
            sock = socket.create_connection((address, port), timeout)
            self.sock = context.wrap_socket(sock, server_hostname=host)

    return _Pinned(host, port, timeout=timeout, context=context)


def _too_big(url: str, max_bytes: int) -> str:
    return f"{_short(url)} is larger than media.max_bytes ({max_bytes:,} bytes)"


def _short(url: str) -> str:
    """`url` for an error message, masked (`user:password@`, `?token=`, a key in its path):
    an error reaches logs, traces and HTTP responses, which the URL's secret may not."""
    url = mask_text(url)
    return repr(url if len(url) <= 120 else url[:117] + "...")
