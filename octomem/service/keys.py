"""API keys of the HTTP service: created, listed and revoked by `octomem keys`, checked on
every request.

A key reads ``om_<id>_<secret>``: the id (16 hex characters) finds its row, the secret
(32 random bytes) proves it. Only the SHA-256 of the whole key is stored - a key has 256
bits of entropy, so a slow password hash would add nothing - and it is compared in
constant time. Every request reads its row again (nothing is cached), so a key created
or revoked by another process (the CLI while the server runs, another host) counts from
the next request on.

Where the rows live (`key_stores.open_keys`): in server mode on the graph server, one
node per key scoped by the deployment (`keys_neo4j`), so every host of a deployment knows
every key and revocation; else in ``data_dir/service/keys.sqlite`` (`KeyStore`).

The same store keeps the inspector's ended sessions (`Keys.end_session`): the SHA-256 of a
signed-out session's nonce, until the session would have expired anyway, so a sign-out on
one host ends the session on every host.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Protocol

from octomem.errors import InvalidInputError, NotFoundError
from octomem.sensitive import mask_text
from octomem.settings import valid_project
from octomem.stores.sqlite_base import SqliteStore

SCOPES = ("read", "write", "delete", "admin")
DEFAULT_SCOPES = ("read", "write", "delete")
PREFIX = "om_"
MAX_RATE_LIMIT = 10**9  # requests a minute: above any server's rate, below SQLite's integers
_KEY = re.compile(r"om_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_DUMMY = hashlib.sha256(b"octomem-no-such-key").hexdigest()


def keys_path(data_dir: Path) -> Path:
    return data_dir / "service" / "keys.sqlite"


@dataclass(frozen=True)
class ApiKey:
    """One key's row (never its secret)."""

    id: str
    project: str
    scopes: tuple[str, ...]
    user_id: str | None
    rate_limit: int | None
    name: str | None
    created_at: float
    expires_at: float | None
    revoked_at: float | None

    def usable(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def view(self) -> dict[str, object]:
        """The row for `octomem keys list`: times as ISO-8601, no secret."""

        def iso(t: float | None) -> str | None:
            return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()

        return {
            "id": self.id,
            "project": self.project,
            "scopes": list(self.scopes),
            "user_id": self.user_id,
            "rate_limit": self.rate_limit,
            "name": self.name,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "status": "revoked"
            if self.revoked_at is not None
            else ("expired" if not self.usable() else "active"),
        }


FIELDS = tuple(f.name for f in fields(ApiKey))


def stored(row: ApiKey) -> dict[str, object]:
    """`row` as both key stores keep it (scopes comma-joined), in `FIELDS` order."""
    return {**asdict(row), "scopes": ",".join(row.scopes)}


def from_stored(values: Sequence[object]) -> ApiKey:
    """The key whose stored fields are `values`, in `FIELDS` order."""
    kid, project, scopes, user_id, rate, name, created, expires, revoked = values
    return ApiKey(
        id=str(kid),
        project=str(project),
        scopes=tuple(str(scopes).split(",")),
        user_id=None if user_id is None else str(user_id),
        rate_limit=None if rate is None else int(str(rate)),
        name=None if name is None else str(name),
        created_at=float(str(created)),
        expires_at=None if expires is None else float(str(expires)),
        revoked_at=None if revoked is None else float(str(revoked)),
    )


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown or not chosen:
        raise InvalidInputError(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(chosen) or 'none'}"
        )
    return chosen


def check_project(project: str) -> str:
    if not isinstance(project, str) or not valid_project(project):
        raise InvalidInputError(
            "a project name is 1-40 lowercase letters, digits, '-' or '_', starting and "
            f"ending with a letter or digit; got {project!r}"
        )
    return project


def key_id_of(key: str) -> str:
    """The id a presented key names ("-", which no key has, if it is malformed)."""
    match = _KEY.fullmatch(key)
    return match.group(1) if match else "-"


def verified(key: str, stored: tuple[str, ApiKey] | None, now: float) -> ApiKey | None:
    """The key `key` is if usable at `now`, given the (digest, row) stored under its id,
    or None. The same work is done whatever is wrong, so timing tells nothing."""
    expected, found = stored if stored is not None else (_DUMMY, None)
    same = hmac.compare_digest(expected, digest(key))
    if not (_KEY.fullmatch(key) and same and found is not None and found.usable(now)):
        return None
    return found


def unknown(key_id: str) -> NotFoundError:
    return NotFoundError(f"no API key with id {key_id!r} (see: octomem keys list)")


class Keys(Protocol):
    """The API keys of a service: `KeyStore` (a data directory's SQLite file) or
    `keys_neo4j.Neo4jKeyStore` (the deployment's, on the graph server). Both subclass it
    for `create` (over their `_insert`) and `verify_secret` (over their `verify`); `clock`
    (seconds since 1970) is when a key is created, revoked, or checked for its expiry."""

    clock: Callable[[], float]

    async def init(self) -> None: ...
    async def close(self) -> None: ...
    async def _insert(self, row: ApiKey, key_digest: str) -> None: ...
    async def list(self, project: str | None = None) -> list[ApiKey]: ...
    async def revoke(self, key_id: str) -> ApiKey: ...
    async def _stored(self, op: str, key_id: str) -> tuple[str, ApiKey] | None:
        """The digest and row stored under `key_id` (`op` names the read in errors)."""

    async def end_session(self, nonce: str, until: float) -> None:
        """Record that the inspector session with `nonce` ended (signed out), kept until
        `until` (the session's own expiry, after which its cookie is refused anyway); rows
        whose `until` has passed by `clock` are dropped on the way. Only the nonce's
        SHA-256 is stored: the nonce itself feeds the session's CSRF token."""

    async def session_ended(self, nonce: str) -> bool:
        """Whether the inspector session with `nonce` was ended by `end_session`."""

    async def get(self, key_id: str) -> ApiKey | None:
        stored = await self._stored("get", key_id)
        return None if stored is None else stored[1]

    async def verify(self, key: str) -> ApiKey | None:
        """The usable key `key` names, or None (unknown, wrong secret, revoked, expired)."""
        return verified(key, await self._stored("verify", key_id_of(key)), self.clock())

    async def create(
        self,
        *,
        project: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        user_id: str | None = None,
        rate_limit: int | None = None,
        expires_at: datetime | None = None,
        name: str | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key: its row and the secret key, which is shown this once
        (InvalidInputError for bad options). Its `name`, a label written by hand, is
        stored masked, as memory text is: "my password is ..." keeps no password."""
        now = self.clock()
        name = None if name is None else mask_text(name)
        check_project(project)
        chosen = check_scopes(scopes)
        if user_id is not None and (not user_id.strip() or len(user_id) > 256):
            raise InvalidInputError("--user must be a non-empty id of at most 256 characters")
        if rate_limit is not None and not 1 <= rate_limit <= MAX_RATE_LIMIT:
            raise InvalidInputError(
                f"--rate-limit must be 1-{MAX_RATE_LIMIT:,} a minute; got {rate_limit}"
            )
        expires = None
        if expires_at is not None:
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            expires = expires_at.timestamp()
            if expires <= now:
                raise InvalidInputError("--expires must be in the future")
        key_id = secrets.token_hex(8)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        row = ApiKey(key_id, project, chosen, user_id, rate_limit, name, now, expires, None)
        await self._insert(row, digest(key))
        return row, key

    async def verify_secret(self, key_id: str, key: str) -> ApiKey | None:
        """OAuth2 client credentials: `key` must be the key whose id is `key_id`."""
        found = await self.verify(key)
        return found if found is not None and hmac.compare_digest(found.id, key_id) else None


class KeyStore(SqliteStore, Keys):
    """The API keys of one data directory, and its inspector sessions signed out."""

    LABEL: ClassVar[str] = "API key store"
    SCHEMA: ClassVar[str] = """
        CREATE TABLE IF NOT EXISTS api_keys (
            id TEXT PRIMARY KEY,
            digest TEXT NOT NULL,
            project TEXT NOT NULL,
            scopes TEXT NOT NULL,
            user_id TEXT,
            rate_limit INTEGER,
            name TEXT,
            created_at REAL NOT NULL,
            expires_at REAL,
            revoked_at REAL
        );
        CREATE TABLE IF NOT EXISTS ended_sessions (
            nonce TEXT PRIMARY KEY,
            until REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ended_sessions_until ON ended_sessions (until);
    """
    _COLUMNS = ", ".join(FIELDS)

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(keys_path(data_dir))
        self.clock = clock

    async def _insert(self, row: ApiKey, key_digest: str) -> None:
        sql = f"INSERT INTO api_keys (digest, {self._COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
        await self._execute("create", sql, [(key_digest, *stored(row).values())])

    async def list(self, project: str | None = None) -> list[ApiKey]:
        sql = f"SELECT {self._COLUMNS} FROM api_keys WHERE ? IS NULL OR project = ?"
        rows = await self._rows("list", sql + " ORDER BY created_at", project, project)
        return [from_stored(r) for r in rows]

    async def revoke(self, key_id: str) -> ApiKey:
        sql = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?"
        await self._execute("revoke", sql, [(self.clock(), key_id)])
        revoked = await self.get(key_id)
        if revoked is None:
            raise unknown(key_id)
        return revoked

    async def _stored(self, op: str, key_id: str) -> tuple[str, ApiKey] | None:
        sql = f"SELECT digest, {self._COLUMNS} FROM api_keys WHERE id = ?"
        rows = await self._rows(op, sql, key_id)
        return (str(rows[0][0]), from_stored(rows[0][1:])) if rows else None

    async def end_session(self, nonce: str, until: float) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ended_sessions WHERE until <= ?", (self.clock(),)).close()
            conn.execute(
                "INSERT OR REPLACE INTO ended_sessions (nonce, until) VALUES (?, ?)",
                (digest(nonce), until),
            ).close()

        await self._run("end_session", write)

    async def session_ended(self, nonce: str) -> bool:
        sql = "SELECT 1 FROM ended_sessions WHERE nonce = ?"
        return bool(await self._rows("session_ended", sql, digest(nonce)))
