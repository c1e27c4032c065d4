"""The ``Octomem-Bookmark`` header: read-your-writes across the hosts of a deployment.

A response to a request that wrote to the graph server carries the bookmarks of those
writes (`octomem.stores.causal`), encoded opaquely (base64url of a JSON list). A client
that sends the header back with its next request, to any host, has that request's reads
start after those writes: on a Neo4j cluster, a member that is behind waits until it has
them. Without the header a request reads what its member has (on a single server: every
acknowledged write). A header that does not decode is refused (400); a well-formed one
the graph server does not know fails that request alone.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable

from octomem.service.problems import Problem

HEADER = "octomem-bookmark"
MAX_CHARS = 4096
_MAX_BOOKMARKS = 32


def encode(values: Iterable[str]) -> str:
    raw = json.dumps(sorted(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(header: str) -> tuple[str, ...]:
    if not header:
        return ()
    try:
        if len(header) > MAX_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        values = json.loads(raw)
        if (
            not isinstance(values, list)
            or len(values) > _MAX_BOOKMARKS
            or not all(isinstance(v, str) and v for v in values)
        ):
            raise ValueError("not a list of bookmarks")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Problem(
            400,
            "bad-bookmark",
            "Bad Octomem-Bookmark header",
            f"the Octomem-Bookmark header is not one this service gave ({exc}); send back "
            "the header of an earlier response unchanged, or none",
        ) from None
    return tuple(values)
