"""The token endpoint over HTTP: client assertions verified, replay refused, scopes granted."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from ila.access.domain import Scope
from ila.access.models import AccessToken
from ila.access.service import revoke_client
from ila.access.tokens import JWT_BEARER
from ila.db.base import utcnow
from tests import builders
from tests.api.conftest import Api, assert_problem

ORG = builders.fake_enterprise(11)


def _token_error(api: Api, data: dict[str, str], status: int, error: str) -> dict[str, Any]:
    response = api.http.post("/api/v1/oauth/token", data=data)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert body["error_description"]
    return body


def _form(assertion: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion,
        **extra,
    }


def test_tokens_for_every_key_type_and_scope_narrowing(api: Api) -> None:
    builders.employer(api.container, 11, fte="12")
    for key, alg in (
        ("rsa", "RS256"),
        ("rsa", "PS256"),
        ("ec", "ES256"),
        ("okp", "EdDSA"),
        ("okp", "Ed25519"),
    ):
        client = api.register(ORG, key=key, alg=alg)
        response = api.token_request(client)
        assert response.status_code == 200, (alg, response.text)
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 300
        assert body["scope"].split() == sorted(s.value for s in Scope)
        mandates = api.http.get(
            f"/api/v1/employers/{ORG}/mandates",
            headers={"Authorization": f"Bearer {body['access_token']}"},
        )
        assert mandates.status_code == 200, mandates.text

    narrow = api.token_request(client, scope="employer:rights:read employer:mandates:read")
    assert narrow.json()["scope"] == "employer:mandates:read employer:rights:read"
    headers = {"Authorization": f"Bearer {narrow.json()['access_token']}"}
    refused = api.http.post(
        f"/api/v1/employers/{ORG}/mandates",
        headers=headers,
        json={
            "provider": builders.fake_enterprise(12),
            "kind": "software_vendor",
            "valid_from": "2024-01-01",
        },
    )
    body = assert_problem(refused, 403, "insufficient_scope")
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="ila", error="insufficient_scope", scope="employer:mandates:write"'
    )
    assert body["details"] == {"scope": "employer:mandates:write"}


def test_every_bad_assertion_is_refused(api: Api) -> None:
    client = api.register(ORG, key="rsa", alg="RS256")
    other = api.register(ORG, key="ec", alg="ES256")
    narrow = api.register(ORG, (Scope.EMPLOYER_RIGHTS_READ,), key="ec", alg="ES256")
    now = int(time.time())
    tokens_before = api.row_counts()["api_access_tokens"]

    failed = "client authentication failed"  # before the signature is verified: no detail
    invalid_client = [
        ("bad signature", api.assertion(client, key=api.keys["rsa2"]), failed),
        ("wrong aud", api.assertion(client, aud="https://elsewhere.example/token"), "'aud'"),
        ("wrong iss", api.assertion(client, iss=other.client_id), "'iss'"),
        ("wrong sub", api.assertion(client, sub=other.client_id), failed),
        ("no sub", api.assertion(client, drop=("sub",)), "no sub"),
        ("missing exp", api.assertion(client, drop=("exp",)), "Missing claim: 'exp'"),
        ("expired", api.assertion(client, exp=now - 120, iat=now - 180), "expired"),
        ("exp too far", api.assertion(client, exp=now + 3600), "more than 300 s ahead"),
        ("missing jti", api.assertion(client, drop=("jti",)), "Missing claim: 'jti'"),
        ("jti too long", api.assertion(client, jti="j" * 201), "jti longer"),
        ("nbf in the future", api.assertion(client, nbf=now + 600), "not yet valid"),
        ("iat in the future", api.assertion(client, iat=now + 600), "issued in the future"),
        ("unknown client", api.assertion(client, iss="nobody", sub="nobody"), failed),
        # correctly signed with the registered key: only the allow-list refuses it
        ("disallowed alg", api.assertion(client, alg="RS512"), failed),
        ("not a JWT", "not-a-jwt", "not a signed JWT"),
    ]
    for case, assertion, reason in invalid_client:
        body = _token_error(api, _form(assertion), 401, "invalid_client")
        assert reason in body["error_description"], (case, body)

    used = api.assertion(client)
    assert api.http.post("/api/v1/oauth/token", data=_form(used)).status_code == 200
    replay = _token_error(api, _form(used), 401, "invalid_client")
    assert "replay" in replay["error_description"]

    _token_error(
        api, {**_form(api.assertion(client)), "client_assertion_type": "x"}, 401, "invalid_client"
    )
    _token_error(api, {"grant_type": "client_credentials"}, 401, "invalid_client")
    _token_error(api, {}, 400, "invalid_request")
    _token_error(
        api, _form(api.assertion(client), grant_type="password"), 400, "unsupported_grant_type"
    )
    _token_error(
        api, _form(api.assertion(narrow), scope="employer:rights:write"), 400, "invalid_scope"
    )
    _token_error(api, _form(api.assertion(narrow), scope="no:such:scope"), 400, "invalid_scope")

    revoke_client(api.container.uow(), other.client_id, actor="test", reason="compromised")
    _token_error(api, _form(api.assertion(other)), 401, "invalid_client")
    assert api.row_counts()["api_access_tokens"] == tokens_before + 1  # the one good request


def test_bearer_tokens_refused_when_missing_invalid_expired_or_revoked(api: Api) -> None:
    builders.employer(api.container, 11, fte="12")
    client = api.register(ORG)
    url = f"/api/v1/employers/{ORG}/mandates"

    missing = api.http.get(url)
    assert_problem(missing, 401, "unauthenticated")
    assert missing.headers["www-authenticate"] == 'Bearer realm="ila"'
    for header in ("Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer"):
        wrong = api.http.get(url, headers={"Authorization": header})
        assert_problem(wrong, 401, "invalid_token")
        assert wrong.headers["www-authenticate"] == 'Bearer realm="ila", error="invalid_token"'

    headers = api.auth(client)
    assert api.http.get(url, headers=headers).status_code == 200
    with api.container.uow() as uow:
        uow.session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert_problem(api.http.get(url, headers=headers), 401, "invalid_token")

    headers = api.auth(client)
    assert api.http.get(url, headers=headers).status_code == 200
    assert api.row_counts()["api_access_tokens"] == 1  # expired ones go at the next issuance
    revoke_client(api.container.uow(), client.client_id, actor="test", reason="left")
    assert_problem(api.http.get(url, headers=headers), 401, "invalid_token")
