"""A person's own access token: an RFC 9068 JWT access token issued by the OpenID provider of
the web login (the federal authentication service in production) for this API.

The platform is only a resource server here: it never issues person tokens. It verifies them
with joserfc — signature against the issuer's keys (JWKS, found through the discovery document
and cached for a short time), the header's ``typ`` (``at+jwt``), ``iss``, ``aud`` (the API's
resource identifier), ``exp``/``nbf``/``iat``, then the assurance level (``acr``) and the
national number, with the same settings as the web login. See
docs/adr/0018-person-access-tokens.md."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from ila.config import Settings
from ila.errors import DomainError, Forbidden, InvalidToken
from ila.identity.domain import NationalNumber

ALGORITHMS = ("RS256", "PS256", "ES256")
"""Signature algorithms accepted on person tokens (RFC 9068 §4: RS256 at least; never
``none``, never HMAC)."""
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 §2.1, compared lowercased
KEYS_TTL = 300.0  # seconds the issuer's discovery document and keys are trusted before re-reading
REFRESH_AT_MOST_EVERY = 30.0  # seconds: an unknown ``kid`` re-reads the keys at most this often
FETCH_TIMEOUT = 5.0
ACTOR_PREFIX = "api:person:"
ORGANISATION = "person"
"""The audit trail's ``organisation`` of a person acting for themself (no enterprise number)."""


class InsufficientAssurance(Forbidden):
    """A valid person token from a login whose assurance level (``acr``) is not accepted."""

    code = "insufficient_assurance"


class PersonTokenRequired(Forbidden):
    """A valid machine client's token on a route that serves a person's own data."""

    code = "person_token_required"


@dataclass(frozen=True, slots=True)
class Person:
    """The person a verified access token speaks for."""

    subject: str  # the provider's ``sub``
    national_number: str
    acr: str
    client_id: str | None  # the application the person used to get the token

    @property
    def actor(self) -> str:
        """How the person is recorded in the audit trail (at most 64 characters)."""
        actor = f"{ACTOR_PREFIX}{self.subject}"
        if len(actor) <= 64:
            return actor
        return f"{ACTOR_PREFIX}sha256:{hashlib.sha256(self.subject.encode()).hexdigest()[:40]}"


Fetch = Callable[[str], dict[str, Any]]


def _fetch_json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=FETCH_TIMEOUT, follow_redirects=False)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise TypeError(f"{url} did not answer a JSON object")
    return body


class IssuerKeys:
    """The issuer's signing keys: ``jwks_uri`` from its discovery document, both re-read after
    ``ttl`` seconds, or sooner (at most every ``REFRESH_AT_MOST_EVERY`` s) when a token names a
    key id the cached set lacks (the provider rotated its keys). Thread-safe."""

    def __init__(self, issuer: str, *, ttl: float = KEYS_TTL, fetch: Fetch = _fetch_json) -> None:
        self.issuer = issuer
        self.ttl = ttl
        self._fetch = fetch
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._read_at = float("-inf")

    def _load(self) -> KeySet:
        discovery = self._fetch(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        if discovery.get("issuer") != self.issuer:
            raise ValueError("the discovery document names another issuer")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise TypeError("the discovery document has no jwks_uri")
        return KeySet.import_key_set(self._fetch(jwks_uri))  # type: ignore[arg-type]

    def key_set(self, *, unknown_kid: bool = False) -> KeySet:
        now = time.monotonic()
        with self._lock:
            age = now - self._read_at
            stale = self._keys is None or age >= self.ttl
            if stale or (unknown_kid and age >= REFRESH_AT_MOST_EVERY):
                try:
                    self._keys = self._load()
                    self._read_at = now
                except (httpx.HTTPError, ValueError, TypeError, JoseError):
                    if self._keys is None:
                        raise InvalidToken(
                            "the token's issuer cannot be reached to verify it; try again later"
                        ) from None
                    # keep the last keys read: a provider outage must not lock everybody out
            assert self._keys is not None  # noqa: S101 - set above or raised
            return self._keys


class PersonTokenVerifier:
    """Verifies person access tokens for one issuer and one audience (this API)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        accepted_acr: Collection[str],
        national_number_claim: str,
        leeway: int,
        keys: IssuerKeys | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.accepted_acr = tuple(accepted_acr)
        self.national_number_claim = national_number_claim
        self.leeway = leeway
        self.keys = keys or IssuerKeys(issuer)

    @classmethod
    def from_settings(cls, settings: Settings) -> PersonTokenVerifier | None:
        """``None`` when no OpenID provider is configured: no person token can be valid."""
        if settings.oidc_issuer is None:
            return None
        return cls(
            issuer=str(settings.oidc_issuer),
            audience=settings.api_resource_id,
            accepted_acr=settings.oidc_accepted_acr,
            national_number_claim=settings.oidc_national_number_claim,
            leeway=settings.api_person_token_leeway_seconds,
        )

    def _decode(self, token: str) -> dict[str, Any]:
        invalid = InvalidToken("the access token is invalid, expired or not for this API")
        try:
            header = extract_compact(token.encode()).headers()
        except (JoseError, ValueError):
            raise invalid from None
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("the token is not a JWT access token (typ at+jwt, RFC 9068)")
        if header.get("alg") not in ALGORITHMS:
            raise invalid
        kid = header.get("kid")
        keys = self.keys.key_set()
        if kid is not None and not any(k.kid == kid for k in keys):
            keys = self.keys.key_set(unknown_kid=True)  # the provider may have rotated its keys
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except JoseError:
            raise invalid from None
        return decoded.claims

    def verify(self, token: str, *, now: float | None = None) -> Person:
        """The person behind ``token``; :class:`InvalidToken` (401) when it is not a valid
        access token of the issuer for this API, :class:`InsufficientAssurance` (403) when its
        assurance level is not accepted."""
        claims = self._decode(token)
        registry = jwt.JWTClaimsRegistry(
            now=int(now if now is not None else time.time()),
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            claim = getattr(exc, "claim", None)
            what = f" ({claim})" if claim else ""
            raise InvalidToken(
                f"the access token is invalid, expired or not for this API{what}"
            ) from None
        acr = claims.get("acr")
        if not isinstance(acr, str) or acr not in self.accepted_acr:
            raise InsufficientAssurance(
                f"the login's assurance level {acr!r} is not enough to read a learning account; "
                "log in again at one of the accepted levels",
                accepted_acr=list(self.accepted_acr),
            )
        raw = claims.get(self.national_number_claim)
        try:
            number = NationalNumber.parse(str(raw)).value
        except DomainError:
            raise InvalidToken(
                f"the access token has no valid national number ({self.national_number_claim})"
            ) from None
        client_id = claims.get("client_id")
        return Person(
            subject=str(claims["sub"]),
            national_number=number,
            acr=acr,
            client_id=client_id if isinstance(client_id, str) else None,
        )
