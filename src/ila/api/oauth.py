"""The token endpoint (OAuth2 client credentials, ``private_key_jwt`` client assertions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import JSONResponse, Response

from ila.access.tokens import JWT_BEARER, issue_token
from ila.api.problems import problem_responses
from ila.api.schemas import OAuthErrorBody, TokenResponse
from ila.api.security import client_address, container_of, limiter_of
from ila.errors import OAuthError

router = APIRouter(tags=["authentication"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    summary="Get an access token",
    responses={
        400: {
            "model": OAuthErrorBody,
            "description": "invalid_request, invalid_scope, unsupported_grant_type (RFC 6749 §5.2)",
        },
        401: {
            "model": OAuthErrorBody,
            "description": "invalid_client: the client assertion was refused (RFC 6749 §5.2)",
        },
        **problem_responses(413, 422, 429),
    },
)
def token(
    request: Request,
    grant_type: Annotated[str | None, Form(examples=["client_credentials"])] = None,
    client_assertion_type: Annotated[str | None, Form(examples=[JWT_BEARER])] = None,
    client_assertion: Annotated[
        str | None, Form(description="A JWT signed with the client's registered key.")
    ] = None,
    scope: Annotated[
        str | None, Form(description="Space-separated scopes; none: all the client's scopes.")
    ] = None,
) -> Response:
    """Client credentials grant. The client authenticates with a JWT it signs with its
    registered private key (RFC 7523): ``iss`` = ``sub`` = its client_id, ``aud`` = this
    endpoint's URL, ``exp`` at most 5 minutes ahead, a ``jti`` never used before; algorithms
    RS256, PS256, ES256, EdDSA (Ed25519)."""
    limiter_of(request).hit(f"ip:{client_address(request)}")
    container = container_of(request)
    try:
        issued = issue_token(
            container.uow(),
            container.settings,
            grant_type=grant_type,
            client_assertion_type=client_assertion_type,
            client_assertion=client_assertion,
            scope=scope,
        )
    except OAuthError as exc:
        body = OAuthErrorBody.model_validate({"error": exc.code, "error_description": exc.message})
        return JSONResponse(
            body.model_dump(),
            status_code=401 if exc.code == "invalid_client" else 400,
            headers=NO_STORE,
        )
    answer = TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope
    )
    return JSONResponse(answer.model_dump(), headers=NO_STORE)
