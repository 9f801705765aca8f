"""The employer's review over HTTP: verify computed rights (per item, idempotent), opt out of
the computation and withdraw, and the year's review summary."""

from __future__ import annotations

from sqlalchemy import func, select

from ila.rights.models import RightOptOut, RightVerification
from ila.rights.service import compute_year
from tests import builders
from tests.api.conftest import Api, assert_problem, make_world


def _count(api: Api, model: type[RightOptOut] | type[RightVerification]) -> int:
    with api.container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_verify_rights_per_item_and_idempotent(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    compute_year(api.container, 2024)
    url = f"/api/v1/employers/{w.a}/rights/2024/verifications"
    body = {
        "items": [
            {"national_number": w.worker_a},
            {"national_number": w.worker_b},  # B's worker: not found, like an unknown person
            {"national_number": "12345678901"},
        ]
    }
    keyed = {**headers, "Idempotency-Key": "verify-1"}
    first = api.http.post(url, headers=keyed, json=body)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["accepted"], answer["unchanged"], answer["rejected"]) == (1, 0, 2)
    assert [i["status"] for i in answer["items"]] == ["accepted", "rejected", "rejected"]
    assert answer["items"][1]["error"]["code"] == "not_found"
    assert answer["items"][2]["error"]["code"] == "invalid_national_number"
    assert answer["items"][2]["error"]["path"] == "items[2].national_number"

    replay = api.http.post(url, headers=keyed, json=body)
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert _count(api, RightVerification) == 1

    again = api.http.post(url, headers=headers, json={"all_workers": True})
    assert [i["status"] for i in again.json()["items"]] == ["unchanged"]
    both = api.http.post(url, headers=headers, json={**body, "all_workers": True})
    assert_problem(both, 422, "invalid_request")
    neither = api.http.post(url, headers=headers, json={})
    assert_problem(neither, 422, "invalid_request")

    review = api.http.get(f"/api/v1/employers/{w.a}/rights/2024/review", headers=headers)
    assert review.status_code == 200, review.text
    summary = review.json()
    assert (summary["verified"], summary["to_verify"], summary["opted_out"]) == (1, 0, 0)
    right = api.http.get(
        f"/api/v1/employers/{w.a}/workers/{w.worker_a}/rights/2024", headers=headers
    ).json()
    assert right["review"]["status"] == "verified"
    assert right["review"]["version"] == 1


def test_opt_out_and_withdraw(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    url = f"/api/v1/employers/{w.a}/rights/2025/opt-outs"
    created = api.http.post(
        url, headers=headers, json={"national_number": w.worker_a, "reason": "own accounts"}
    )
    assert created.status_code == 201, created.text
    view = created.json()
    assert (view["scope"], view["national_number"], view["withdrawn_at"]) == (
        "worker",
        w.worker_a,
        None,
    )
    duplicate = api.http.post(
        url, headers=headers, json={"national_number": w.worker_a, "reason": "again"}
    )
    assert_problem(duplicate, 409, "already_opted_out")
    outsider = api.http.post(
        url, headers=headers, json={"national_number": w.worker_b, "reason": "not mine"}
    )
    nobody = api.http.post(
        url,
        headers=headers,
        json={"national_number": builders.fake_niss(60), "reason": "not mine"},
    )
    assert_problem(outsider, 404, "not_found")
    assert outsider.json()["detail"] == nobody.json()["detail"]
    assert_problem(api.http.post(url, headers=headers, json={"reason": ""}), 422)
    assert _count(api, RightOptOut) == 1

    report = compute_year(api.container, 2025)
    assert report.opted_out == 1

    withdraw = f"{url}/{view['id']}/withdraw"
    done = api.http.post(withdraw, headers=headers, json={"reason": "back to the platform"})
    assert done.status_code == 200, done.text
    assert done.json()["withdraw_reason"] == "back to the platform"
    assert_problem(
        api.http.post(withdraw, headers=headers, json={"reason": "twice"}), 409, "already_withdrawn"
    )
    wrong_year = withdraw.replace("/2025/", "/2024/")
    assert_problem(api.http.post(wrong_year, headers=headers, json={"reason": "x"}), 404)

    summary = api.http.get(f"/api/v1/employers/{w.a}/rights/2025/review", headers=headers).json()
    assert [o["id"] for o in summary["opt_outs"]] == [view["id"]]
    assert summary["company_opted_out"] is False
