"""The FPIE allowance over HTTP (SQLite and PostgreSQL): Bruxelles Formation's client, the role
and the legal context of deliberation 22/086 → the allowance, stored and audited in the
request's transaction; any other role or legal context → 403 with its own code, logged, with
nothing stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ila.access.domain import Scope
from ila.audit.models import AuditEvent
from ila.flows.models import FpieComputation
from tests import builders
from tests.api.conftest import Api, assert_problem

INSTITUTION = "0999200463"  # Bruxelles Formation's synthetic number (exchange authorisations)
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
    for headers, code in (
        ({**HEADERS, "ILA-Role": "guidance_counsellor"}, "role_not_allowed"),
        ({"ILA-Legal-Context": "csi-22-086-fpie"}, "role_not_allowed"),
        ({**HEADERS, "ILA-Legal-Context": "ila-guidance-consultation"}, "legal_context_refused"),
        ({"ILA-Role": "fpie_pedagogical_adviser"}, "legal_context_refused"),
    ):
        response = api.http.post(URL, json=_body(), headers={**auth, **headers})
        assert_problem(response, 403, code)
    stored, events = _rows(api)
    assert stored == []
    assert [(e.action, e.details["refused"]) for e in events] == [
        ("refused", "role_not_allowed"),
        ("refused", "role_not_allowed"),
        ("refused", "legal_context_refused"),
        ("refused", "legal_context_refused"),
    ]
    assert {e.subject_national_number for e in events} == {builders.fake_niss(1)}


def test_scope_institution_and_body_are_checked(api: Api) -> None:
    client = api.register(INSTITUTION, (Scope.INSTITUTION_ACCOUNT_READ,))
    assert_problem(api.http.post(URL, json=_body(), headers=HEADERS), 401, "unauthenticated")
    without_scope = {**api.auth(client), **HEADERS}
    assert_problem(api.http.post(URL, json=_body(), headers=without_scope), 403)
    allowed = api.register(INSTITUTION, (Scope.INSTITUTION_FPIE_COMPUTE,))
    headers = {**api.auth(allowed), **HEADERS}
    other = URL.replace(INSTITUTION, builders.fake_enterprise(4))
    assert_problem(api.http.post(other, json=_body(), headers=headers), 404, "not_found")
    for bad, code in (
        (_body(first_month="2026-13"), None),
        (_body(gross_monthly_salary="-5"), "out_of_range"),
        (_body(last_month="2025-01"), "invalid_period"),
        (_body(national_number="123"), "invalid_national_number"),
        (_body(extra=1), None),
    ):
        assert_problem(api.http.post(URL, json=bad, headers=headers), 422, code)
    assert _rows(api) == ([], [])
