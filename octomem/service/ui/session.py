"""The inspector's sign-in session: an API key exchanged for a signed cookie.

The cookie (``om_ui``, HttpOnly, SameSite=Strict, path /ui) holds the key's id, an expiry
and a random nonce, signed with HMAC-SHA256; never the key. Every request checks the
signature and the expiry, then reads the key's row again (`Keys.get`): a key revoked or
expired ends its sessions at once, and the session has exactly the key's project, scopes
and pinned user. Signing out records the session's nonce as ended in the key store
(`Keys.end_session`, shared by every host of a deployment), so a copy of the cookie is
refused from then on, on every host, while the key's other sessions go on. The CSRF
token of a form is an HMAC of the session's nonce, so it is known to the page and the
server only; the sign-in form's token is one of a nonce kept in a cookie of its own
(``om_ui_login``) for the sign-in only.

The signing secret: derived from ``service.jwt_secret`` when it is set (every host of a
deployment shares it), else a random one kept in ``data_dir/service/ui-session.key``
(mode 0600, made at the first start).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

from octomem.service.auth import Principal
from octomem.service.keys import Keys
from octomem.settings import Settings

COOKIE = "om_ui"
LOGIN_COOKIE = "om_ui_login"
PATH = "/ui"
TTL_S = 8 * 3600  # a session ends 8 hours after sign-in (sooner if its key does)
LOGIN_TTL_S = 3600


@dataclass(frozen=True)
class Session:
    key_id: str
    expires: int
    nonce: str


class Sessions:
    """Signs and checks the inspector's cookies and CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def for_settings(cls, settings: Settings) -> Sessions:
        jwt_secret = settings.service.jwt_secret
        if jwt_secret is not None:
            base = jwt_secret.get_secret_value().encode()
            return cls(hmac.new(base, b"octomem-ui-session", hashlib.sha256).digest())
        return cls(_file_secret(settings.data_dir / "service" / "ui-session.key"))

    def _sign(self, purpose: str, text: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}:{text}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    # --- the session cookie ------------------------------------------------------------

    def issue(self, key_id: str, key_expires: float | None, now: float | None = None) -> str:
        """A session cookie value for the key `key_id`, ending in `TTL_S` or with the key."""
        now = time.time() if now is None else now
        expires = int(now + TTL_S)
        if key_expires is not None:
            expires = min(expires, int(key_expires))
        body = f"{key_id}.{expires}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign('session', body)}"

    def read(self, value: str | None, now: float | None = None) -> Session | None:
        """The session of a cookie value, or None if it is forged, malformed or expired."""
        if not value or value.count(".") != 3:
            return None
        body, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac, self._sign("session", body)):
            return None
        key_id, expires, nonce = body.split(".")
        if not expires.isdigit() or int(expires) <= (time.time() if now is None else now):
            return None
        return Session(key_id, int(expires), nonce)

    async def principal(self, cookie_header: str | None, keys: Keys) -> Principal | None:
        """Who the request's session cookie signs in, as the API would admit its key; None
        without a valid session, once it was signed out, or once the key is revoked or
        expired."""
        session = self.read(cookie_value(cookie_header, COOKIE))
        if session is None:
            return None
        key = await keys.get(session.key_id)
        if key is None or not key.usable() or await keys.session_ended(session.nonce):
            return None
        return Principal.of(key)

    async def end(self, cookie_header: str | None, keys: Keys) -> None:
        """Sign the request's session out on every host: its nonce is recorded as ended
        until the session's expiry (nothing to do without a valid session)."""
        session = self.read(cookie_value(cookie_header, COOKIE))
        if session is not None:
            await keys.end_session(session.nonce, session.expires)

    def csrf(self, cookie_header: str | None) -> str | None:
        """The CSRF token of the request's session (None: no session)."""
        session = self.read(cookie_value(cookie_header, COOKIE))
        return None if session is None else self._sign("csrf", session.nonce)

    def csrf_ok(self, cookie_header: str | None, token: str | None) -> bool:
        expected = self.csrf(cookie_header)
        return bool(token) and expected is not None and hmac.compare_digest(expected, str(token))

    # --- the sign-in form --------------------------------------------------------------

    def login_nonce(self) -> str:
        return secrets.token_urlsafe(16)

    def login_csrf(self, nonce: str) -> str:
        return self._sign("login", nonce)

    def login_csrf_ok(self, cookie_header: str | None, token: str | None) -> bool:
        nonce = cookie_value(cookie_header, LOGIN_COOKIE)
        if not nonce or not token:
            return False
        return hmac.compare_digest(self._sign("login", nonce), str(token))


def cookie_value(header: str | None, name: str) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is no session
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _file_secret(path: Path) -> bytes:
    """The secret in `path`, made (32 random bytes, mode 0600) if it is not there yet; two
    processes starting at once agree on the first one written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process is writing it
            data = path.read_bytes()
            if len(data) == 32:
                return data
            time.sleep(0.02)
        raise
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    return path.read_bytes()
