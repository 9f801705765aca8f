"""The counsellor's pages through the ASGI app (SQLite and PostgreSQL): a person's account only
with an open directory entry of the counsellor's service, only the items the guidance
authorisation allows, every view and every refusal in the audit trail with the legal context."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ila.accounts.service import person_account
from ila.audit.models import AuditEvent
from ila.audit.service import consultations_of
from ila.bootstrap import Container
from ila.exchange.demo import FOREM, VDAB
from ila.exchange.directory import register_entry, unregister_entry
from ila.exchange.service import load_authorisations
from ila.trainings.domain import (
    DurationUnit,
    Nature,
    NotCountingReason,
    Source,
    Status,
    TrainingData,
)
from ila.trainings.service import record_training
from ila.web import counsellor
from ila.web.app import create_app
from tests import builders

GUIDANCE = "ila-guidance-consultation"
CERTIFICATE = "Certificate of welding (test)"


def _token(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


def _login(client: TestClient, persona: str) -> str:
    token = _token(client)
    response = client.post("/login/demo", data={"csrf_token": token, "persona": persona})
    assert response.status_code == 303
    return _token(client)


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(
        create_app(container), follow_redirects=False, headers={"accept-language": "en"}
    )


@pytest.fixture
def person(container: Container) -> str:
    """A worker of a test employer with a regional training and its certificate."""
    load_authorisations(container.uow(), actor="test")
    en = builders.employer(container, 1)
    niss = builders.person(container, 1)
    builders.employ(container, niss, en)
    record_training(
        container.uow(),
        actor="test",
        source=Source.REGION,
        sender=FOREM,
        sender_record_id="T-1",
        national_number=niss,
        enterprise_number=None,
        data=TrainingData(
            title="Welding MIG-MAG",
            provider="Le Forem",
            start_date=date(2026, 4, 13),
            end_date=date(2026, 6, 26),
            duration_value=Decimal(280),
            duration_unit=DurationUnit.HOURS,
            nature=Nature.FORMAL_EXTERNAL,
            status=Status.FOLLOWED,
            counts_toward_right=False,
            not_counting_reason=NotCountingReason.OUTSIDE_PROFESSIONAL_CONTEXT,
            certificate=CERTIFICATE,
        ),
    )
    return niss


def _entry(container: Container, niss: str, institution: str = FOREM) -> int:
    entry, _ = register_entry(
        container.uow(),
        institution=institution,
        national_number=niss,
        capacity="training_guidance",
        valid_from=date(2026, 1, 1),
        valid_to=None,
        actor="test",
    )
    return entry.id


def _open(client: TestClient, token: str, niss: str, year: int = 2026) -> str:
    response = client.post(
        "/counsellor/account",
        data={"csrf_token": token, "national_number": niss, "year": str(year)},
    )
    assert response.status_code == 200
    return response.text


def _refusals(container: Container, niss: str) -> list[AuditEvent]:
    with container.uow() as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.resource == "exchange",
                    AuditEvent.action == "refused",
                    AuditEvent.subject_national_number == niss,
                )
            )
        )


def test_without_a_directory_entry_the_counsellor_gets_nothing_and_it_is_logged(
    client: TestClient, container: Container, person: str
) -> None:
    token = _login(client, "counsellor")
    # an entry of another service, and an ended entry of the counsellor's own, do not count
    _entry(container, person, VDAB)
    ended = _entry(container, person)
    unregister_entry(
        container.uow(), institution=FOREM, entry_id=ended, end_date=date(2026, 2, 1), actor="t"
    )
    page = _open(client, token, person)
    assert "No open dossier of your service covers this national number today." in page
    assert "Person 1" not in page
    assert CERTIFICATE not in page
    # an unknown person gets exactly the same page
    unknown = builders.fake_niss(77)
    assert _open(client, token, unknown) == page

    refused = _refusals(container, person)
    assert len(refused) == 1
    assert refused[0].organisation == FOREM
    assert refused[0].actor == "web:demo:demo-counsellor"
    assert refused[0].legal_context == GUIDANCE
    assert refused[0].details["refused"] == "no_directory_entry"
    assert refused[0].details["operation"] == "account.read"
    assert refused[0].details["role"] == "guidance_counsellor"
    assert len(_refusals(container, unknown)) == 1
    with container.uow() as uow:
        reads = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "exchange_read")
        ).all()
    assert reads == []


def test_the_counsellor_sees_only_the_items_allowed_and_the_view_is_recorded(
    client: TestClient, container: Container, person: str
) -> None:
    token = _login(client, "counsellor")
    _entry(container, person)
    page = _open(client, token, person)
    assert "Test Person 1" in page  # person.name
    assert "Welding MIG-MAG" in page  # trainings
    assert CERTIFICATE in page  # trainings.certificates
    assert "all employers" in page  # rights.totals
    # rights.employers is not an item of the guidance authorisation: no employer is named,
    # though the whole account has one
    whole = person_account(container, person, 2026)
    assert [p["employer"]["name"] for p in whole["employers"]] == ["Test Employer 1"]
    assert "Test Employer 1" not in page
    assert builders.fake_enterprise(1) not in page
    assert GUIDANCE in page

    with container.uow() as uow:
        read = uow.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "exchange_read", AuditEvent.subject_national_number == person
            )
        ).one()
        seen = consultations_of(uow.session, person).items
    assert read.legal_context == GUIDANCE
    assert read.organisation == FOREM
    assert read.details["role"] == "guidance_counsellor"
    assert (seen[0].organisation, seen[0].resource, seen[0].action) == (
        FOREM,
        "account",
        "exchange_read",
    )
    assert _refusals(container, person) == []


def test_the_directory_is_listed_a_page_at_a_time_and_audited(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_authorisations(container.uow(), actor="test")
    people = [builders.fake_niss(i) for i in range(1, 4)]
    for niss in people:
        _entry(container, niss)
    _entry(container, builders.fake_niss(9), VDAB)  # another service's dossier
    monkeypatch.setattr(counsellor, "PAGE_SIZE", 2)
    _login(client, "counsellor")
    first = client.get("/counsellor")
    assert first.status_code == 200
    assert people[0] in first.text
    assert people[1] in first.text
    assert people[2] not in first.text
    assert builders.fake_niss(9) not in first.text
    cursor = re.search(r'href="/counsellor\?cursor=([^"]+)"', first.text)
    assert cursor is not None
    second = client.get(f"/counsellor?cursor={cursor.group(1)}")
    assert people[2] in second.text
    assert people[0] not in second.text
    assert "/counsellor?cursor=" not in second.text
    with container.uow() as uow:
        listed = uow.session.scalars(
            select(AuditEvent.subject_national_number).where(
                AuditEvent.resource == "directory_entry", AuditEvent.action == "list"
            )
        ).all()
    assert sorted(listed) == sorted(people)


def test_a_malformed_number_is_refused_on_the_page_and_not_logged_as_an_exchange(
    client: TestClient, container: Container
) -> None:
    load_authorisations(container.uow(), actor="test")
    token = _login(client, "counsellor")
    response = client.post(
        "/counsellor/account", data={"csrf_token": token, "national_number": "12345678901"}
    )
    assert response.status_code == 422
    assert "invalid_national_number" in response.text
    with container.uow() as uow:
        assert (
            uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "refused")).all()
            == []
        )


def test_only_the_counsellor_opens_the_counsellor_pages(
    client: TestClient, container: Container, person: str
) -> None:
    _entry(container, person)
    anonymous = client.get("/counsellor")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/counsellor"
    for persona in ("worker", "employer_hr", "provider", "operator"):
        token = _login(client, persona)
        assert client.get("/counsellor").status_code == 404
        response = client.post(
            "/counsellor/account", data={"csrf_token": token, "national_number": person}
        )
        assert response.status_code == 404
        assert "Person 1" not in response.text
    # a forged form (no token) is refused before anything is read
    _login(client, "counsellor")
    forged = client.post("/counsellor/account", data={"national_number": person})
    assert forged.status_code == 403
    assert "Person 1" not in forged.text
