"""Read resources over HTTP (SQLite and PostgreSQL): an employer's workers page by page, its
headcount, its dashboard against hand-computed figures, and a worker's account in which an
employer sees its own part only (dataset: tests/integration/test_accounts_service.py)."""

from __future__ import annotations

from tests import builders
from tests.api.conftest import Api, assert_problem
from tests.integration.test_accounts_service import dataset


def test_workers_across_pages(api: Api) -> None:
    d = dataset(api.container)
    headers = api.auth(api.register(d.a))
    url = f"/api/v1/employers/{d.a}/workers"
    first = api.http.get(url, params={"year": 2024, "limit": 2}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [w["national_number"] for w in body["items"]] == [d.p1, d.p2]
    assert body["items"][1]["work_fraction"] == "0.5"
    cursor = body["next_cursor"]
    second = api.http.get(
        url, params={"year": 2024, "limit": 2, "cursor": cursor}, headers=headers
    ).json()
    assert [w["national_number"] for w in second["items"]] == [d.p3]
    assert second["next_cursor"] is None
    everyone = api.http.get(url, params={"year": 2024}, headers=headers).json()
    assert len(everyone["items"]) == 3

    bad = api.http.get(url, params={"year": 2024, "cursor": "xyz"}, headers=headers)
    assert_problem(bad, 422, "invalid_cursor")
    too_many = api.http.get(url, params={"year": 2024, "limit": 501}, headers=headers)
    assert_problem(too_many, 422, "request_invalid")
    assert_problem(api.http.get(url, headers=headers), 422, "request_invalid")  # no year


def test_headcount_and_period_check(api: Api) -> None:
    d = dataset(api.container)
    headers = api.auth(api.register(d.a))
    ok = api.http.get(f"/api/v1/employers/{d.a}/headcount/2024", headers=headers)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["band"], ok.json()["fte"]["value"]) == ("ge20", "40.00")
    assert len(ok.json()["reference_quarters"]) == 4
    odd = api.http.get(f"/api/v1/employers/{d.a}/headcount/2025", headers=headers)
    assert_problem(odd, 422, "invalid_period")


def test_dashboard_figures(api: Api) -> None:
    d = dataset(api.container)
    headers = api.auth(api.register(d.a))
    response = api.http.get(
        f"/api/v1/employers/{d.a}/dashboard", params={"year": 2024}, headers=headers
    )
    assert response.status_code == 200, response.text
    board = response.json()
    assert {k: v["days"] for k, v in board["totals"].items()} == {
        "entitlement": "10.00",
        "carried_in": "0.00",
        "used": "3.00",
        "balance": "7.00",
        "expiring": "0.00",
    }
    assert board["totals"]["used"]["exact"] == "3"
    assert [q["used"]["days"] for q in board["used_per_quarter"]] == [
        "2.00",
        "1.00",
        "0.00",
        "0.00",
    ]
    assert [c["joint_committee"] for c in board["by_joint_committee"]] == ["111", "226"]
    assert [p["national_number"] for p in board["without_training"]] == [d.p3]
    capped = api.http.get(
        f"/api/v1/employers/{d.a}/dashboard",
        params={"year": 2024, "workers_limit": 2},
        headers=headers,
    ).json()
    assert (len(capped["by_worker"]), capped["by_worker_total"]) == (2, 3)
    assert (capped["workers_offset"], capped["next_workers_offset"]) == (0, 2)
    rest = api.http.get(
        f"/api/v1/employers/{d.a}/dashboard",
        params={"year": 2024, "workers_limit": 2, "workers_offset": 2},
        headers=headers,
    ).json()
    assert rest["next_workers_offset"] is None
    paged = [w["national_number"] for w in capped["by_worker"] + rest["by_worker"]]
    assert paged == [w["national_number"] for w in board["by_worker"]]
    assert [p["national_number"] for p in rest["without_training"]] == []
    negative = api.http.get(
        f"/api/v1/employers/{d.a}/dashboard",
        params={"year": 2024, "workers_offset": -1},
        headers=headers,
    )
    assert negative.status_code == 422


def test_each_employer_sees_only_its_part_of_an_account(api: Api) -> None:
    d = dataset(api.container)
    outsider = builders.person(api.container, 14)
    builders.employ(api.container, outsider, d.b)
    for en, balance, titles in ((d.a, "3.00", ["Course A1"]), (d.b, "2.00", ["Course B1"])):
        headers = api.auth(api.register(en))
        response = api.http.get(
            f"/api/v1/employers/{en}/workers/{d.p1}/account",
            params={"year": 2024},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        account = response.json()
        assert [p["employer"]["enterprise_number"] for p in account["employers"]] == [en]
        assert account["employers"][0]["balance"]["days"] == balance
        assert account["totals"]["balance"]["days"] == balance
        assert [t["title"] for t in account["trainings"]] == titles

    # A's client: a worker of B only and an unknown person answer alike
    headers = {**api.auth(api.register(d.a)), "X-Request-ID": "same"}
    url = f"/api/v1/employers/{d.a}/workers/{{}}/account?year=2024"
    elsewhere = api.http.get(url.format(outsider), headers=headers)
    nobody = api.http.get(url.format(builders.fake_niss(40)), headers=headers)
    assert_problem(elsewhere, 404, "not_found")
    assert elsewhere.content == nobody.content
    assert_problem(
        api.http.get(url.format("12345678901"), headers=headers), 422, "invalid_national_number"
    )
