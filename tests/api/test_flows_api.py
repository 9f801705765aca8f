"""The FPIE allowance over HTTP (SQLite and PostgreSQL): Bruxelles Formation's client, the role
and the legal context of deliberation 22/086, for a trainee of its person directory → the
allowance, stored and audited in the request's transaction; any other role, legal context,
party or a trainee without a directory entry → 403 with its own code, logged, with nothing
stored. The route's authorisation (listed in ``authorisation_elsewhere``): no token → 401,
another scope → 403, another institution's path ``/institutions/{en}/flows/fpie`` → the same
404 as an unknown one, none of which leaves a row behind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from ila.access.domain import Scope
from ila.audit.models import AuditEvent
from ila.exchange.directory import register_entry
from ila.exchange.service import load_authorisations
from ila.flows.models import FpieComputation
from tests import builders
from tests.api.conftest import Api, assert_problem

INSTITUTION = "0999200463"  # Bruxelles Formation's synthetic number (exchange authorisations)
VDAB = "0999200166"  # a regional service, not a party of deliberation 22/086
HEADERS = {"ILA-Legal-Context": "csi-22-086-fpie", "ILA-Role": "fpie_pedagogical_adviser"}
URL = f"/api/v1/institutions/{INSTITUTION}/flows/fpie"


def _body(**changes: Any) -> dict[str, Any]:
    return {
        "national_number": builders.fake_niss(1),
        "first_month": "2026-01",
        "last_month": "2026-03",
        "gross_monthly_salary": "2500.00",
        "other_social_income": "100.00",
    } | changes


def _directory(api: Api, institution: str, serial: int, capacity: str = "fpie_candidate") -> None:
    register_entry(
        api.container.uow(),
        institution=institution,
        national_number=builders.fake_niss(serial),
        capacity=capacity,
        valid_from=date(2026, 1, 1),
        valid_to=None,
        actor="test",
    )


@pytest.fixture(autouse=True)
def _authorised(api: Api) -> None:
    """The authorisations loaded and trainee 1 in Bruxelles Formation's directory (and in
    VDAB's, for a flow VDAB is no party to)."""
    load_authorisations(api.container.uow(), actor="test")
    _directory(api, INSTITUTION, 1)
    _directory(api, VDAB, 1, "jobseeker_guidance")


def _rows(api: Api) -> tuple[list[FpieComputation], list[AuditEvent]]:
    with api.container.uow() as uow:
        return (
            list(uow.session.scalars(select(FpieComputation))),
            list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id))),
        )


def test_fpie_is_computed_stored_and_audited(api: Api) -> None:
    client = api.register(INSTITUTION, (Scope.INSTITUTION_FPIE_COMPUTE,))
    response = api.http.post(
        URL,
        json=_body(),
        headers={**api.auth(client), **HEADERS, "X-Request-ID": "fpie-1"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    result = body["result"]
    assert [m["month"] for m in result["months"]] == ["2026-01", "2026-02", "2026-03"]
    for m in result["months"]:
        # 2500.00 − ONSS 326.75 − ONEM's social income − 100.00 of other social income
        expected = Decimal("2500.00") - Decimal("326.75") - Decimal(m["social_income"]) - 100
        assert m["onss"] == "326.75"
        assert Decimal(m["allowance"]) == max(Decimal(0), expected)
    assert body["request"]["other_social_income"] == "100.00"
    assert body["situation"]["kind"] in {"right", "no_right", "unknown_person"}
    (stored,), events = _rows(api)
    events = [e for e in events if e.resource == "fpie_allowance"]
    assert stored.id == body["id"]
    assert stored.request_id == "fpie-1"
    assert stored.organisation == INSTITUTION
    assert stored.result == result
    (event,) = events
    assert (event.action, event.resource, event.legal_context, event.request_id) == (
        "compute",
        "fpie_allowance",
        "csi-22-086-fpie",
        "fpie-1",
    )
    assert event.subject_national_number == builders.fake_niss(1)
    assert event.details["computation_id"] == stored.id


def test_other_roles_and_legal_contexts_are_refused_and_logged(api: Api) -> None:
    client = api.register(INSTITUTION, (Scope.INSTITUTION_FPIE_COMPUTE,))
    auth = api.auth(client)
    refusals = (
        ({**HEADERS, "ILA-Role": "guidance_counsellor"}, _body(), "role_not_allowed"),
        ({"ILA-Legal-Context": "csi-22-086-fpie"}, _body(), "role_not_allowed"),
        (
            {**HEADERS, "ILA-Legal-Context": "ila-guidance-consultation"},
            _body(),
            "purpose_not_authorised",
        ),
        ({**HEADERS, "ILA-Legal-Context": "csi-00-000-none"}, _body(), "unknown_legal_context"),
        ({"ILA-Role": "fpie_pedagogical_adviser"}, _body(), "legal_context_required"),
        # a trainee Bruxelles Formation holds no dossier for
        (HEADERS, _body(national_number=builders.fake_niss(2)), "no_directory_entry"),
    )
    for headers, body, code in refusals:
        response = api.http.post(URL, json=body, headers={**auth, **headers})
        assert_problem(response, 403, code)
    stored, events = _rows(api)
    assert stored == []
    assert [(e.action, e.details["refused"]) for e in events] == [
        ("refused", code) for _, _, code in refusals
    ]
    assert {e.legal_context for e in events} == {
        "csi-22-086-fpie",
        "ila-guidance-consultation",
        "csi-00-000-none",
        None,
    }
    assert [e.subject_national_number for e in events] == [builders.fake_niss(1)] * 5 + [
        builders.fake_niss(2)
    ]


def test_a_service_that_is_no_party_to_the_deliberation_is_refused(api: Api) -> None:
    """VDAB, with the right scope and its own path, holding the trainee in its directory, is
    still not Bruxelles Formation: ``party_not_authorised``, logged, nothing stored."""
    vdab = api.register(VDAB, (Scope.INSTITUTION_FPIE_COMPUTE,))
    url = URL.replace(INSTITUTION, VDAB)
    response = api.http.post(url, json=_body(), headers={**api.auth(vdab), **HEADERS})
    assert_problem(response, 403, "party_not_authorised")
    stored, events = _rows(api)
    assert stored == []
    assert [(e.organisation, e.details["refused"]) for e in events] == [
        (VDAB, "party_not_authorised")
    ]


def test_scope_institution_and_body_are_checked(api: Api) -> None:
    before = api.row_counts()
    client = api.register(
        INSTITUTION, tuple(s for s in Scope if s is not Scope.INSTITUTION_FPIE_COMPUTE)
    )
    assert_problem(api.http.post(URL, json=_body(), headers=HEADERS), 401, "unauthenticated")
    without_scope = {**api.auth(client), **HEADERS}
    assert_problem(
        api.http.post(URL, json=_body(), headers=without_scope), 403, "insufficient_scope"
    )
    allowed = api.register(INSTITUTION, (Scope.INSTITUTION_FPIE_COMPUTE,))
    headers = {**api.auth(allowed), **HEADERS, "X-Request-ID": "probe"}
    api.register(VDAB)
    unknown = api.http.post(
        URL.replace(INSTITUTION, builders.fake_enterprise(4)), json=_body(), headers=headers
    )
    assert_problem(unknown, 404, "not_found")
    # another institution, registered and holding the trainee: the same answer as an unknown one
    another = api.http.post(URL.replace(INSTITUTION, VDAB), json=_body(), headers=headers)
    assert another.status_code == 404
    assert another.content == unknown.content
    for bad, code in (
        (_body(first_month="2026-13"), None),
        (_body(gross_monthly_salary="-5"), "out_of_range"),
        (_body(last_month="2025-01"), "invalid_period"),
        (_body(national_number="123"), "invalid_national_number"),
        (_body(extra=1), None),
    ):
        assert_problem(api.http.post(URL, json=bad, headers=headers), 422, code)
    assert _rows(api) == ([], [])
    after = api.row_counts()
    # only the clients and their tokens were added: no computation, audit row, nor anything else
    changed = {name for name in after if after[name] != before[name]}
    assert changed <= {"api_clients", "api_access_tokens", "api_assertion_jtis"}, changed
