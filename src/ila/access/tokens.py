"""OAuth2 client credentials with ``private_key_jwt`` client assertions (RFC 6749, RFC 7521,
RFC 7523), and the bearer tokens the platform issues in return.

Assertions are verified by joserfc (signature, algorithm allow-list, registered claims); this
module only says which values are acceptable. Access tokens are opaque random strings stored as
their SHA-256 digest (see docs/adr/0005-api-authentication.md)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import import_key
from joserfc.jws import JWSRegistry, extract_compact
from sqlalchemy import CTE, ColumnElement, Connection, bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ila.access.domain import (
    ASSERTION_ALGORITHMS,
    Caller,
    parse_scopes,
    scopes_text,
    token_digest,
)
from ila.access.models import AccessToken, ApiClient, AssertionJti
from ila.config import Settings
from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import InvalidToken, OAuthError, Unauthenticated, UnknownCode

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 300  # seconds: an assertion's exp may be at most this far ahead
LEEWAY = 30  # seconds of clock skew tolerated on exp, nbf and iat
MAX_JTI_LENGTH = 200


class _AssertionRegistry(JWSRegistry):
    """The platform's algorithm allow-list decides alone. (joserfc's default registry would
    also warn on each use of the polymorphic ``EdDSA`` name, which RFC 9864 deprecates but
    which most client libraries still send.)"""

    def get_alg(self, name: str) -> JWSAlgModel:
        if name not in ASSERTION_ALGORITHMS:
            raise UnsupportedAlgorithmError(f"algorithm {name!r} is not accepted")
        return self.algorithms[name]


_REGISTRY = _AssertionRegistry()
_AUTH_FAILED = "client authentication failed"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def _invalid_client(message: str = _AUTH_FAILED) -> OAuthError:
    return OAuthError(message, code="invalid_client")


def _unverified_subject(assertion: str) -> str:
    try:
        payload = extract_compact(assertion.encode()).payload
        claims: Any = json.loads(payload or b"")
    except (JoseError, ValueError):
        raise _invalid_client("client_assertion is not a signed JWT") from None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(subject, str) or not subject:
        raise _invalid_client("client_assertion has no sub (the client_id)")
    return subject


def verify_assertion(
    client: ApiClient, assertion: str, *, audience: str, now: datetime
) -> dict[str, Any]:
    """The assertion's claims, once joserfc has verified the signature with the client's key
    and the claims are acceptable; :class:`OAuthError` ``invalid_client`` otherwise."""
    try:
        token = jwt.decode(assertion, import_key(client.public_jwk), registry=_REGISTRY)
    except JoseError:
        raise _invalid_client() from None
    claims = token.claims
    timestamp = int(now.timestamp())
    exact: jwt.ClaimsOption = {"essential": True, "value": client.client_id}
    registry = jwt.JWTClaimsRegistry(
        now=timestamp,
        leeway=LEEWAY,
        iss=exact,
        sub=exact,
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _invalid_client(f"client_assertion refused: {exc.description or exc.error}") from None
    if claims["exp"] > timestamp + MAX_ASSERTION_LIFETIME + LEEWAY:
        raise _invalid_client(f"client_assertion exp is more than {MAX_ASSERTION_LIFETIME} s ahead")
    if len(claims["jti"]) > MAX_JTI_LENGTH:
        raise _invalid_client(f"client_assertion jti longer than {MAX_JTI_LENGTH} characters")
    return claims


def _granted_scopes(client: ApiClient, requested: str | None) -> str:
    allowed = parse_scopes(client.scopes.split())
    if not requested or not requested.strip():
        return scopes_text(allowed)
    try:
        wanted = parse_scopes(requested.split())
    except UnknownCode as exc:
        raise OAuthError(exc.message, code="invalid_scope") from None
    refused = wanted - allowed
    if refused:
        raise OAuthError(
            f"scope not allowed for this client: {scopes_text(refused)}", code="invalid_scope"
        )
    return scopes_text(wanted)


def issue_token(
    uow: UnitOfWork,
    settings: Settings,
    *,
    grant_type: str | None,
    client_assertion_type: str | None,
    client_assertion: str | None,
    scope: str | None,
    now: datetime | None = None,
) -> IssuedToken:
    """The token endpoint: authenticate the client by its assertion, refuse a replayed
    ``jti``, and issue a short-lived access token with the granted scopes."""
    if not grant_type:
        raise OAuthError("grant_type is required", code="invalid_request")
    if grant_type != "client_credentials":
        raise OAuthError(
            "only grant_type=client_credentials is supported", code="unsupported_grant_type"
        )
    if client_assertion_type != JWT_BEARER or not client_assertion:
        raise _invalid_client(
            f"authenticate with client_assertion_type={JWT_BEARER} and a client_assertion"
        )
    moment = now or utcnow()
    subject = _unverified_subject(client_assertion)
    with uow:
        s = uow.session
        client = s.scalar(select(ApiClient).where(ApiClient.client_id == subject))
        if client is None or client.revoked_at is not None:
            raise _invalid_client()
        claims = verify_assertion(
            client, client_assertion, audience=settings.token_endpoint, now=moment
        )
        granted = _granted_scopes(client, scope)
        # forget what can no longer be replayed (expired jtis) or used (expired tokens)
        s.execute(
            delete(AssertionJti).where(
                AssertionJti.client_pk == client.id,
                AssertionJti.expires_at < moment - timedelta(seconds=LEEWAY),
            )
        )
        s.execute(
            delete(AccessToken).where(
                AccessToken.client_pk == client.id, AccessToken.expires_at < moment
            )
        )
        s.add(
            AssertionJti(
                client_pk=client.id,
                jti=claims["jti"],
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        )
        try:
            s.flush()
        except IntegrityError:
            raise _invalid_client("client_assertion was already used (jti replay)") from None
        token = secrets.token_urlsafe(32)
        s.add(
            AccessToken(
                digest=token_digest(token),
                client_pk=client.id,
                scopes=granted,
                issued_at=moment,
                expires_at=moment + timedelta(seconds=settings.api_token_ttl_seconds),
            )
        )
        uow.commit()
    return IssuedToken(token, settings.api_token_ttl_seconds, granted)


CALLER_OF_TOKEN = (
    select(
        AccessToken.expires_at,
        AccessToken.scopes,
        ApiClient.id,
        ApiClient.client_id,
        ApiClient.organisation,
        ApiClient.revoked_at,
    )
    .join(ApiClient, ApiClient.id == AccessToken.client_pk)
    .where(AccessToken.digest == bindparam("digest"))
)
"""The token check's one statement; parameter ``digest`` (:func:`bearer_digest`)."""


def token_caller() -> CTE:
    """:data:`CALLER_OF_TOKEN` as a CTE, for a statement that checks the token itself and
    uses it more than once (looked up once)."""
    return CALLER_OF_TOKEN.cte("token_caller")


def token_valid(caller: CTE) -> ColumnElement[bool]:
    """Whether the token of ``caller`` (:func:`token_caller`) is valid at ``now``: to spare
    work in such a statement (:func:`caller_of` still decides)."""
    return (
        select(caller.c.id)
        .where(caller.c.expires_at > bindparam("now"), caller.c.revoked_at.is_(None))
        .exists()
    )


def _invalid_token() -> InvalidToken:
    return InvalidToken("the access token is invalid, expired or revoked")


def bearer_digest(authorization: str | None) -> str:
    """The digest to look up for an ``Authorization: Bearer`` header value (401 when the
    header is missing or not a bearer token)."""
    if not authorization:
        raise Unauthenticated("an access token is required: Authorization: Bearer <token>")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise _invalid_token()
    return token_digest(value.strip())


def caller_of(row: Sequence[Any] | None, *, now: datetime) -> Caller:
    """The caller from the row :data:`CALLER_OF_TOKEN` found. Unknown, expired and
    revoked-client tokens are refused alike."""
    if row is None:
        raise _invalid_token()
    expires_at, scopes, client_pk, client_id, organisation, revoked_at = row
    if expires_at <= now or revoked_at is not None:
        raise _invalid_token()
    return Caller(
        client_pk=client_pk,
        client_id=client_id,
        organisation=organisation,
        scopes=parse_scopes(scopes.split()),
    )


def authenticate(
    session: Session | Connection, authorization: str | None, *, now: datetime
) -> Caller:
    """The caller behind an ``Authorization: Bearer`` header value. One statement, on a
    session or on a bare connection (the API checks tokens on an autocommit connection: one
    round trip)."""
    digest = bearer_digest(authorization)
    return caller_of(session.execute(CALLER_OF_TOKEN, {"digest": digest}).first(), now=now)
