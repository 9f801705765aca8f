"""Mandates over HTTP: granted by the employer's client, used by the provider's client at the
time of each call, revoked with a reason and kept in the history."""

from __future__ import annotations

from datetime import date, timedelta

from ila.access.domain import local_date
from ila.db.base import utcnow
from tests import builders
from tests.api.conftest import Api, assert_problem


def test_granted_mandate_lets_the_provider_act_until_revoked(api: Api) -> None:
    employer = builders.employer(api.container, 1, fte="40")
    worker = builders.person(api.container, 1)
    builders.employ(api.container, worker, employer, start=date(2024, 1, 1))
    provider = builders.fake_enterprise(3)
    own = api.auth(api.register(employer))
    theirs = api.auth(api.register(provider))
    right = f"/api/v1/employers/{employer}/workers/{worker}/rights/2024"
    mandates = f"/api/v1/employers/{employer}/mandates"

    assert_problem(api.http.get(right, headers=theirs), 404, "not_found")

    tomorrow = (local_date(utcnow()) + timedelta(days=2)).isoformat()
    future = api.http.post(
        mandates,
        headers=own,
        json={"provider": provider, "kind": "social_secretariat", "valid_from": tomorrow},
    )
    assert future.status_code == 201, future.text
    assert future.json()["active"] is False
    assert_problem(api.http.get(right, headers=theirs), 404, "not_found")
    overlap = api.http.post(
        mandates,
        headers=own,
        json={"provider": provider, "kind": "social_secretariat", "valid_from": "2024-01-01"},
    )
    assert assert_problem(overlap, 409, "mandate_overlaps")["details"] == {
        "mandate_id": future.json()["id"]
    }
    api.http.post(
        f"{mandates}/{future.json()['id']}/revoke", headers=own, json={"reason": "wrong date"}
    )

    keyed = {**own, "Idempotency-Key": "grant-1"}
    grant = {"provider": provider, "kind": "social_secretariat", "valid_from": "2024-01-01"}
    granted = api.http.post(mandates, headers=keyed, json=grant)
    assert granted.status_code == 201, granted.text
    mandate = granted.json()
    assert mandate["active"] is True
    assert mandate["granted_by"].startswith("api:")
    replay = api.http.post(mandates, headers=keyed, json=grant)
    assert (replay.status_code, replay.content) == (201, granted.content)
    assert api.http.get(right, headers=theirs).status_code == 200

    revoke = f"{mandates}/{mandate['id']}/revoke"
    revoked = api.http.post(revoke, headers=own, json={"reason": "contract ended"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False
    assert revoked.json()["revoke_reason"] == "contract ended"
    assert_problem(api.http.get(right, headers=theirs), 404, "not_found")
    assert_problem(
        api.http.post(revoke, headers=own, json={"reason": "again"}), 409, "already_revoked"
    )
    assert_problem(
        api.http.post(f"{mandates}/999999/revoke", headers=own, json={"reason": "x"}),
        404,
        "not_found",
    )

    listed = api.http.get(mandates, headers=own).json()
    assert [(m["id"], m["active"]) for m in listed] == [
        (future.json()["id"], False),
        (mandate["id"], False),
    ]


def test_mandate_requests_are_validated(api: Api) -> None:
    employer = builders.employer(api.container, 1, fte="40")
    own = api.auth(api.register(employer))
    url = f"/api/v1/employers/{employer}/mandates"
    cases = {
        "invalid_period": {
            "provider": builders.fake_enterprise(3),
            "kind": "software_vendor",
            "valid_from": "2024-02-01",
            "valid_to": "2024-01-01",
        },
        "inconsistent": {
            "provider": employer,
            "kind": "software_vendor",
            "valid_from": "2024-01-01",
        },
        "invalid_enterprise_number": {
            "provider": "0123456789",
            "kind": "software_vendor",
            "valid_from": "2024-01-01",
        },
        "request_invalid": {
            "provider": builders.fake_enterprise(3),
            "kind": "lawyer",
            "valid_from": "2024-01-01",
        },
    }
    for code, body in cases.items():
        problem = assert_problem(api.http.post(url, headers=own, json=body), 422, code)
        assert problem["errors"], code
    assert api.http.get(url, headers=own).json() == []
