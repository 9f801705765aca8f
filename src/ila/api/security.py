"""Authentication and scopes of API requests: the ``Authorization: Bearer`` dependency.

Order of the checks, the same on every route: a valid token (else 401), the route's scope in
the token (else 403), the rate limit of the client (else 429); then, inside the route, whether
the caller may act for the employer in the path (else 404, see ``access.service.acting_for``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope as Scope_

from ila.access.domain import SCOPE_DESCRIPTIONS, Caller, Scope, require_scope
from ila.access.tokens import CALLER_OF_TOKEN, authenticate, bearer_digest, caller_of
from ila.api.ratelimit import TokenBucketLimiter
from ila.audit.aio import GroupAppender
from ila.bootstrap import Container
from ila.db.aio import AsyncDatabase, Compiled, compile_pg
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


def aio_of(request: Request) -> AsyncDatabase:
    return cast(AsyncDatabase, request.app.state.aio)


def aio_of_scope(scope: Scope_) -> AsyncDatabase:
    return cast(AsyncDatabase, scope["app"].state.aio)


def audit_appender_of(request: Request) -> GroupAppender:
    return cast(GroupAppender, request.app.state.audit_appender)


@cache
def _token_statement() -> Compiled:
    return compile_pg(CALLER_OF_TOKEN)


@dataclass(frozen=True)
class BearerToken:
    """A request's bearer token, not checked yet (see :func:`bearer_token`)."""

    authorization: str
    digest: str
    scopes: tuple[Scope, ...]  # what the route needs


def refused(request: Request) -> None:
    """Count a request with a wrong token: slows down token guessing."""
    limiter_of(request).hit(f"ip:{client_address(request)}")


async def bearer_token(
    security_scopes: SecurityScopes,
    request: Request,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> BearerToken:
    """The bearer token of a route that checks it in its own statement (ADR 0021): 401 at
    once without one; the route then calls :func:`admit` with the caller it found."""
    try:
        digest = bearer_digest(authorization)
    except Unauthenticated:
        refused(request)
        raise
    scopes = tuple(Scope(scope) for scope in security_scopes.scopes)
    return BearerToken(str(authorization), digest, scopes)


def admit(request: Request, token: BearerToken, caller: Caller) -> None:
    """After the token check: the client's rate limit (429), the route's scopes (403)."""
    limiter_of(request).hit(f"client:{caller.client_id}")
    for scope in token.scopes:
        require_scope(caller, scope)


async def _authenticate_async(aio: AsyncDatabase, digest: str) -> Caller:
    """The token check on the event loop: one statement (autocommit)."""
    statement = _token_statement()
    async with aio.reading() as connection:
        cursor = await connection.execute(statement.sql, statement.parameters({"digest": digest}))
        row = await cursor.fetchone()
    return caller_of(row, now=utcnow())


def _authenticate_sync(request: Request, authorization: str | None) -> Caller:
    with _token_connection(container_of(request).engine) as connection:
        return authenticate(connection, authorization, now=utcnow())


async def authenticated(request: Request, token: BearerToken) -> Caller:
    """The token check alone, then :func:`admit`."""
    aio = aio_of(request)
    try:
        if aio.available:
            caller = await _authenticate_async(aio, token.digest)
        else:
            caller = await run_in_threadpool(_authenticate_sync, request, token.authorization)
    except Unauthenticated:
        refused(request)
        raise
    admit(request, token, caller)
    return caller


async def current_caller(
    security_scopes: SecurityScopes,
    request: Request,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Caller:
    """The caller of a route: a valid token (else 401), its rate limit (else 429), the
    route's scopes (else 403)."""
    return await authenticated(request, await bearer_token(security_scopes, request, authorization))
