"""Pure parts of access and of the API layer: keys, periods, scopes, rate limiter, problems."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519
from joserfc.jwk import ECKey, OKPKey, RSAKey
from starlette.types import Message, Receive, Scope, Send

from ila.access.domain import (
    Caller,
    ProviderKind,
    check_period,
    mandate_active,
    parse_kind,
    parse_public_key,
    parse_scopes,
    periods_overlap,
    require_scope,
)
from ila.access.domain import (
    Scope as AccessScope,
)
from ila.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from ila.api.problems import json_path, status_for
from ila.api.ratelimit import RateLimited, TokenBucketLimiter
from ila.config import Environment, Settings
from ila.errors import (
    ConfigurationError,
    Conflict,
    DomainError,
    InsufficientScope,
    InvalidPeriod,
    InvalidToken,
    NotFound,
    RuleNotFound,
    StaleVersion,
    UnknownCode,
    ValidationError,
)
from tests.aio import run_in_own_loop


def _pem(public: object) -> bytes:
    return public.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_public_keys_accepted_and_refused(keys: dict[str, RSAKey | ECKey | OKPKey]) -> None:
    for key in keys.values():
        jwk = parse_public_key(key.as_pem(private=False))
        assert "d" not in jwk
        assert parse_public_key(json.dumps(key.as_dict(private=False)).encode()) == jwk

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    weak_rsa = weak.public_key()
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    x_key = x25519.X25519PrivateKey.generate().public_key()
    refused = [
        ("at least 2048 bits", _pem(weak_rsa)),
        ("curve P-384", _pem(p384)),
        ("RSA, EC or OKP", _pem(x_key)),
        ("private key", keys["ec"].as_pem(private=True)),
        ("this is a private key", json.dumps(keys["okp"].as_dict(private=True)).encode()),
        ("not a PEM or JWK", b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"),
        ("not a PEM or JWK", b"{} trailing"),
    ]
    for message, data in refused:
        with pytest.raises(ValidationError, match=message):
            parse_public_key(data)
    with pytest.raises(ValidationError, match="RSA, EC or OKP"):
        parse_public_key(b'{"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}')
    okp_x = OKPKey.generate_key("X25519")
    with pytest.raises(ValidationError, match="curve X25519"):
        parse_public_key(json.dumps(okp_x.as_dict(private=False)).encode())


def test_mandate_periods_in_belgian_dates() -> None:
    # 23:30 UTC on 31 Dec is already 1 Jan in Brussels
    new_year = datetime(2024, 12, 31, 23, 30, tzinfo=UTC)
    assert mandate_active(date(2025, 1, 1), None, None, new_year)
    assert not mandate_active(date(2024, 1, 1), date(2024, 12, 31), None, new_year)
    revoked = datetime(2024, 6, 1, tzinfo=UTC)
    assert mandate_active(date(2024, 1, 1), None, revoked, datetime(2024, 5, 1, tzinfo=UTC))
    assert not mandate_active(date(2024, 1, 1), None, revoked, revoked)
    assert periods_overlap(date(2024, 1, 1), None, date(2030, 1, 1), None)
    assert not periods_overlap(date(2024, 1, 1), date(2024, 6, 30), date(2024, 7, 1), None)
    assert not periods_overlap(date(2024, 7, 1), None, date(2024, 1, 1), date(2024, 6, 30))
    with pytest.raises(InvalidPeriod):
        check_period(date(2024, 2, 1), date(2024, 1, 31))
    check_period(date(2024, 2, 1), date(2024, 2, 1))


def test_scopes_and_kinds() -> None:
    assert parse_scopes(["employer:rights:read"]) == {AccessScope.EMPLOYER_RIGHTS_READ}
    with pytest.raises(UnknownCode):
        parse_scopes(["admin"])
    assert parse_kind("training_provider") is ProviderKind.TRAINING_PROVIDER
    with pytest.raises(UnknownCode):
        parse_kind("notary")
    caller = Caller(1, "c", "0403019261", frozenset({AccessScope.EMPLOYER_RIGHTS_READ}))
    require_scope(caller, AccessScope.EMPLOYER_RIGHTS_READ)
    with pytest.raises(InsufficientScope) as raised:
        require_scope(caller, AccessScope.EMPLOYER_RIGHTS_WRITE)
    assert raised.value.details == {"scope": "employer:rights:write"}
    assert caller.actor == "api:c@0403019261"


def test_token_bucket() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(2.0, 3, clock=lambda: now[0])
    for _ in range(3):
        limiter.hit("a")
    with pytest.raises(RateLimited) as raised:
        limiter.hit("a")
    assert raised.value.retry_after == 1
    limiter.hit("b")  # buckets are per key
    now[0] = 0.5  # one token back
    limiter.hit("a")
    with pytest.raises(RateLimited):
        limiter.hit("a")

    limiter.MAX_KEYS = 2
    now[0] = 100.0  # every bucket full again: forgotten when room is needed
    limiter.hit("c")
    assert set(limiter._buckets) == {"c"}


def test_status_mapping_and_json_paths() -> None:
    assert status_for(NotFound("x")) == 404
    assert status_for(StaleVersion("x")) == 412
    assert status_for(Conflict("x")) == 409
    assert status_for(ValidationError("x")) == 422
    assert status_for(RuleNotFound("x")) == 422
    assert status_for(InvalidToken("x")) == 401
    assert status_for(InsufficientScope("x")) == 403
    assert status_for(DomainError("x")) == 400
    assert json_path(("items", 2, "days")) == "items[2].days"
    assert json_path(()) == ""


def test_production_needs_an_https_public_url() -> None:
    safe = {"demo_login": False, "secret_key": "a-real-secret-of-enough-length"}
    for url in ("http://ila.example.be", "http://127.0.0.1.example.be"):
        with pytest.raises(ConfigurationError, match="PUBLIC_URL"):
            Settings(environment=Environment.PRODUCTION, public_url=url, **safe).check()
    for url in ("https://ila.example.be", "http://127.0.0.1:8000"):
        Settings(environment=Environment.PRODUCTION, public_url=url, **safe).check()
    assert Settings(public_url="https://x.be/").token_endpoint == "https://x.be/api/v1/oauth/token"


def test_middleware_passes_other_protocols_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    for middleware in (RequestIdMiddleware(app), BodyLimitMiddleware(app, 10)):
        run_in_own_loop(middleware({"type": "lifespan"}, receive, send))
    assert seen == ["lifespan", "lifespan"]
