"""A person's own account through the API (``GET /me/account``, ``GET /me/consultations``) with
a real access token: the person logs in at the real OpenID provider (npm ``oidc-provider``,
tests/oidc/provider.mjs) through its login form driven by httpx, and the public client gets an
RFC 9068 JWT access token for this API's resource identifier. Real HTTP to uvicorn on loopback,
on SQLite and PostgreSQL.

Authorisation of these routes (listed in tests/api/authorisation_elsewhere.py): no token → 401;
a machine client's token → 403 ``person_token_required``; person A never sees person B's data;
a login at a too-low assurance level → 403 ``insufficient_assurance``; an expired, forged,
tampered, other-issuer, other-audience or ID token → 401 ``invalid_token``; a person token on an
employer route → 401; none of these leaves a row behind."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from ila.access.person_tokens import IssuerKeys
from ila.audit.models import AuditEvent
from ila.errors import InvalidToken
from ila.rights.service import compute_year
from tests import builders
from tests.api.conftest import Api, PrivateKey, World, assert_problem, make_world, training_content
from tests.oidc_fixture import (
    LEVEL_HIGH,
    LEVEL_LOW,
    Provider,
    person_access_token,
    person_login,
    run_provider,
)

ACCOUNT = "/me/account"
CONSULTATIONS = "/me/consultations"
RESOURCE = "https://ila.test/api/v1"  # this API's resource identifier (ILA_API_RESOURCE)
OTHER_RESOURCE = "https://other.test/api/v1"  # another API the provider issues tokens for
API_CLIENT = "ila-api-test"  # a public client (an app of the person), PKCE, no secret
REDIRECT = "http://127.0.0.1:9/callback"  # never reached: the flow stops at the redirect


def _provider() -> contextlib.AbstractContextManager[Provider]:
    return run_provider(
        client_id="ila-web-unused",
        client_secret="test-only-client-secret-not-a-real-one",
        redirect_uris=["http://127.0.0.1:9/auth/callback"],
        post_logout_uri="http://127.0.0.1:9/",
        api_client_id=API_CLIENT,
        api_redirect_uri=REDIRECT,
        api_resources=(RESOURCE, OTHER_RESOURCE),
    )


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with _provider() as started:
        yield started


@pytest.fixture(scope="module")
def other_provider() -> Iterator[Provider]:
    """Another issuer (same software, same test keys: only ``iss`` tells its tokens apart)."""
    with _provider() as started:
        yield started


@pytest.fixture
def api(api_factory: Any, provider: Provider) -> Api:
    served: Api = api_factory(
        oidc_issuer=provider.issuer, api_resource=RESOURCE, api_person_token_leeway_seconds=0
    )
    return served


def _token(
    provider: Provider,
    national_number: str,
    *,
    level: str = LEVEL_HIGH,
    resource: str = RESOURCE,
    client_id: str = API_CLIENT,
) -> str:
    return person_access_token(
        provider.issuer,
        client_id=client_id,
        redirect_uri=REDIRECT,
        resource=resource,
        national_number=national_number,
        level=level,
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def part(text: str) -> dict[str, Any]:
        padded = text + "=" * (-len(text) % 4)
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
        return decoded

    header, payload, _ = token.split(".")
    return part(header), part(payload)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _world(api: Api) -> tuple[World, dict[str, str]]:
    """Worker A employed by A and B, with a training recorded by A; rights of 2024."""
    w = make_world(api.container)
    builders.employ(api.container, w.worker_a, w.b, start=date(2024, 1, 1), fraction="0.5")
    machine = api.auth(api.register(w.a))
    recorded = api.http.post(
        f"/api/v1/employers/{w.a}/trainings",
        headers=machine,
        json={
            "training": training_content(),
            "workers": [{"national_number": w.worker_a, "record_id": "me/1"}],
        },
    )
    assert recorded.status_code == 200, recorded.text
    compute_year(api.container, 2024)
    return w, machine


def _audit_rows(api: Api, national_number: str) -> list[AuditEvent]:
    with api.container.uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject_national_number == national_number)
                .order_by(AuditEvent.id)
            )
        )


def test_a_person_reads_their_own_account_across_employers(api: Api, provider: Provider) -> None:
    w, _ = _world(api)
    token = _token(provider, w.worker_a)
    before = len(_audit_rows(api, w.worker_a))

    response = api.http.get(f"/api/v1{ACCOUNT}", params={"year": 2024}, headers=_bearer(token))
    assert response.status_code == 200, response.text
    account = response.json()
    assert account["person"]["national_number"] == w.worker_a
    assert [p["employer"]["enterprise_number"] for p in account["employers"]] == sorted([w.a, w.b])
    assert all(p["recorded"] for p in account["employers"])
    assert float(account["totals"]["entitlement"]["days"]) > 0
    (training,) = account["trainings"]
    assert training["employer"] == w.a
    assert training["title"] == "Forklift safety"
    assert "certificate" in training

    # the read is in the audit trail, with the person as actor, in the same chain
    rows = _audit_rows(api, w.worker_a)
    assert len(rows) == before + 1
    read = rows[-1]
    assert (read.action, read.resource) == ("read", "account")
    assert read.actor == f"api:person:{w.worker_a}"  # the test provider's sub is the number
    assert read.organisation == "person"
    assert read.on_behalf_of is None
    assert read.request_id == response.headers["x-request-id"]
    assert read.details["year"] == 2024

    # … and the person sees it among who consulted their data, newest first, page by page
    page = api.http.get(f"/api/v1{CONSULTATIONS}", params={"limit": 1}, headers=_bearer(token))
    assert page.status_code == 200, page.text
    body = page.json()
    (newest,) = body["items"]
    assert newest["actor"] == read.actor
    assert newest["request_id"] == read.request_id
    assert body["next_cursor"]
    rest = api.http.get(
        f"/api/v1{CONSULTATIONS}",
        params={"limit": 500, "cursor": body["next_cursor"]},
        headers=_bearer(token),
    )
    assert rest.status_code == 200, rest.text
    assert len(rest.json()["items"]) == before  # the employer's training write, and so on
    assert rest.json()["next_cursor"] is None
    # reading the list is not itself recorded
    assert len(_audit_rows(api, w.worker_a)) == before + 1
    assert_problem(
        api.http.get(f"/api/v1{CONSULTATIONS}", params={"cursor": "x"}, headers=_bearer(token)),
        422,
        "invalid_cursor",
    )


def test_a_person_sees_only_their_own_data(api: Api, api_factory: Any, provider: Provider) -> None:
    w, _ = _world(api)
    token_b = _token(provider, w.worker_b)
    response = api.http.get(f"/api/v1{ACCOUNT}", params={"year": 2024}, headers=_bearer(token_b))
    assert response.status_code == 200, response.text
    account = response.json()
    assert account["person"]["national_number"] == w.worker_b
    assert [p["employer"]["enterprise_number"] for p in account["employers"]] == [w.b]
    assert account["trainings"] == []
    # there is no way to name another person: extra parameters change nothing
    again = api.http.get(
        f"/api/v1{ACCOUNT}",
        params={"year": 2024, "national_number": w.worker_a, "niss": w.worker_a},
        headers=_bearer(token_b),
    )
    assert again.json()["person"]["national_number"] == w.worker_b
    consultations = api.http.get(f"/api/v1{CONSULTATIONS}", headers=_bearer(token_b)).json()
    assert all(c["resource"] == "account" for c in consultations["items"])
    assert all(c["actor"] == f"api:person:{w.worker_b}" for c in consultations["items"])

    # a valid person the platform does not know: not found, nothing recorded
    stranger = builders.fake_niss(77)
    counts = api.row_counts()
    assert_problem(
        api.http.get(
            f"/api/v1{ACCOUNT}",
            params={"year": 2024},
            headers=_bearer(_token(provider, stranger)),
        ),
        404,
        "not_found",
    )
    assert api.row_counts() == counts

    # a server without an OpenID provider (no ILA_OIDC_ISSUER) accepts no person token
    plain: Api = api_factory()
    assert_problem(
        plain.http.get(f"/api/v1{ACCOUNT}", params={"year": 2024}, headers=_bearer(token_b)),
        401,
        "invalid_token",
    )


def test_refused_tokens_leave_nothing_behind(
    api: Api,
    provider: Provider,
    other_provider: Provider,
    keys: dict[str, PrivateKey],
) -> None:
    w, machine = _world(api)
    good = _token(provider, w.worker_a)
    short = _token(provider, w.worker_a, client_id=f"{API_CLIENT}-short")  # expires in 1 s
    low = _token(provider, w.worker_a, level=LEVEL_LOW)
    other_audience = _token(provider, w.worker_a, resource=OTHER_RESOURCE)
    other_issuer = _token(other_provider, w.worker_a)
    id_token = person_login(
        provider.issuer,
        client_id=API_CLIENT,
        redirect_uri=REDIRECT,
        resource=RESOURCE,
        national_number=w.worker_a,
    )["id_token"]
    header, claims = _segments(good)
    forged_key = keys["rsa"]
    assert isinstance(forged_key, RSAKey)
    forged = jwt.encode(header, claims, forged_key, algorithms=["RS256"])  # same kid, other key
    signature = good.rsplit(".", 1)[1]
    tampered = f"{_b64(header)}.{_b64({**claims, 'egovNRN': w.worker_b})}.{signature}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}."
    counts = api.row_counts()
    url = f"/api/v1{ACCOUNT}?year=2024"

    def get(headers: dict[str, str], path: str = url) -> httpx.Response:
        return api.http.get(path, headers=headers)

    for path in (url, f"/api/v1{CONSULTATIONS}"):
        missing = get({}, path)
        assert_problem(missing, 401, "unauthenticated")
        assert missing.headers["www-authenticate"] == 'Bearer realm="ila"'
        # a machine client's token of this platform: a clear 403, whatever its scopes
        assert_problem(get(machine, path), 403, "person_token_required")
        refused = assert_problem(get(_bearer(low), path), 403, "insufficient_assurance")
        assert refused["details"]["accepted_acr"] == [LEVEL_HIGH]
        challenge = get(_bearer(low), path).headers["www-authenticate"]
        assert 'error="insufficient_user_authentication"' in challenge
        assert f'acr_values="{LEVEL_HIGH}"' in challenge

    for token in (
        "not-a-token",
        "a.b.c",
        forged,
        tampered,
        unsigned,
        other_audience,
        other_issuer,
        id_token,  # an ID token is not an access token (typ, aud)
        good + "x",
    ):
        invalid = get(_bearer(token))
        assert_problem(invalid, 401, "invalid_token")
        assert invalid.headers["www-authenticate"] == 'Bearer realm="ila", error="invalid_token"'

    # expiry: no leeway on this server, and the short-lived token lives 1 s
    time.sleep(max(0.0, _segments(short)[1]["exp"] - time.time()) + 1.1)
    assert_problem(get(_bearer(short)), 401, "invalid_token")

    # a person token is no token of this platform's token endpoint: refused on employer routes
    for path in (
        f"/api/v1/employers/{w.a}/workers/{w.worker_a}/account?year=2024",
        f"/api/v1/employers/{w.a}/workers?year=2024",
    ):
        assert_problem(get(_bearer(good), path), 401, "invalid_token")

    assert api.row_counts() == counts
    # the good token still works after all this (nothing was cached wrongly)
    assert get(_bearer(good)).status_code == 200


def test_issuer_keys_outlive_a_provider_outage() -> None:
    """The keys come from the issuer's own discovery document; once read, a provider outage
    keeps them in use (re-reads fail quietly); never read, no token can be verified."""
    with _provider() as started:
        issuer = started.issuer
        keys = IssuerKeys(issuer, ttl=0.0)  # always stale: every call tries to re-read
        first = keys.key_set()
        assert any(k.kid for k in first)
        # a discovery document naming another issuer is not trusted
        impostor = IssuerKeys(issuer.replace("127.0.0.1", "localhost"))
        with pytest.raises(InvalidToken):
            impostor.key_set()
    # the provider has stopped
    assert keys.key_set() == first
    with pytest.raises(InvalidToken):
        IssuerKeys(issuer).key_set()
