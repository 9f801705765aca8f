"""The audit trail over HTTP (SQLite and PostgreSQL): a read of personal data writes one row per
person with the response's request id; a bulk write, one per person actually changed; refused
or failed requests write none (the audit shares the request's transaction); an idempotent
replay writes none; and ``consultations_of`` gives a person who read or changed their data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from ila.access.audit import record_personal_data_access
from ila.access.domain import Acting, Caller
from ila.api.transaction import request_transaction
from ila.audit.models import AuditEvent
from ila.audit.service import consultations_of
from ila.errors import ValidationError
from tests import builders
from tests.api.conftest import Api, World, assert_problem, make_world, training_content


def _events(api: Api) -> list[dict[str, Any]]:
    with api.container.uow() as uow:
        return [
            {
                "occurred_at": e.occurred_at,
                "actor": e.actor,
                "organisation": e.organisation,
                "on_behalf_of": e.on_behalf_of,
                "action": e.action,
                "resource": e.resource,
                "subject": e.subject_national_number,
                "request_id": e.request_id,
                "legal_context": e.legal_context,
                "details": e.details,
            }
            for e in uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def _count(api: Api) -> int:
    with api.container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _more_workers(api: Api, w: World, n: int) -> list[str]:
    workers = []
    for serial in range(20, 20 + n):
        niss = builders.person(api.container, serial)
        builders.employ(api.container, niss, w.a, start=date(2024, 1, 1))
        workers.append(niss)
    return workers


def test_a_read_writes_one_row_with_the_request_id(api: Api) -> None:
    w = make_world(api.container)
    provider = api.register(w.provider)
    headers = api.auth(provider)
    url = f"/api/v1/employers/{w.a}/workers/{w.worker_a}/rights/2024"
    before = datetime.now(UTC)
    response = api.http.get(url, headers={**headers, "X-Request-ID": "audit-read-1"})
    assert response.status_code == 200, response.text
    [event] = _events(api)
    assert before <= event["occurred_at"] <= datetime.now(UTC)
    assert event["occurred_at"].tzinfo is not None
    mandate_id = event["details"].pop("mandate_id")
    assert isinstance(mandate_id, int)
    assert event == {
        "occurred_at": event["occurred_at"],
        "actor": provider.client_id,
        "organisation": w.provider,
        "on_behalf_of": w.a,
        "action": "read",
        "resource": "right",
        "subject": w.worker_a,
        "request_id": "audit-read-1",
        "legal_context": None,
        "details": {"year": 2024},
    }

    # the employer's own client, with a request id the server generated
    own = api.auth(api.register(w.a))
    mine = api.http.get(
        f"/api/v1/employers/{w.a}/workers/{w.worker_a}/account",
        params={"year": 2024},
        headers=own,
    )
    assert mine.status_code == 200, mine.text
    last = _events(api)[-1]
    assert (last["organisation"], last["on_behalf_of"]) == (w.a, w.a)
    assert (last["action"], last["resource"], last["subject"]) == ("read", "account", w.worker_a)
    assert last["request_id"] == mine.headers["x-request-id"]
    assert "mandate_id" not in last["details"]


def test_refused_and_failed_requests_write_nothing(api: Api) -> None:
    w = make_world(api.container)
    own = api.register(w.a)
    headers = api.auth(own)
    url = f"/api/v1/employers/{w.a}/workers/{w.worker_a}/rights/2024"
    no_scope = api.auth(own, "employer:workers:read")
    assert_problem(api.http.get(url, headers=no_scope), 403, "insufficient_scope")
    assert_problem(api.http.get(url.replace(w.worker_a, w.worker_b), headers=headers), 404)
    assert_problem(api.http.get(url.replace(w.a, w.b), headers=headers), 404)
    assert_problem(api.http.get(url.replace(w.worker_a, "12345678901"), headers=headers), 422)
    expired = api.auth(api.register(w.expired))
    assert_problem(api.http.get(url, headers=expired), 404)
    stale = api.http.put(
        f"/api/v1/employers/{w.a}/trainings/999",
        headers={**headers, "If-Match": '"1"'},
        json={"reason": "x"},
    )
    assert stale.status_code in (404, 422), stale.text
    assert _count(api) == 0

    # the audit row shares the transaction of the request: if it rolls back, so does the row
    caller = Caller(1, "client", w.a, frozenset())
    acting = Acting(1, w.a, None, frozenset())

    def doomed() -> None:
        with request_transaction(api.container) as tx:
            record_personal_data_access(
                tx.session,
                caller=caller,
                acting=acting,
                action="rights.write",
                subjects={"national_numbers": [w.worker_a], "year": 2024},
                request_id="doomed",
            )
            raise RuntimeError("the write fails after its audit")

    with pytest.raises(RuntimeError):
        doomed()
    assert _count(api) == 0


def test_a_bulk_write_records_each_person_changed(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    a1, a2 = _more_workers(api, w, 2)
    url = f"/api/v1/employers/{w.a}/rights"
    items: list[dict[str, Any]] = [
        {"national_number": w.worker_a, "days": "3", "reason": "policy"},
        {"national_number": "12345678901", "days": "2", "reason": "typo"},
        {"national_number": w.worker_b, "days": "2", "reason": "not ours"},
        {"national_number": a1, "days": "2", "reason": "policy"},
        {"national_number": a2, "days": 400, "reason": "too much"},
    ]
    response = api.http.post(url, headers=headers, json={"year": 2024, "items": items})
    assert response.json()["accepted"] == 2, response.text
    events = _events(api)
    assert [(e["action"], e["resource"], e["subject"]) for e in events] == [
        ("set", "right", w.worker_a),
        ("set", "right", a1),
    ]
    assert {e["request_id"] for e in events} == {response.headers["x-request-id"]}
    assert events[0]["details"] == {"year": 2024, "listed": 2}

    # an unchanged item changes nothing, so it records nothing
    again = api.http.post(url, headers=headers, json={"year": 2024, "items": items[:1]})
    assert again.json()["unchanged"] == 1
    assert _count(api) == 2

    # trainings: only the workers a training was created for
    trainings = api.http.post(
        f"/api/v1/employers/{w.a}/trainings",
        headers=headers,
        json={
            "training": training_content(),
            "workers": [
                {"national_number": a2, "record_id": "t/0"},
                {"national_number": w.worker_b, "record_id": "t/1"},
            ],
        },
    )
    assert trainings.json()["accepted"] == 1, trainings.text
    last = _events(api)[2:]
    assert [(e["action"], e["resource"], e["subject"]) for e in last] == [
        ("create", "training", a2)
    ]


def test_an_idempotent_replay_records_nothing_more(api: Api) -> None:
    """A replay sends back the stored answer of the first request, whose rows already record
    the change: no data is read or written again, so no row is added (nor for a refused key)."""
    w = make_world(api.container)
    headers = {**api.auth(api.register(w.a)), "Idempotency-Key": "audit-1"}
    url = f"/api/v1/employers/{w.a}/rights"
    payload = {
        "year": 2024,
        "items": [{"national_number": w.worker_a, "days": "3", "reason": "policy"}],
    }
    first = api.http.post(url, headers=headers, json=payload)
    assert first.status_code == 200, first.text
    assert _count(api) == 1
    replay = api.http.post(url, headers=headers, json=payload)
    assert replay.headers["idempotent-replayed"] == "true"
    reused = {**payload, "items": [{**payload["items"][0], "days": "4"}]}  # type: ignore[dict-item]
    assert_problem(api.http.post(url, headers=headers, json=reused), 422, "idempotency_key_reused")
    assert _count(api) == 1
    assert _events(api)[0]["request_id"] == first.headers["x-request-id"]


def test_lists_record_each_person_shown(api: Api) -> None:
    w = make_world(api.container)
    headers = api.auth(api.register(w.a))
    extra = _more_workers(api, w, 2)
    workers = api.http.get(
        f"/api/v1/employers/{w.a}/workers", params={"year": 2024}, headers=headers
    )
    assert workers.status_code == 200, workers.text
    shown = [i["national_number"] for i in workers.json()["items"]]
    assert sorted(shown) == sorted([w.worker_a, *extra])
    events = _events(api)
    assert [e["subject"] for e in events] == shown
    assert {(e["action"], e["resource"]) for e in events} == {("list", "workers")}
    assert events[0]["details"] == {"year": 2024, "listed": 3}

    # a page that shows nobody reads no personal data
    empty = api.http.get(f"/api/v1/employers/{w.a}/workers", params={"year": 2023}, headers=headers)
    assert empty.status_code == 200
    assert empty.json()["items"] == []
    assert _count(api) == 3

    dashboard = api.http.get(
        f"/api/v1/employers/{w.a}/dashboard",
        params={"year": 2024, "workers_limit": 2},
        headers=headers,
    )
    assert dashboard.status_code == 200, dashboard.text
    body = dashboard.json()
    named = {r["national_number"] for r in body["by_worker"] + body["without_training"]}
    events = _events(api)[3:]
    assert {e["subject"] for e in events} == named
    assert len(events) == len(named)
    assert {(e["action"], e["resource"]) for e in events} == {("read", "dashboard")}


def test_who_consulted_a_persons_data(api: Api) -> None:
    w = make_world(api.container)
    own = api.register(w.a)
    provider = api.register(w.provider)
    own_headers, provider_headers = api.auth(own), api.auth(provider)
    rights = f"/api/v1/employers/{w.a}/workers/{w.worker_a}/rights/2024"
    set_response = api.http.post(
        f"/api/v1/employers/{w.a}/rights",
        headers=own_headers,
        json={
            "year": 2024,
            "items": [{"national_number": w.worker_a, "days": "3", "reason": "policy"}],
        },
    )
    assert set_response.status_code == 200
    assert api.http.get(rights, headers=provider_headers).status_code == 200
    assert api.http.get(rights, headers=own_headers).status_code == 200
    other = api.http.get(
        f"/api/v1/employers/{w.b}/workers/{w.worker_b}/rights/2024",
        headers=api.auth(api.register(w.b)),
    )
    assert other.status_code == 200

    with api.container.uow() as uow:
        first = consultations_of(uow.session, w.worker_a, limit=2)
        assert first.next_cursor is not None
        rest = consultations_of(uow.session, w.worker_a, limit=2, cursor=first.next_cursor)
        everything = consultations_of(uow.session, w.worker_a)
        nobody = consultations_of(uow.session, builders.fake_niss(99))
        with pytest.raises(ValidationError):
            consultations_of(uow.session, w.worker_a, cursor="nonsense")
        with pytest.raises(ValidationError):
            consultations_of(uow.session, w.worker_a, limit=0)
    assert rest.next_cursor is None
    assert first.items + rest.items == everything.items
    assert [(c.organisation, c.on_behalf_of, c.action, c.resource) for c in everything.items] == [
        (w.a, w.a, "read", "right"),  # newest first
        (w.provider, w.a, "read", "right"),
        (w.a, w.a, "set", "right"),
    ]
    assert everything.items[1].actor == provider.client_id
    assert everything.items[2].request_id == set_response.headers["x-request-id"]
    times = [c.occurred_at for c in everything.items]
    assert times == sorted(times, reverse=True)
    assert nobody.items == []
    assert nobody.next_cursor is None
