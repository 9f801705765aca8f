"""Trainings over HTTP: group and individual creation with results per record, retries by
record id and by Idempotency-Key, rectification with If-Match, cancellation, history, list
filters and cursor pagination, a training provider's records to verify, and tenant isolation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import httpx
from sqlalchemy import func, select

from ila.trainings.models import Training, TrainingVersion
from tests import builders
from tests.api.conftest import Api, World, assert_problem, make_world, training_content


def _counts(api: Api) -> tuple[int, int]:
    with api.container.uow() as uow:
        s = uow.session
        return (
            s.scalar(select(func.count()).select_from(Training)) or 0,
            s.scalar(select(func.count()).select_from(TrainingVersion)) or 0,
        )


def _workers(api: Api, w: World, n: int) -> list[str]:
    workers = [w.worker_a]
    for serial in range(10, 10 + n - 1):
        niss = builders.person(api.container, serial)
        builders.employ(api.container, niss, w.a, start=date(2024, 1, 1))
        workers.append(niss)
    return workers


def _create(api: Api, en: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = api.http.post(f"/api/v1/employers/{en}/trainings", headers=headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_group_training_keeps_valid_workers_and_retries_are_harmless(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    url = f"/api/v1/employers/{w.a}/trainings"
    a1, a2 = _workers(api, w, 3)[1:]
    workers = [
        {"national_number": w.worker_a, "record_id": "g1/0"},
        {"national_number": "12345678901", "record_id": "g1/1"},
        {"national_number": w.worker_b, "record_id": "g1/2"},  # B's worker: like an unknown one
        {"national_number": a1, "record_id": "g1/3"},
        {"national_number": a2, "record_id": "g1/4"},
    ]
    body = {"training": training_content(), "workers": workers}
    keyed = {**headers, "Idempotency-Key": "group-1"}
    first = api.http.post(url, headers=keyed, json=body)
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["accepted"], result["unchanged"], result["rejected"]) == (3, 0, 2)
    statuses = [item["status"] for item in result["items"]]
    assert statuses == ["accepted", "rejected", "rejected", "accepted", "accepted"]
    bad, elsewhere = result["items"][1]["error"], result["items"][2]["error"]
    assert (bad["code"], bad["path"]) == ("invalid_national_number", "workers[1].national_number")
    assert (elsewhere["code"], elsewhere["path"]) == ("not_found", "workers[2].national_number")
    assert _counts(api) == (3, 3)

    # the same key: the same bytes, nothing written; the same key for another body: refused
    again = api.http.post(url, headers=keyed, json=body)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    other = api.http.post(url, headers=keyed, json={**body, "workers": workers[:1]})
    assert_problem(other, 422, "idempotency_key_reused")
    assert _counts(api) == (3, 3)

    # the same new key sent four times at once: one is processed, the others get its answer
    concurrent = {
        "training": training_content(title="First aid"),
        "workers": [{"national_number": w.worker_a, "record_id": "g3/0"}],
    }
    keyed_again = {**headers, "Idempotency-Key": "group-3"}

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=api.base, timeout=30) as http:
            return http.post(url, headers=keyed_again, json=concurrent)

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(post, range(4)))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" in r.headers for r in responses) == 3
    assert _counts(api) == (4, 4)

    # no key, the same record ids: unchanged; a record id reused for other content: rejected
    replay = _create(api, w.a, headers, **body)
    assert [i["status"] for i in replay["items"]] == [
        "unchanged",
        "rejected",
        "rejected",
        "unchanged",
        "unchanged",
    ]
    assert [i["training_id"] for i in replay["items"]] == [
        i["training_id"] for i in result["items"]
    ]
    assert _counts(api) == (4, 4)
    changed = _create(
        api,
        w.a,
        headers,
        items=[{**training_content(title="Other"), "national_number": a1, "record_id": "g1/3"}],
    )
    assert changed["items"][0]["error"]["code"] == "duplicate_record"
    assert changed["items"][0]["error"]["path"] == "items[0].record_id"
    assert _counts(api) == (4, 4)

    # content errors point into the shared training; individual items into their own record
    invalid = _create(
        api,
        w.a,
        headers,
        training=training_content(end_date="2024-03-01"),
        workers=[{"national_number": w.worker_a, "record_id": "g2/0"}],
    )
    assert invalid["items"][0]["error"]["path"] == "training.end_date"
    items = _create(
        api,
        w.a,
        headers,
        items=[
            {**training_content(), "national_number": a1, "record_id": "i/1"},
            {**training_content(duration="0"), "national_number": a2, "record_id": "i/2"},
        ],
    )
    assert [i["status"] for i in items["items"]] == ["accepted", "rejected"]
    assert items["items"][1]["error"]["path"] == "items[1].duration"
    both = {"training": training_content(), "workers": workers[:1], "items": []}
    assert_problem(api.http.post(url, headers=headers, json=both), 422, "request_invalid")


def test_read_rectify_cancel_and_history(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    created = _create(
        api,
        w.a,
        headers,
        items=[{**training_content(), "national_number": w.worker_a, "record_id": "r1"}],
    )
    training_id = created["items"][0]["training_id"]
    url = f"/api/v1/employers/{w.a}/trainings/{training_id}"

    read = api.http.get(url, headers=headers)
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == '"1"'
    body = read.json()
    assert (body["national_number"], body["record_id"], body["source"]) == (
        w.worker_a,
        "r1",
        "employer",
    )
    assert (body["duration_minutes"], body["to_verify"], body["cancelled"]) == (480, False, False)

    change = {**training_content(end_date="2024-03-06", duration="1", duration_unit="days")}
    change["reason"] = "one more day"
    missing = api.http.put(url, headers=headers, json=change)
    assert_problem(missing, 428, "precondition_required")
    ok = api.http.put(url, headers={**headers, "If-Match": '"1"'}, json=change)
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"'
    assert (ok.json()["version"], ok.json()["duration_minutes"]) == (2, 456)
    stale = api.http.put(url, headers={**headers, "If-Match": 'W/"1"'}, json=change)
    problem = assert_problem(stale, 412, "stale_version")
    assert problem["details"] == {"current_version": 2}
    assert_problem(
        api.http.put(url, headers={**headers, "If-Match": '"2"'}, json={**change, "reason": ""}),
        422,
        "request_invalid",
    )

    cancel_url = f"{url}/cancel"
    assert_problem(
        api.http.post(
            cancel_url, headers={**headers, "If-Match": '"1"'}, json={"reason": "no show"}
        ),
        412,
        "stale_version",
    )
    cancelled = api.http.post(cancel_url, headers=headers, json={"reason": "no show"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["cancelled"], cancelled.json()["version"]) == (True, 3)
    again = api.http.post(cancel_url, headers=headers, json={"reason": "no show"})
    assert_problem(again, 409, "already_cancelled")

    versions = api.http.get(f"{url}/history", headers=headers).json()["versions"]
    assert [(v["version"], v["operation"]) for v in versions] == [
        (1, "create"),
        (2, "rectify"),
        (3, "cancel"),
    ]
    assert versions[0]["end_date"] == "2024-03-05"
    assert versions[0]["superseded_at"] is not None
    assert versions[1]["reason"] == "one more day"
    assert versions[2]["superseded_at"] is None

    # B's client, and A's client on an id it does not have, get the same answer
    other = api.auth(api.register(w.b))
    probe = {"X-Request-ID": "same"}
    b_url = f"/api/v1/employers/{w.b}/trainings/{training_id}"
    foreign = api.http.get(b_url, headers={**other, **probe})
    unknown = api.http.get(
        f"/api/v1/employers/{w.b}/trainings/{training_id + 1000}", headers={**other, **probe}
    )
    assert_problem(foreign, 404, "not_found")
    assert foreign.content == unknown.content
    for path in ("/history", "/cancel"):
        method = "POST" if path == "/cancel" else "GET"
        json = {"reason": "x"} if method == "POST" else None
        assert_problem(
            api.http.request(method, b_url + path, headers=other, json=json), 404, "not_found"
        )
    assert_problem(
        api.http.put(b_url, headers={**other, "If-Match": '"3"'}, json=change), 404, "not_found"
    )


def test_list_with_filters_and_pagination(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    a1, a2 = _workers(api, w, 3)[1:]
    items = [
        {
            **training_content(
                start_date=f"2024-0{i + 1}-01",
                end_date=f"2024-0{i + 1}-02",
                nature="informal" if i % 2 else "formal_internal",
                status="planned" if i == 6 else "followed",
                counts_toward_right=i != 5,
                not_counting_reason="vov" if i == 5 else None,
            ),
            "national_number": (w.worker_a, a1, a2)[i % 3],
            "record_id": f"l{i}",
        }
        for i in range(7)
    ]
    created = _create(api, w.a, headers, items=items)
    assert created["accepted"] == 7, created
    ids = [i["training_id"] for i in created["items"]]
    b_headers = api.auth(api.register(w.b))
    b_niss = builders.person(api.container, 30)
    builders.employ(api.container, b_niss, w.b)
    _create(
        api,
        w.b,
        b_headers,
        items=[{**training_content(), "national_number": b_niss, "record_id": "l0"}],
    )
    url = f"/api/v1/employers/{w.a}/trainings"

    def listed(**params: Any) -> list[int]:
        response = api.http.get(url, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.http.get(url, headers=headers, params=params).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (ids, 3)
    assert listed() == ids
    assert listed(national_number=a1) == [ids[1], ids[4]]
    assert listed(national_number=b_niss) == []
    assert listed(**{"from": "2024-03-02", "to": "2024-04-30"}) == ids[2:4]
    assert listed(nature="informal") == ids[1::2]
    assert listed(status="planned") == [ids[6]]
    assert listed(counts_toward_right="false") == [ids[5]]
    assert listed(to_verify="true") == []
    assert listed(to_verify="false", limit=2) == ids[:2]
    api.http.post(f"{url}/{ids[0]}/cancel", headers=headers, json={"reason": "x"})
    assert listed() == ids[1:]
    assert listed(include_cancelled="true") == ids
    assert_problem(
        api.http.get(url, headers=headers, params={"cursor": "nonsense"}), 422, "invalid_cursor"
    )
    assert_problem(
        api.http.get(url, headers=headers, params={"limit": 501}), 422, "request_invalid"
    )
    assert_problem(
        api.http.get(url, headers=headers, params={"status": "done"}), 422, "request_invalid"
    )


def test_training_provider_records_are_to_verify(api: Api) -> None:
    w = make_world(api.container)
    employer = api.auth(api.register(w.a))
    trainer = api.auth(api.register(w.trainer))
    record = {
        **training_content(status="planned"),
        "national_number": w.worker_a,
        "record_id": "p1",
    }
    sent = _create(api, w.a, trainer, items=[record])
    assert sent["accepted"] == 1, sent
    training_id = sent["items"][0]["training_id"]

    refused = _create(
        api,
        w.a,
        trainer,
        items=[{**record, "status": "not_followed", "record_id": "p2"}],
    )
    error = refused["items"][0]["error"]
    assert (error["code"], error["path"]) == ("status_not_allowed", "items[0].status")

    # B never mandated the training provider: the same answer as an unknown employer
    probe = {"X-Request-ID": "same"}
    body = {"items": [record]}
    for_b = api.http.post(
        f"/api/v1/employers/{w.b}/trainings", headers={**trainer, **probe}, json=body
    )
    unknown = api.http.post(
        f"/api/v1/employers/{w.unknown}/trainings", headers={**trainer, **probe}, json=body
    )
    assert_problem(for_b, 404, "not_found")
    assert for_b.content == unknown.content
    # nor may it read, rectify, cancel or verify
    url = f"/api/v1/employers/{w.a}/trainings/{training_id}"
    assert_problem(api.http.get(url, headers=trainer), 404, "not_found")
    assert_problem(api.http.post(f"{url}/verify", headers=trainer), 404, "not_found")
    assert_problem(
        api.http.post(f"{url}/cancel", headers=trainer, json={"reason": "x"}), 404, "not_found"
    )
    assert _counts(api) == (1, 1)

    listed = api.http.get(
        f"/api/v1/employers/{w.a}/trainings", headers=employer, params={"to_verify": "true"}
    ).json()["items"]
    assert [(i["id"], i["source"], i["sender"], i["to_verify"]) for i in listed] == [
        (training_id, "provider", w.trainer, True)
    ]
    verified = api.http.post(f"{url}/verify", headers=employer)
    assert verified.status_code == 200, verified.text
    assert verified.json()["to_verify"] is False
    assert verified.json()["verified_by"].endswith(f"@{w.a}")
    assert api.http.post(f"{url}/verify", headers=employer).json() == verified.json()
    assert api.http.get(url, headers=employer).json()["verified_at"] is not None
    left = api.http.get(
        f"/api/v1/employers/{w.a}/trainings", headers=employer, params={"to_verify": "true"}
    )
    assert left.json()["items"] == []

    # the secretariat verifies too; a record of the employer's side has nothing to verify
    own = _create(
        api,
        w.a,
        employer,
        items=[{**record, "status": "not_followed", "record_id": "e1"}],
    )
    secretariat = api.auth(api.register(w.provider))
    own_url = f"/api/v1/employers/{w.a}/trainings/{own['items'][0]['training_id']}"
    assert_problem(
        api.http.post(f"{own_url}/verify", headers=secretariat), 409, "nothing_to_verify"
    )
