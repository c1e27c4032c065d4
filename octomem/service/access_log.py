"""uvicorn's access log with secrets masked: a client that puts a secret in a URL (an API
key given as a memory id, a card number in a query string) must not have it printed where
logs are kept. Each path segment is decoded and masked on its own, and each query value
with its name (``password=...``: the name is the cue), so a mask never swallows the rest
of the path (`octomem.sensitive.mask_text`)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, quote, unquote, urlencode

from octomem.sensitive import mask_text

LOGGER = "uvicorn.access"
_PATH_ARG = 2  # uvicorn's args: client, method, path with query, HTTP version, status


def masked_path(path: str) -> str:
    """`path` (with its query string) as it may be logged: unchanged unless a segment or
    a query value holds a secret."""
    route, _, query = path.partition("?")
    segments = [_masked_segment(s) for s in route.split("/")]
    masked = "/".join(segments)
    if not query:
        return masked
    pairs = parse_qsl(query, keep_blank_values=True)
    masked_pairs = [_masked_pair(name, value) for name, value in pairs]
    if masked_pairs != pairs:
        query = urlencode(masked_pairs)
    return f"{masked}?{query}"


def _masked_pair(name: str, value: str) -> tuple[str, str]:
    joined = f"{name}={value}"
    masked = mask_text(joined)
    if masked == joined:
        return name, value
    head, equals, tail = masked.partition("=")
    if equals and head == name:
        return name, tail
    return mask_text(name), mask_text(value)  # the name itself held (part of) a secret


def _masked_segment(segment: str) -> str:
    text = unquote(segment)
    masked = mask_text(text)
    return segment if masked == text else quote(masked, safe="[]")


class MaskSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > _PATH_ARG:
            path = args[_PATH_ARG]
            if isinstance(path, str):
                record.args = (*args[:_PATH_ARG], masked_path(path), *args[_PATH_ARG + 1 :])
        return True


def install() -> None:
    """Mask uvicorn's access log lines in this process (once; uvicorn configures the
    logger before the app starts, and keeps a filter added to it)."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(f, MaskSecrets) for f in logger.filters):
        logger.addFilter(MaskSecrets())
