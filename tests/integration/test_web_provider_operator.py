"""The service provider's pages and the operator's access-administrator page through the ASGI
app (SQLite and PostgreSQL): a provider acts only under a mandate in force (else *not found*,
like an unknown employer), with what its kind allows; only the operator names access
administrators, with a valid national number, audited."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ila.access.service import grant_mandate, list_mandates, revoke_mandate
from ila.audit.models import AuditEvent
from ila.bootstrap import Container
from ila.identity.service import find_employer
from ila.trainings.service import TrainingFilter, employer_trainings
from ila.web import roles
from ila.web.app import create_app
from ila.web.auth import DEMO_PROVIDER, OPERATOR, Role
from ila.web.provider import load_demo_mandates
from tests import builders


def _token(client: TestClient) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/login").text)
    assert match is not None
    return match.group(1)


def _login(client: TestClient, persona: str) -> str:
    response = client.post("/login/demo", data={"csrf_token": _token(client), "persona": persona})
    assert response.status_code == 303
    return _token(client)


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(
        create_app(container), follow_redirects=False, headers={"accept-language": "en"}
    )


def _mandate(
    container: Container,
    en: str,
    kind: str,
    start: date = date(2024, 1, 1),
    end: date | None = None,
) -> int:
    return grant_mandate(
        container.uow(),
        employer=en,
        provider=DEMO_PROVIDER,
        kind=kind,
        valid_from=start,
        valid_to=end,
        actor="test",
    ).id


@pytest.fixture
def employers(container: Container) -> dict[str, str]:
    """Employers 1 (social secretariat's mandate) and 2 (training provider's) with a worker
    each; 3 (expired mandate), 4 (revoked), 5 (none)."""
    found = {
        name: builders.employer(container, i, fte=None)
        for i, name in enumerate(("secretariat", "training", "expired", "revoked", "none"), start=1)
    }
    for i, name in enumerate(("secretariat", "training"), start=1):
        builders.employ(container, builders.person(container, i), found[name])
    _mandate(container, found["secretariat"], "social_secretariat")
    _mandate(container, found["training"], "training_provider")
    _mandate(container, found["expired"], "social_secretariat", end=date(2025, 12, 31))
    revoked = _mandate(container, found["revoked"], "social_secretariat")
    revoke_mandate(container.uow(), revoked, actor="test", reason="ended")
    return found


def _training_form(token: str, workers: str, status: str = "planned") -> dict[str, str]:
    return {
        "csrf_token": token,
        "workers": workers,
        "title": "Forklift safety",
        "provider": "Demo provider",
        "start_date": "2026-09-01",
        "end_date": "2026-09-02",
        "duration": "14",
        "unit": "hours",
        "nature": "formal_external",
        "status": status,
    }


def test_the_provider_sees_the_employers_whose_mandate_is_in_force(
    client: TestClient, employers: dict[str, str]
) -> None:
    _login(client, "provider")
    page = client.get("/provider")
    assert page.status_code == 200
    for name, shown in (
        ("secretariat", True),
        ("training", True),
        ("expired", False),
        ("revoked", False),
        ("none", False),
    ):
        assert (employers[name] in page.text) is shown, name
    assert "social secretariat" in page.text
    assert "training provider" in page.text


@pytest.mark.parametrize("name", ["expired", "revoked", "none", "unknown"])
def test_no_mandate_in_force_is_like_an_unknown_employer(
    client: TestClient, employers: dict[str, str], name: str
) -> None:
    en = employers.get(name, builders.fake_enterprise(99))
    token = _login(client, "provider")
    assert client.get(f"/provider/{en}").status_code == 404
    assert client.get(f"/provider/{en}/trainings/new").status_code == 404
    worker = builders.fake_niss(1)
    response = client.post(f"/provider/{en}/trainings", data=_training_form(token, worker))
    assert response.status_code == 404


def test_a_social_secretariat_sees_the_worker_list_a_training_provider_does_not(
    client: TestClient, container: Container, employers: dict[str, str]
) -> None:
    _login(client, "provider")
    secretariat = client.get(f"/provider/{employers['secretariat']}?year=2025")
    assert secretariat.status_code == 200
    assert builders.fake_niss(1) in secretariat.text
    assert "Person 1" in secretariat.text
    training = client.get(f"/provider/{employers['training']}?year=2025")
    assert training.status_code == 200
    assert builders.fake_niss(2) not in training.text
    assert "Person 2" not in training.text
    with container.uow() as uow:
        listed = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.resource == "workers", AuditEvent.action == "list")
        ).all()
    assert [(e.subject_national_number, e.on_behalf_of) for e in listed] == [
        (builders.fake_niss(1), employers["secretariat"])
    ]
    assert listed[0].organisation == DEMO_PROVIDER
    assert "mandate_id" in listed[0].details


def test_a_training_provider_registers_trainings_to_verify_for_the_employer(
    client: TestClient, container: Container, employers: dict[str, str]
) -> None:
    token = _login(client, "provider")
    en = employers["training"]
    assert client.get(f"/provider/{en}/trainings/new").status_code == 200
    employed, elsewhere = builders.fake_niss(2), builders.fake_niss(1)
    response = client.post(
        f"/provider/{en}/trainings", data=_training_form(token, f"{employed}\n{elsewhere}")
    )
    assert response.status_code == 201
    assert "1 of 2 trainings registered." in response.text
    assert "not_found" in response.text  # the worker of another employer
    with container.uow() as uow:
        employer_id = find_employer(uow.session, en).id
        rows = employer_trainings(
            uow.session, employer_id, TrainingFilter(to_verify=True), after_id=None, limit=10
        )
        created = uow.session.scalars(
            select(AuditEvent).where(
                AuditEvent.resource == "training", AuditEvent.action == "create"
            )
        ).all()
    assert [(t.source, t.sender, v.title, n) for t, v, n in rows] == [
        ("provider", DEMO_PROVIDER, "Forklift safety", employed)
    ]
    assert [e.subject_national_number for e in created] == [employed]
    # a training provider registers planned or followed trainings only
    refused = client.post(
        f"/provider/{en}/trainings", data=_training_form(token, employed, "not_followed")
    )
    assert refused.status_code == 422
    assert "status_not_allowed" in refused.text


def test_the_demo_mandates_are_granted_once(container: Container) -> None:
    from ila.demo.generator import DEMO_EMPLOYER_CONSULTING, DEMO_EMPLOYER_PC200
    from ila.identity.service import register_employer

    for en in (DEMO_EMPLOYER_PC200, DEMO_EMPLOYER_CONSULTING):
        register_employer(container.uow(), enterprise_number=en, name=f"Demo {en}")
    assert load_demo_mandates(container) == 2
    assert load_demo_mandates(container) == 0
    with container.uow() as uow:
        kinds = [m.kind for m in list_mandates(uow.session, DEMO_EMPLOYER_CONSULTING)]
    assert kinds == ["training_provider"]


# --- the operator: first access administrator ------------------------------------------------


def test_only_the_operator_opens_the_operator_pages(client: TestClient) -> None:
    anonymous = client.get("/operator/access")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/operator/access"
    for persona in ("worker", "access_admin", "provider", "counsellor"):
        token = _login(client, persona)
        assert client.get("/operator/access").status_code == 404
        forged = client.post(
            "/operator/access",
            data={
                "csrf_token": token,
                "enterprise_number": builders.fake_enterprise(1),
                "national_number": builders.fake_niss(1),
            },
        )
        assert forged.status_code == 404


def test_the_operator_names_and_removes_an_access_administrator(
    client: TestClient, container: Container
) -> None:
    en = builders.employer(container, 1, fte=None)
    niss = builders.fake_niss(5)
    token = _login(client, "operator")
    assert "No access administrator named yet." in client.get("/operator/access").text
    # a forged form, a bad national number and an unknown company are refused; nothing granted
    assert (
        client.post(
            "/operator/access", data={"enterprise_number": en, "national_number": niss}
        ).status_code
        == 403
    )
    bad = client.post(
        "/operator/access",
        data={"csrf_token": token, "enterprise_number": en, "national_number": "12345678901"},
    )
    assert bad.status_code == 422
    assert "invalid_national_number" in bad.text
    unknown = client.post(
        "/operator/access",
        data={
            "csrf_token": token,
            "enterprise_number": builders.fake_enterprise(42),
            "national_number": niss,
        },
    )
    assert unknown.status_code == 422
    assert "not_found" in unknown.text
    with container.uow() as uow:
        assert roles.active_roles(uow.session, niss) == {}

    granted = client.post(
        "/operator/access",
        data={"csrf_token": token, "enterprise_number": en, "national_number": niss},
    )
    assert granted.status_code == 303
    page = client.get("/operator/access").text
    assert niss in page
    assert en in page
    with container.uow() as uow:
        assert roles.active_roles(uow.session, niss) == {en: Role.ACCESS_ADMIN}
        event = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.resource == "web_role")
        ).one()
        role_id = roles.employer_roles(uow.session, find_employer(uow.session, en).id)[0].id
    assert (event.action, event.subject_national_number, event.on_behalf_of) == (
        "grant",
        niss,
        en,
    )
    assert (event.actor, event.organisation) == ("web:demo:demo-operator", OPERATOR)

    revoked = client.post(f"/operator/access/{role_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert "No access administrator named yet." in client.get("/operator/access").text
    with container.uow() as uow:
        assert roles.active_roles(uow.session, niss) == {}
    # the same role again is no longer active: not found
    again = client.post(f"/operator/access/{role_id}/revoke", data={"csrf_token": token})
    assert again.status_code == 404
