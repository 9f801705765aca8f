"""Authentication and scopes of API requests: the ``Authorization: Bearer`` dependency.

Order of the checks, the same on every route: a valid token (else 401), the route's scope in
the token (else 403), the rate limit of the client (else 429); then, inside the route, whether
the caller may act for the employer in the path (else 404, see ``access.service.acting_for``)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from sqlalchemy import Connection, Engine

from ila.access.domain import SCOPE_DESCRIPTIONS, Caller, Scope, require_scope
from ila.access.tokens import authenticate
from ila.api.ratelimit import TokenBucketLimiter
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import Unauthenticated

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="oauth/token", scopes=dict(SCOPE_DESCRIPTIONS)
        )
    ),
    scheme_name="clientCredentials",
    description="OAuth2 client credentials; the client authenticates with a signed JWT "
    "(private_key_jwt, RFC 7523), never a secret. Send the access token as "
    "`Authorization: Bearer <token>`.",
    auto_error=False,
)


def container_of(request: Request) -> Container:
    return cast(Container, request.app.state.container)


def limiter_of(request: Request) -> TokenBucketLimiter:
    return cast(TokenBucketLimiter, request.app.state.limiter)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _token_connection(engine: Engine) -> Connection:
    """A connection for the token check. On PostgreSQL one statement outside any transaction
    (autocommit: no BEGIN and ROLLBACK, one round trip); the connection goes back to the pool
    before the route takes one for its transaction. (SQLite keeps its default: its driver's
    autocommit switch would undo the transaction handling of ``ila.db.uow``.)"""
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def current_caller(
    security_scopes: SecurityScopes,
    request: Request,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Caller:
    limiter = limiter_of(request)
    try:
        with _token_connection(container_of(request).engine) as connection:
            caller = authenticate(connection, authorization, now=utcnow())
    except Unauthenticated:
        limiter.hit(f"ip:{client_address(request)}")  # slows down token guessing
        raise
    limiter.hit(f"client:{caller.client_id}")
    for scope in security_scopes.scopes:
        require_scope(caller, Scope(scope))
    return caller
