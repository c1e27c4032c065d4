"""OAuth2 client credentials (RFC 6749 section 4.4): a key's id and the key itself,
as form fields or HTTP Basic, exchange at ``POST /oauth/token`` for a short-lived signed
JWT with the key's project, scopes and user. Off unless ``service.jwt_secret`` is set."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from octomem.service.auth import Forbidden, Unauthorized, issue_token
from octomem.service.deps import state_of
from octomem.service.keys import check_scopes
from octomem.service.problems import COMMON_RESPONSES

router = APIRouter(tags=["oauth"])


class TokenError(BaseModel):
    error: str
    error_description: str


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        pair = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credentials are not valid base64 of id:secret") from None
    client_id, sep, secret = pair.partition(":")
    return (client_id, secret) if sep else None


@router.post(
    "/oauth/token",
    summary="Exchange client credentials for an access token",
    responses={
        400: {
            "description": "a grant type other than client_credentials (RFC 6749 5.2)",
            "content": {"application/json": {"schema": TokenError.model_json_schema()}},
        },
        **{status: COMMON_RESPONSES[status] for status in (401, 403, 413, 422)},
    },
)
async def token(
    request: Request,
    grant_type: Annotated[str, Form(max_length=64)],
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    scope: Annotated[str | None, Form(max_length=256)] = None,
) -> JSONResponse:
    state = state_of(request)
    if grant_type != "client_credentials":
        return JSONResponse(
            {"error": "unsupported_grant_type", "error_description": "use client_credentials"},
            400,
        )
    basic = _basic(request.headers.get("authorization"))
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise Unauthorized("send client_id and client_secret (form fields or HTTP Basic)")
    if state.config.jwt_secret is None:
        raise Forbidden("OAuth2 is off on this service: set service.jwt_secret")
    key = await state.keys.verify_secret(client_id, client_secret)
    if key is None:
        raise Unauthorized("unknown, revoked or expired client")
    scopes = check_scopes(scope.split()) if scope else None
    body = issue_token(key, state.config, scopes)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
