"""OAuth2 client credentials (RFC 6749 section 4.4): a key's id and the key itself exchange
at ``POST /oauth/token`` for a short-lived signed JWT (`auth.issue_token`). Off unless
``service.jwt_secret`` is set. The client authenticates with HTTP Basic (each part
form-encoded first, section 2.3.1) or with form fields - one way per request.

Errors speak OAuth2 (section 5.2), not problem+json, because OAuth2 client libraries read
them; what the envelope answers before the route (413) and the rate limit (429) stay
problem+json. docs/service.md lists each error.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from octomem.errors import InvalidInputError
from octomem.service import context
from octomem.service.auth import Forbidden, Principal, issue_token
from octomem.service.deps import state_of
from octomem.service.keys import SCOPES, check_scopes
from octomem.service.problems import COMMON_RESPONSES, Problem, for_error

router = APIRouter(tags=["oauth"])
_MAX_FIELD = 512
_FIELDS = ("grant_type", "client_id", "client_secret", "scope")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenResponse(BaseModel):
    """RFC 6749 section 5.1."""

    access_token: str
    token_type: str = Field(description="always Bearer")
    expires_in: int = Field(description="seconds the token is valid")
    scope: str = Field(description="the scopes granted, space-separated")


class TokenError(BaseModel):
    """RFC 6749 section 5.2, plus the request id."""

    error: str = Field(
        description="invalid_request, invalid_client, unsupported_grant_type or invalid_scope"
    )
    error_description: str
    request_id: str | None = None


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> JSONResponse:
        body = TokenError(
            error=self.error, error_description=self.description, request_id=context.request_id()
        )
        headers = dict(_NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="octomem"'
        return JSONResponse(body.model_dump(), self.status, headers=headers)


def _invalid(description: str) -> _Refused:
    return _Refused(400, "invalid_request", description)


def _bad_client(description: str) -> _Refused:
    return _Refused(401, "invalid_client", description)


def _basic(header: str | None) -> tuple[str, str] | None:
    """HTTP Basic client credentials, or None if the header is not Basic."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        pair = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _bad_client("the Basic credentials are not base64 of client_id:secret") from None
    client_id, sep, secret = pair.partition(":")
    if not sep:
        raise _bad_client("the Basic credentials lack the ':secret' part")
    return unquote_plus(client_id), unquote_plus(secret)


async def _fields(request: Request) -> dict[str, str]:
    """The form's parameters; each at most once (section 3.2)."""
    try:
        form = await request.form()
    except Exception:  # a body Starlette cannot parse as a form
        raise _invalid("the body must be application/x-www-form-urlencoded") from None
    fields: dict[str, str] = {}
    for name in _FIELDS:
        values = form.getlist(name)
        if len(values) > 1:
            raise _invalid(f"{name} is given more than once")
        if values:
            value = values[0]
            if not isinstance(value, str) or len(value) > _MAX_FIELD:
                raise _invalid(f"{name} must be text of at most {_MAX_FIELD} characters")
            fields[name] = value
    return fields


@router.post(
    "/oauth/token",
    summary="Exchange client credentials for an access token",
    response_model=TokenResponse,
    responses={
        400: {"description": "malformed request, grant or scope", "model": TokenError},
        401: {"description": "unknown, revoked or expired client", "model": TokenError},
        413: COMMON_RESPONSES[413],
        429: COMMON_RESPONSES[429],
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string", "description": "the key's id"},
                            "client_secret": {"type": "string", "description": "the key"},
                            "scope": {
                                "type": "string",
                                "description": "space-separated, some of the key's scopes "
                                "(default: all of them)",
                            },
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request) -> Any:
    try:
        return await _token(request)
    except _Refused as refused:
        return refused.response()


async def _token(request: Request) -> JSONResponse:
    state = state_of(request)
    fields = await _fields(request)
    grant = fields.get("grant_type")
    if not grant:
        raise _invalid("grant_type is required: client_credentials")
    if grant != "client_credentials":
        raise _Refused(400, "unsupported_grant_type", "the only grant is client_credentials")
    if state.config.jwt_secret is None:
        raise _Refused(
            400,
            "unsupported_grant_type",
            "OAuth2 is off on this service (no service.jwt_secret): use the API key itself "
            "as 'Authorization: Token <key>'",
        )
    client_id, client_secret = fields.get("client_id"), fields.get("client_secret")
    basic = _basic(request.headers.get("authorization"))
    if basic is not None:
        if client_secret is not None:
            raise _invalid("authenticate one way: HTTP Basic or client_secret, not both")
        if client_id is not None and client_id != basic[0]:
            raise _invalid("client_id differs from the one in the Basic credentials")
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise _bad_client("send client_id and client_secret (HTTP Basic or form fields)")
    scopes = None
    if "scope" in fields:
        try:
            scopes = check_scopes(fields["scope"].split())
        except InvalidInputError:
            some = f"scope must be some of {' '.join(SCOPES)} (space-separated)"
            raise _Refused(400, "invalid_scope", some) from None
    key = await state.keys.verify_secret(client_id, client_secret)
    if key is None:
        raise _bad_client("unknown, revoked or expired client")
    principal = Principal.of(key)
    info = context.current()
    if info is not None:
        info.admit(principal)  # the audit line's key and project
    try:
        state.charge(principal)
    except Problem as limited:
        return for_error(limited)
    try:
        body = issue_token(key, state.config, scopes)
    except Forbidden as exc:
        raise _Refused(400, "invalid_scope", str(exc)) from None
    return JSONResponse(TokenResponse.model_validate(body).model_dump(), headers=_NO_STORE)
