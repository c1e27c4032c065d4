"""Library logging: through the standard `logging` module, silent unless the application
configures it.

Modules log events with keyword context, `log.info("processed", user_id=..., turns=3)`,
through `get_logger(__name__)`: one line, "processed user_id='u' turns=3", on the stdlib
logger of that name, formatted only if the application enabled the level. The "octomem"
and "pypdf" loggers have a `NullHandler`, so nothing is printed - not even warnings -
until the application configures logging (the CLI does).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

from octomem.sensitive import mask_value

logging.getLogger("octomem").addHandler(logging.NullHandler())
# pypdf warns about malformed files ("EOF marker not found"): not to stderr by default
logging.getLogger("pypdf").addHandler(logging.NullHandler())


def _one_line(logger: Any, method: str, event: MutableMapping[str, Any]) -> str:
    """The event's name followed by its context as key=value pairs."""
    name = event.pop("event", "")
    context = " ".join(f"{key}={value!r}" for key, value in event.items())
    return f"{name} {context}" if context else str(name)


_ERROR_KEYS = ("error", "errors", "reason", "detail")


def _masked_errors(logger: Any, method: str, event: MutableMapping[str, Any]) -> Any:
    """An error's text in the event masked (`octomem.sensitive`): it may quote what a
    caller, a model or a store gave it, and logs are written to disk."""
    for key in _ERROR_KEYS:
        if event.get(key) is not None:
            value = event[key]  # an exception: its text
            event[key] = mask_value(value if isinstance(value, str | list | dict) else str(value))
    return event


def get_logger(name: str) -> Any:
    """A structlog logger over the stdlib logger `name`: keyword context, stdlib output.
    Its own processors, so an application's structlog configuration does not change it."""
    return structlog.wrap_logger(
        logging.getLogger(name),
        processors=[structlog.stdlib.filter_by_level, _masked_errors, _one_line],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
