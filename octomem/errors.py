"""The project's error types. Every error a user sees derives from OctomemError."""

from __future__ import annotations


class OctomemError(Exception):
    """Root of every error octomem raises on purpose."""


class ConfigurationError(OctomemError):
    """A configuration file, key or value is wrong, or a dependency is missing."""


class StoreError(OctomemError):
    """A storage backend failed (connection, query, corrupt data)."""


class StoreUnavailableError(StoreError):
    """A store server could not be reached, or failed in a way that may pass (a dropped
    connection, a restart, a leader switch), and kept failing past the store's own retries.
    Nothing was left half-written: retry the call later."""


class LLMError(OctomemError):
    """The language model could not be reached or returned unusable output."""


class NotFoundError(OctomemError):
    """A memory id (or other named object) does not exist."""


class ConflictError(OctomemError):
    """The call ran into another that changed the same memories in a way it cannot build on
    (its user was forgotten while it ran); nothing of the call was stored. Send it again if
    it should still be stored."""


class InvalidInputError(OctomemError, ValueError):
    """Input given by the caller is invalid; nothing was stored."""


class ScopeRequiredError(InvalidInputError):
    """A call that reads or writes memories was given neither a user_id nor an agent_id."""


class ImportRejectedError(InvalidInputError):
    """An import found lines it could not store; `rejected` lists them (line, kind, id,
    reason). Nothing was imported."""

    def __init__(self, message: str, rejected: list[object]) -> None:
        super().__init__(message)
        self.rejected = rejected
