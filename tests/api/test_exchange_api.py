"""The exchange API over real HTTP (SQLite and PostgreSQL), one scenario per authorisation
exposed by the API: an allowed party with a directory entry and a valid legal context gets only
the items the authorisation allows; each missing condition is refused with its own code, is
logged (with the legal context and the request id) and leaks nothing; regional trainings are
recorded per record with their source and appear in the person's account; the directory API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from ila.access.domain import Scope
from ila.audit.models import AuditEvent
from ila.exchange.service import AUTHORISATIONS_FILE, load_authorisations
from ila.trainings.domain import DurationUnit, Nature, Source, Status, TrainingData
from ila.trainings.models import Training
from ila.trainings.service import record_training
from tests import builders
from tests.api.conftest import Api, assert_problem, training_content

VDAB, FOREM, ACTIRIS, SIGEDIS, ONEM = (
    "0999200166",
    "0999200265",
    "0999200364",
    "0999200760",
    "0999200661",
)
SCOPES = (
    Scope.INSTITUTION_ACCOUNT_READ,
    Scope.INSTITUTION_TRAININGS_WRITE,
    Scope.INSTITUTION_DIRECTORY_READ,
    Scope.INSTITUTION_DIRECTORY_WRITE,
)
GUIDANCE = {"ILA-Legal-Context": "ila-guidance-consultation", "ILA-Role": "guidance_counsellor"}
SENDING = {"ILA-Legal-Context": "ila-regional-trainings", "ILA-Role": "training_registrar"}
SECRET_TITLE = "Confidential in-company coaching"
SECRET_CERTIFICATE = "Certificate 4711"


@dataclass(frozen=True)
class Setup:
    worker: str  # employed, with an employer's training and a certificate
    employer: str
    stranger: str  # known to the platform, in no directory
    headers: dict[str, dict[str, str]]  # organisation → Authorization header


def _setup(api: Api) -> Setup:
    load_authorisations(api.container.uow(), actor="test")
    employer = builders.employer(api.container, 1)
    worker = builders.person(api.container, 1)
    stranger = builders.person(api.container, 2)
    builders.employ(api.container, worker, employer, start=date(2024, 1, 1))
    record_training(
        api.container.uow(),
        actor="test",
        source=Source.EMPLOYER,
        sender=employer,
        sender_record_id="E-1",
        national_number=worker,
        enterprise_number=employer,
        data=TrainingData(
            title=SECRET_TITLE,
            provider=None,
            start_date=date(2026, 3, 2),
            end_date=date(2026, 3, 3),
            duration_value=8,  # type: ignore[arg-type]
            duration_unit=DurationUnit.HOURS,
            nature=Nature.FORMAL_INTERNAL,
            status=Status.FOLLOWED,
            certificate=SECRET_CERTIFICATE,
        ),
    )
    headers = {org: api.auth(api.register(org, SCOPES)) for org in (VDAB, FOREM, SIGEDIS, ONEM)}
    headers[employer] = api.auth(api.register(employer, SCOPES))
    for org, capacity in ((VDAB, "jobseeker_guidance"), (FOREM, "trainee")):
        response = api.http.post(
            f"/api/v1/institutions/{org}/directory",
            headers=headers[org],
            json={"national_number": worker, "capacity": capacity, "valid_from": "2026-01-01"},
        )
        assert response.status_code == 201, response.text
    return Setup(worker, employer, stranger, headers)


def _refusals(api: Api) -> list[AuditEvent]:
    with api.container.uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "refused").order_by(AuditEvent.id)
            )
        )


def _account(api: Api, s: Setup, org: str, niss: str, extra: dict[str, str], probe: str) -> Any:
    return api.http.get(
        f"/api/v1/institutions/{org}/persons/{niss}/account?year=2026",
        headers={**s.headers[org], **extra, "X-Request-ID": probe},
    )


def test_guidance_consultation_returns_only_the_allowed_items(api: Api) -> None:
    s = _setup(api)
    response = _account(api, s, VDAB, s.worker, GUIDANCE, "guide-1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"authorisation", "person", "year", "as_of", "totals", "trainings"}
    assert "employers" not in body  # absent, not blank
    assert body["authorisation"] == {
        "id": "ila-guidance-consultation",
        "version": 1,
        "items": ["person.name", "rights.totals", "trainings", "trainings.certificates"],
    }
    assert body["person"] == {"national_number": s.worker, "name": "Test Person 1"}
    (training,) = body["trainings"]
    assert training["title"] == SECRET_TITLE
    assert training["certificate"] == SECRET_CERTIFICATE
    with api.container.uow() as uow:
        (event,) = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == "guide-1")
        ).all()
    assert (event.action, event.resource, event.subject_national_number) == (
        "exchange_read",
        "account",
        s.worker,
    )
    assert event.legal_context == "ila-guidance-consultation"
    assert event.organisation == VDAB
    assert event.details["role"] == "guidance_counsellor"


def test_fewer_items_means_fewer_keys(api: Api) -> None:
    s = _setup(api)
    narrower = (
        AUTHORISATIONS_FILE.read_text("utf-8")
        .replace(
            "[authorisations.ila-guidance-consultation]\nversion = 1",
            "[authorisations.ila-guidance-consultation]\nversion = 2",
        )
        .replace(
            'items = ["person.name", "rights.totals", "trainings", "trainings.certificates"]',
            'items = ["trainings"]',
        )
    )
    load_authorisations(api.container.uow(), actor="test", text=narrower)
    body = _account(api, s, VDAB, s.worker, GUIDANCE, "narrow").json()
    assert set(body) == {"authorisation", "person", "year", "as_of", "trainings"}
    assert body["person"] == {"national_number": s.worker}
    assert "certificate" not in body["trainings"][0]
    assert "certificate_valid_until" not in body["trainings"][0]
    assert SECRET_CERTIFICATE not in _account(api, s, VDAB, s.worker, GUIDANCE, "n2").text


@pytest.mark.parametrize(
    ("code", "org", "who", "extra"),
    [
        ("legal_context_required", VDAB, "worker", {"ILA-Role": "guidance_counsellor"}),
        ("unknown_legal_context", VDAB, "worker", {**GUIDANCE, "ILA-Legal-Context": "nope"}),
        ("purpose_not_authorised", VDAB, "worker", {**GUIDANCE, **SENDING}),
        ("party_not_authorised", SIGEDIS, "worker", GUIDANCE),
        ("party_not_authorised", ONEM, "worker", GUIDANCE),
        ("party_not_authorised", "employer", "worker", GUIDANCE),
        ("role_not_authorised", VDAB, "worker", {**GUIDANCE, "ILA-Role": "janitor"}),
        ("role_not_authorised", VDAB, "worker", {"ILA-Legal-Context": "ila-guidance-consultation"}),
        ("no_directory_entry", VDAB, "stranger", GUIDANCE),
        ("no_directory_entry", VDAB, "unknown", GUIDANCE),
        # Le Forem is registered for the worker, but as a trainee: not a guidance capacity
        ("no_directory_entry", FOREM, "worker", GUIDANCE),
    ],
)
def test_each_missing_condition_is_refused_logged_and_leaks_nothing(
    api: Api, code: str, org: str, who: str, extra: dict[str, str]
) -> None:
    s = _setup(api)
    org = s.employer if org == "employer" else org
    niss = {"worker": s.worker, "stranger": s.stranger, "unknown": builders.fake_niss(50)}[who]
    response = _account(api, s, org, niss, extra, f"refused-{code}")
    body = assert_problem(response, 403, code)
    for secret in (SECRET_TITLE, SECRET_CERTIFICATE, "Test Person"):
        assert secret not in response.text
    assert set(body) <= {
        "type",
        "title",
        "status",
        "detail",
        "code",
        "instance",
        "request_id",
        "field",
        "details",
    }
    (event,) = _refusals(api)
    assert event.request_id == f"refused-{code}"
    assert event.details["refused"] == code
    assert event.details["operation"] == "account.read"
    assert event.subject_national_number == niss
    assert event.organisation == org
    assert event.legal_context == extra.get("ILA-Legal-Context")


def test_an_expired_authorisation_is_refused_and_logged(api: Api) -> None:
    s = _setup(api)
    ended = AUTHORISATIONS_FILE.read_text("utf-8").replace(
        "[authorisations.ila-guidance-consultation]\nversion = 1",
        "[authorisations.ila-guidance-consultation]\nversion = 2\nvalid_to = 2026-04-30",
    )
    load_authorisations(api.container.uow(), actor="test", text=ended)
    assert_problem(_account(api, s, VDAB, s.worker, GUIDANCE, "late"), 403, "authorisation_expired")
    (event,) = _refusals(api)
    assert event.details["refused"] == "authorisation_expired"


def test_an_unregistered_entry_stops_covering(api: Api) -> None:
    s = _setup(api)
    listed = api.http.get(f"/api/v1/institutions/{VDAB}/directory", headers=s.headers[VDAB]).json()
    (entry,) = listed["items"]
    ended = api.http.post(
        f"/api/v1/institutions/{VDAB}/directory/{entry['id']}/unregister",
        headers=s.headers[VDAB],
        json={"end_date": "2026-01-31"},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "unregistered"
    assert ended.json()["valid_to"] == "2026-01-31"
    assert_problem(_account(api, s, VDAB, s.worker, GUIDANCE, "gone"), 403, "no_directory_entry")
    again = api.http.post(
        f"/api/v1/institutions/{VDAB}/directory/{entry['id']}/unregister",
        headers=s.headers[VDAB],
        json={},
    )
    assert_problem(again, 409, "already_unregistered")


def test_a_bad_national_number_is_a_422_before_any_check(api: Api) -> None:
    s = _setup(api)
    assert_problem(
        _account(api, s, VDAB, "85073003329", GUIDANCE, "bad"), 422, "invalid_national_number"
    )
    assert _refusals(api) == []


# --- inbound -----------------------------------------------------------------------------------


def _send(api: Api, s: Setup, items: list[dict[str, Any]], extra: dict[str, str]) -> Any:
    return api.http.post(
        f"/api/v1/institutions/{FOREM}/trainings",
        headers={**s.headers[FOREM], **extra},
        json={"items": items},
    )


def _item(niss: str, record_id: str, **changes: Any) -> dict[str, Any]:
    content = {
        "start_date": "2026-04-01",
        "end_date": "2026-04-30",
        "duration": "120",
        "certificate": "Welder (regional)",
        "counts_toward_right": False,
        "not_counting_reason": "outside_professional_context",
        **changes,
    }
    return {**training_content(**content), "national_number": niss, "record_id": record_id}


def test_regional_trainings_per_record_idempotent_and_in_the_account(api: Api) -> None:
    s = _setup(api)
    items = [
        _item(s.worker, "FOREM-1"),
        _item(s.stranger, "FOREM-2"),  # no directory entry
        _item(s.worker, "FOREM-3", end_date="2026-03-01"),  # invalid: ends before it starts
    ]
    response = _send(api, s, items, SENDING)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["unchanged"], body["rejected"]) == (1, 0, 2)
    assert [i["status"] for i in body["items"]] == ["accepted", "rejected", "rejected"]
    assert body["items"][1]["error"]["code"] == "no_directory_entry"
    assert body["items"][1]["error"]["path"] == "items[1].national_number"
    assert body["items"][2]["error"]["code"] == "invalid_period"
    (refusal,) = _refusals(api)
    assert (refusal.subject_national_number, refusal.legal_context) == (
        s.stranger,
        "ila-regional-trainings",
    )
    again = _send(api, s, items[:1], SENDING).json()
    assert [i["status"] for i in again["items"]] == ["unchanged"]
    assert again["items"][0]["training_id"] == body["items"][0]["training_id"]
    changed = _send(api, s, [_item(s.worker, "FOREM-1", title="Other")], SENDING).json()
    assert changed["items"][0]["error"]["code"] == "duplicate_record"
    with api.container.uow() as uow:
        sent = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "exchange_create")
        ).all()
    assert [(e.subject_national_number, e.legal_context) for e in sent] == [
        (s.worker, "ila-regional-trainings")
    ]
    account = _account(api, s, VDAB, s.worker, GUIDANCE, "after").json()
    regional = [t for t in account["trainings"] if t["source"] == "region"]
    assert [(t["title"], t["employer"], t["certificate"]) for t in regional] == [
        ("Forklift safety", None, "Welder (regional)")
    ]


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("legal_context_required", {"ILA-Role": "training_registrar"}),
        ("purpose_not_authorised", GUIDANCE),
        ("role_not_authorised", {**SENDING, "ILA-Role": "guidance_counsellor"}),
    ],
)
def test_a_refused_send_is_refused_whole_and_logged_once(
    api: Api, code: str, extra: dict[str, str]
) -> None:
    s = _setup(api)
    response = _send(api, s, [_item(s.worker, "X-1"), _item(s.worker, "X-2")], extra)
    assert_problem(response, 403, code)
    (refusal,) = _refusals(api)
    assert refusal.subject_national_number is None
    assert refusal.details["operation"] == "trainings.send"
    with api.container.uow() as uow:
        assert "exchange_create" not in uow.session.scalars(select(AuditEvent.action)).all()
        assert uow.session.scalars(select(Training.source)).all() == ["employer"]


def test_a_receiving_party_cannot_send(api: Api) -> None:
    s = _setup(api)
    response = api.http.post(
        f"/api/v1/institutions/{VDAB}/trainings",
        headers={**s.headers[VDAB], **SENDING},
        json={"items": [_item(s.worker, "V-1")]},
    )
    assert response.status_code == 200  # VDAB provides too: a regional service sends
    response = api.http.post(
        f"/api/v1/institutions/{SIGEDIS}/trainings",
        headers={**s.headers[SIGEDIS], **SENDING},
        json={"items": [_item(s.worker, "S-1")]},
    )
    assert_problem(response, 403, "party_not_authorised")


# --- directory -----------------------------------------------------------------------------------


def test_directory_api(api: Api) -> None:
    s = _setup(api)
    url = f"/api/v1/institutions/{ACTIRIS}/directory"
    headers = api.auth(api.register(ACTIRIS, SCOPES))
    body = {"national_number": s.stranger, "capacity": "jobseeker_guidance"}
    first = api.http.post(url, headers=headers, json={**body, "valid_from": "2026-01-01"})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "created"
    same = api.http.post(
        url, headers=headers, json={**body, "valid_from": "2026-02-01", "valid_to": "2026-03-01"}
    )
    assert same.status_code == 200
    assert same.json()["id"] == first.json()["id"]
    overlapping = api.http.post(
        url, headers=headers, json={**body, "capacity": "trainee", "valid_from": "2026-01-01"}
    )
    assert overlapping.status_code == 201
    refused = api.http.post(
        url,
        headers=headers,
        json={**body, "capacity": "trainee", "valid_from": "2025-01-01", "valid_to": "2026-02-01"},
    )
    problem = assert_problem(refused, 409, "overlapping_entry")
    assert problem["details"]["entry_id"] == overlapping.json()["id"]
    assert_problem(
        api.http.post(
            url, headers=headers, json={**body, "capacity": "x", "valid_from": "2026-01-01"}
        ),
        422,
        "unknown_code",
    )
    page = api.http.get(url + "?limit=1", headers=headers).json()
    assert [e["id"] for e in page["items"]] == [first.json()["id"]]
    rest = api.http.get(url, headers=headers, params={"cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in rest["items"]] == [overlapping.json()["id"]]
    assert rest["next_cursor"] is None
    filtered = api.http.get(
        url, headers=headers, params={"national_number": s.worker, "active_on": "2026-05-01"}
    ).json()
    assert filtered["items"] == []
    # another institution's entry is not found, like an unknown one
    other = api.http.post(
        f"/api/v1/institutions/{VDAB}/directory/{first.json()['id']}/unregister",
        headers=s.headers[VDAB],
        json={},
    )
    assert_problem(other, 404, "not_found")
    # an employer keeps no directory
    assert_problem(
        api.http.post(
            f"/api/v1/institutions/{s.employer}/directory",
            headers=s.headers[s.employer],
            json={**body, "valid_from": "2026-01-01"},
        ),
        403,
        "party_not_authorised",
    )
    with api.container.uow() as uow:
        actions = uow.session.scalars(
            select(AuditEvent.action).where(AuditEvent.organisation == ACTIRIS)
        ).all()
    assert sorted(set(actions)) == ["list", "register"]
