"""Who is calling: an API key (``Authorization: Token <key>`` as mem0's client sends it, or
``Bearer <key>``) or an OAuth2 access token (``Bearer <jwt>`` from ``POST /oauth/token``).

Either way the caller becomes a `Principal`: its key id, project, scopes and the user it
is pinned to. A token is checked against its key on every request too, so revoking a key
also ends the tokens issued for it. Keys are never read from a query string.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from octomem.service.keys import PREFIX, ApiKey, Keys
from octomem.settings import ServiceConfig

ISSUER = "octomem"
AUDIENCE = "octomem-api"
ALGORITHM = "HS256"
LEEWAY_S = 30  # clock skew tolerated between the hosts that issue and check tokens
ADMITTED = "octomem.principal"  # where the envelope leaves the caller in the ASGI scope


class Unauthorized(Exception):
    """401: no credentials, or ones that are unknown, revoked or expired."""


class Forbidden(Exception):
    """403: valid credentials without the scope or the user the request needs."""


@dataclass(frozen=True)
class Principal:
    key_id: str
    project: str
    scopes: tuple[str, ...]
    user_id: str | None
    rate_limit: int | None

    @classmethod
    def of(cls, key: ApiKey) -> Principal:
        return cls(key.id, key.project, key.scopes, key.user_id, key.rate_limit)

    def require(self, scope: str) -> None:
        if not grants(self.scopes, scope):
            raise Forbidden(f"this key lacks the {scope!r} scope")


def admitted(scope: Mapping[str, Any]) -> Principal | None:
    """The caller the envelope admitted for the request of `scope` (None: public path)."""
    principal = scope.get(ADMITTED)
    return principal if isinstance(principal, Principal) else None


def credentials(header: str | None) -> str:
    """The key or token of an Authorization header."""
    if not header:
        raise Unauthorized("missing Authorization header: send 'Authorization: Token <key>'")
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value.strip():
        raise Unauthorized("the Authorization header must be 'Token <key>' or 'Bearer <key>'")
    return value.strip()


async def authenticate(header: str | None, keys: Keys, config: ServiceConfig) -> Principal:
    secret = credentials(header)
    if secret.startswith(PREFIX):
        key = await keys.verify(secret)
        if key is None:
            raise Unauthorized("unknown, revoked or expired API key")
        return Principal.of(key)
    claims = decode_token(secret, config)
    key = await keys.get(str(claims.get("sub", "")))
    if key is None or not key.usable():
        raise Unauthorized("the key this token was issued for is revoked or expired")
    # the key as it is now: its project and user, and the token's scopes only as far as
    # the key still grants them - a token never has more than its key
    scopes = tuple(s for s in str(claims.get("scope", "")).split() if grants(key.scopes, s))
    return Principal(key.id, key.project, scopes, key.user_id, key.rate_limit)


def grants(scopes: tuple[str, ...], scope: str) -> bool:
    """Whether a key with `scopes` holds `scope` (admin holds every scope)."""
    return scope in scopes or "admin" in scopes


def issue_token(
    key: ApiKey, config: ServiceConfig, scopes: tuple[str, ...] | None = None
) -> dict[str, object]:
    """An OAuth2 token response for `key` (RFC 6749 section 5.1) with `scopes` (default:
    the key's). Forbidden if the key does not hold one of them: a token may narrow its
    key's scopes, never widen them."""
    if config.jwt_secret is None:
        raise Forbidden("OAuth2 is off: set service.jwt_secret to issue tokens")
    granted = key.scopes if scopes is None else scopes
    refused = [s for s in granted if not grants(key.scopes, s)]
    if refused or not granted:
        raise Forbidden(
            f"this key does not hold the scope {' '.join(refused) or '(none)'}; it holds "
            f"{' '.join(key.scopes)}"
        )
    now = int(time.time())
    expires = now + config.token_ttl_s
    if key.expires_at is not None:
        expires = min(expires, int(key.expires_at))
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": key.id,
        "project": key.project,
        "scope": " ".join(granted),
        "iat": now,
        "exp": expires,
        "jti": uuid.uuid4().hex,
    }
    if key.user_id is not None:
        claims["user_id"] = key.user_id
    token = jwt.encode(claims, config.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires - now,
        "scope": " ".join(granted),
    }


def decode_token(token: str, config: ServiceConfig) -> dict[str, object]:
    """The claims of a token signed with the current or a previous secret: HS256 only (the
    algorithm is pinned, never read from the token), our issuer and audience, and an
    expiry, all required; clocks may differ by `LEEWAY_S`."""
    if config.jwt_secret is None:
        raise Unauthorized("unknown API key or access token")
    for secret in (config.jwt_secret, *config.jwt_previous_secrets):
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                secret.get_secret_value(),
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
            return claims
        except jwt.InvalidSignatureError:
            continue  # signed with another secret: try the next (the signature is checked
            # before any claim, so an expired token of an unknown secret lands here too)
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the access token has expired: get a new one") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("the access token is not valid") from exc
    raise Unauthorized("unknown API key or access token")
