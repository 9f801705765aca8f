"""Training rights over HTTP: read with derivation, set in bulk with per-item results, and
idempotent retries (later and concurrent)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select

from ila.rights.models import RightVersion
from tests import builders
from tests.api.conftest import Api, World, assert_problem, make_world


def _versions(api: Api) -> int:
    with api.container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(RightVersion)) or 0


def _setup(api: Api) -> tuple[World, dict[str, str]]:
    w = make_world(api.container)
    return w, api.auth(api.register(w.a))


def test_read_a_right_with_its_derivation(api: Api) -> None:
    w, headers = _setup(api)
    url = f"/api/v1/employers/{w.a}/workers/{w.worker_a}/rights/2024"
    response = api.http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person"]["national_number"] == w.worker_a
    assert body["employer"]["enterprise_number"] == w.a
    assert body["entitlement"]["status"] == "preview"
    assert body["entitlement"]["effective"]["days"] == "5.00"
    assert body["derivation"]["regime"]["id"] == "statutory.ge20.2024"
    assert body["headcount"]["band"] == "ge20"
    assert [y["year"] for y in body["ledger"]] == []

    formatted = api.http.get(
        url.replace(w.a, f"{w.a[:4]}.{w.a[4:7]}.{w.a[7:]}"),
        headers=headers,
        params={"as_of": "2030-01-01"},
    )
    assert formatted.status_code == 200
    assert formatted.json()["as_of"] == "2030-01-01T00:00:00+00:00"

    # a worker of another employer and an unknown person answer alike
    probe = {**headers, "X-Request-ID": "same"}
    elsewhere = api.http.get(url.replace(w.worker_a, w.worker_b), headers=probe)
    nobody = api.http.get(url.replace(w.worker_a, builders.fake_niss(50)), headers=probe)
    assert_problem(elsewhere, 404, "not_found")
    assert elsewhere.content == nobody.content

    invalid = api.http.get(url.replace(w.worker_a, "12345678901"), headers=headers)
    problem = assert_problem(invalid, 422, "invalid_national_number")
    assert problem["errors"][0]["path"] == "national_number"
    assert_problem(
        api.http.get(url.replace(w.a, "0123"), headers=headers), 422, "invalid_enterprise_number"
    )
    assert_problem(
        api.http.get(url.replace("2024", "2019"), headers=headers), 422, "request_invalid"
    )


def test_set_rights_in_bulk_with_results_per_item(api: Api) -> None:
    w, headers = _setup(api)
    url = f"/api/v1/employers/{w.a}/rights"
    items: list[dict[str, Any]] = [
        {"national_number": w.worker_a, "days": 4.5, "reason": "policy"},
        {"national_number": "12345678901", "days": "2", "reason": "typo"},
        {"national_number": w.worker_b, "days": "2", "reason": "not ours"},
        {"national_number": w.worker_a, "days": 400, "reason": "too much"},
        {"national_number": w.worker_a, "days": None, "reason": " "},
    ]
    response = api.http.post(url, headers=headers, json={"year": 2024, "items": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["unchanged"], body["rejected"]) == (1, 0, 4)
    errors = {r["index"]: r["error"] for r in body["items"] if r["error"]}
    assert errors[1]["code"] == "invalid_national_number"
    assert errors[1]["path"] == "items[1].national_number"
    assert errors[2]["code"] == "not_found"
    assert errors[2]["message"] == "no employment of this worker with this employer in 2024"
    assert (errors[3]["code"], errors[3]["path"]) == ("out_of_range", "items[3].days")
    assert (errors[4]["code"], errors[4]["path"]) == ("required", "items[4].reason")

    again = api.http.post(url, headers=headers, json={"year": 2024, "items": items[:1]})
    assert again.json()["items"][0] == {
        "index": 0,
        "status": "unchanged",
        "version": 1,
        "error": None,
    }
    read = api.http.get(
        f"/api/v1/employers/{w.a}/workers/{w.worker_a}/rights/2024", headers=headers
    ).json()
    assert read["entitlement"]["set"]["days"] == "4.50"
    assert read["entitlement"]["recorded_by"].startswith("api:")

    malformed = api.http.post(
        url, headers=headers, json={"year": "soon", "items": [{"national_number": 5}]}
    )
    problem = assert_problem(malformed, 422, "request_invalid")
    paths = {(e["location"], e["path"]) for e in problem["errors"]}
    assert {
        ("body", "year"),
        ("body", "items[0].national_number"),
        ("body", "items[0].days"),
        ("body", "items[0].reason"),
    } <= paths
    broken = api.http.post(
        url, headers={**headers, "Content-Type": "application/json"}, content=b'{"year": 20'
    )
    assert assert_problem(broken, 422, "request_invalid")["errors"][0]["code"] == "json_invalid"


def test_idempotent_replay_later(api: Api) -> None:
    w, headers = _setup(api)
    url = f"/api/v1/employers/{w.a}/rights"
    payload = {
        "year": 2024,
        "items": [{"national_number": w.worker_a, "days": "3", "reason": "policy"}],
    }
    keyed = {**headers, "Idempotency-Key": "batch-0001"}
    first = api.http.post(url, headers=keyed, json=payload)
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    versions = _versions(api)

    replay = api.http.post(url, headers=keyed, json=payload)
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert _versions(api) == versions

    changed = {
        "year": 2024,
        "items": [{"national_number": w.worker_a, "days": "4", "reason": "policy"}],
    }
    assert_problem(api.http.post(url, headers=keyed, json=changed), 422, "idempotency_key_reused")
    assert _versions(api) == versions

    # keys belong to a client: another client's same key is another request
    provider = api.auth(api.register(w.provider))
    other = api.http.post(url, headers={**provider, "Idempotency-Key": "batch-0001"}, json=changed)
    assert other.status_code == 200
    assert other.json()["accepted"] == 1


def test_idempotent_replay_concurrent(api: Api) -> None:
    w, headers = _setup(api)
    url = f"{api.base}/api/v1/employers/{w.a}/rights"
    payload = {
        "year": 2024,
        "items": [{"national_number": w.worker_a, "days": "2", "reason": "policy"}],
    }
    keyed = {**headers, "Idempotency-Key": "concurrent-1"}
    versions = _versions(api)

    def post(_: int) -> httpx.Response:
        with httpx.Client(timeout=30) as http:
            return http.post(url, headers=keyed, json=payload)

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(post, range(4)))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" in r.headers for r in responses) == 3
    assert _versions(api) == versions + 1
