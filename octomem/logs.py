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
from typing import Any

from octomem.sensitive import mask_value

logging.getLogger("octomem").addHandler(logging.NullHandler())
# pypdf warns about malformed files ("EOF marker not found"): not to stderr by default
logging.getLogger("pypdf").addHandler(logging.NullHandler())

_ERROR_KEYS = ("error", "errors", "reason", "detail")


class Logger:
    """Keyword-context events on the stdlib logger `name`. An error's text in the context
    (`error`, `reason`, ...) is masked (`octomem.sensitive`): it may quote what a caller,
    a model or a store gave it, and logs are written to disk."""

    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def debug(self, event: str, **context: Any) -> None:
        self._log(logging.DEBUG, event, context)

    def info(self, event: str, **context: Any) -> None:
        self._log(logging.INFO, event, context)

    def warning(self, event: str, **context: Any) -> None:
        self._log(logging.WARNING, event, context)

    def error(self, event: str, **context: Any) -> None:
        self._log(logging.ERROR, event, context)

    def _log(self, level: int, event: str, context: dict[str, Any]) -> None:
        if not self._logger.isEnabledFor(level):
            return
        for key in _ERROR_KEYS:
            if context.get(key) is not None:
                value = context[key]  # an exception: its text
                context[key] = mask_value(
                    value if isinstance(value, str | list | dict) else str(value)
                )
        line = " ".join([event, *(f"{key}={value!r}" for key, value in context.items())])
        self._logger.log(level, line, stacklevel=3)  # the caller's file and line


def get_logger(name: str) -> Logger:
    """The keyword-context logger over the stdlib logger `name`."""
    return Logger(name)
