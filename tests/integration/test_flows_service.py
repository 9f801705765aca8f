"""The two seed flows as use cases, on SQLite and PostgreSQL: the FPIE allowance (role and
legal context checked before ONEM is asked; computation and inputs stored 10 years; purge),
and the career-break possibilities (preconditions before ONEM; never stored)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, select, text

from ila.bootstrap import Container
from ila.errors import Forbidden, LegalContextRefused, NotFound, RoleNotAllowed
from ila.exchange.directory import register_entry
from ila.exchange.service import load_authorisations
from ila.flows.career_break import PreconditionFailure
from ila.flows.fpie import FpieRequest
from ila.flows.models import FpieComputation
from ila.flows.retention import (
    RETENTION_CATEGORY,
    RETENTION_YEARS,
    count_due,
    purge_expired,
)
from ila.flows.rules import fpie_rules
from ila.flows.service import (
    FpieAccess,
    career_break_possibilities,
    compute_fpie,
    exchange_authorisation,
)
from ila.identity.service import register_person
from ila.sources.employment import DeclaredEmployment, Sector, SimulatedEmploymentSource
from ila.sources.onem import (
    AllowancePayment,
    AllowanceType,
    BreakCounter,
    BreakReason,
    BreakRegime,
    CareerBreakCounters,
    DossierProgress,
    SimulatedCareerBreaks,
    SimulatedUnemployment,
    SituationKind,
    UnemploymentNature,
    UnemploymentRight,
    UnemploymentSituation,
    WhyNone,
)
from tests.builders import fake_enterprise, fake_niss

ROLE = "fpie_pedagogical_adviser"
CONTEXT = "csi-22-086-fpie"
NISS = fake_niss(1)


def _onem() -> SimulatedUnemployment:
    onem = SimulatedUnemployment()
    onem.set_situation(
        UnemploymentSituation(
            NISS,
            SituationKind.RIGHT,
            right=UnemploymentRight(
                start_date=date(2025, 1, 1),
                nature=UnemploymentNature.PART_TIME,
                allowance_type=AllowanceType.UNEMPLOYMENT,
                daily_amount=Decimal("50.00"),
                half_allowances_per_month=8,
            ),
        ),
        [
            AllowancePayment(
                date(2026, 1, 1), Decimal("200.00"), Decimal("200.00"), DossierProgress.PAID
            )
        ],
    )
    return onem


def _request() -> FpieRequest:
    return FpieRequest.parse(
        fpie_rules(),
        national_number=NISS,
        first_month="2026-01",
        last_month="2026-02",
        gross_monthly_salary="2000",
    )


def test_fpie_is_computed_stored_and_kept_ten_years(container: Container) -> None:
    onem = _onem()
    seen: list[FpieAccess] = []
    at = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    outcome = compute_fpie(
        container,
        request=_request(),
        actor="adviser-7",
        role=ROLE,
        legal_context=CONTEXT,
        request_id="req-1",
        organisation=fake_enterprise(5),
        authorise=lambda session, access: seen.append(access),
        onem=onem,
        now=at,
    )
    assert [(a.role, a.legal_context, a.national_number, a.purpose) for a in seen] == [
        (ROLE, CONTEXT, NISS, "fpie.allowance")
    ]
    assert onem.calls == [("situation", NISS), ("payments", NISS)]
    # part time, 8 half-allowances × 50.00 / 2 = 200.00; 2000 − 261.40 − 200.00 = 1538.60
    assert [str(m.allowance) for m in outcome.result.months] == ["1538.60", "1538.60"]
    assert outcome.retain_until == date(2036, 3, 5)
    with container.uow() as uow:
        row = uow.session.scalars(select(FpieComputation)).one()
    assert (row.national_number, row.role, row.legal_context, row.request_id) == (
        NISS,
        ROLE,
        CONTEXT,
        "req-1",
    )
    assert row.retain_until == date(2036, 3, 5)
    assert row.total_allowance == Decimal("3077.20")
    assert row.inputs["situation"]["right"]["half_allowances_per_month"] == 8
    assert row.inputs["payments"][0]["amount_paid"] == "200.00"
    assert row.inputs["request"]["gross_monthly_salary"] == "2000.00"
    assert row.result == outcome.as_dict()["result"]
    assert (RETENTION_CATEGORY, RETENTION_YEARS) == ("fpie_calculation", 10)


def test_fpie_refusals_ask_onem_nothing_and_store_nothing(container: Container) -> None:
    onem = _onem()

    def refuse(session: object, access: FpieAccess) -> None:
        raise NotFound("no directory entry covers this person", field="national_number")

    cases: list[tuple[dict[str, object], type[Exception]]] = [
        ({"role": "guidance_counsellor"}, RoleNotAllowed),
        ({"legal_context": "csi-24-012-career-break"}, LegalContextRefused),
        ({"authorise": refuse}, NotFound),
    ]
    for changes, error in cases:
        kwargs: dict[str, object] = {
            "request": _request(),
            "actor": "a",
            "role": ROLE,
            "legal_context": CONTEXT,
            "request_id": "r",
            "onem": onem,
        } | changes
        with pytest.raises(error):
            compute_fpie(container, **kwargs)  # type: ignore[arg-type]
    # the role is refused even by a permissive authorisation check
    with pytest.raises(RoleNotAllowed) as caught:
        compute_fpie(
            container,
            request=_request(),
            actor="a",
            role="x",
            legal_context=CONTEXT,
            request_id="r",
            authorise=lambda s, a: None,
            onem=onem,
        )
    assert isinstance(caught.value, Forbidden)
    assert caught.value.code == "role_not_allowed"
    assert onem.calls == []
    with container.uow() as uow:
        assert uow.session.scalars(select(FpieComputation)).all() == []


def test_fpie_with_the_default_simulator(container: Container) -> None:
    outcome = compute_fpie(
        container,
        request=_request(),
        actor="a",
        role=ROLE,
        legal_context=CONTEXT,
        request_id="r",
    )
    assert len(outcome.result.months) == 2
    assert outcome.situation["kind"] in {"right", "no_right", "unknown_person"}


def test_purge_destroys_what_is_due_only(container: Container) -> None:
    for day in (datetime(2016, 1, 1, tzinfo=UTC), datetime(2016, 1, 2, tzinfo=UTC)):
        compute_fpie(
            container,
            request=_request(),
            actor="a",
            role=ROLE,
            legal_context=CONTEXT,
            request_id="r",
            onem=_onem(),
            now=day,
        )
    with container.uow() as uow:
        # kept until 2026-01-01 and 2026-01-02 included
        assert count_due(uow.session, date(2026, 1, 1)) == 0
        assert count_due(uow.session, date(2026, 1, 2)) == 1
        assert purge_expired(uow.session, date(2026, 1, 2)) == 1
        uow.commit()
    with container.uow() as uow:
        left = uow.session.scalars(select(FpieComputation.retain_until)).all()
    assert left == [date(2026, 1, 2)]


# --- career break -------------------------------------------------------------------------


def _employment(niss: str, sector: Sector) -> SimulatedEmploymentSource:
    source = SimulatedEmploymentSource()
    en = source.add_employer(fake_enterprise(1), "Employer", sector=sector)
    source.declare(
        DeclaredEmployment(
            line_id="l1",
            enterprise_number=en,
            national_number=niss,
            given_name="A",
            family_name="B",
            start_date=date(2020, 1, 1),
            joint_committee="200",
            fractions=((date(2020, 1, 1), Decimal(1)),),
        )
    )
    return source


DISTINCT = Decimal("17.25")  # a counter value found nowhere else


def _counters(niss: str) -> SimulatedCareerBreaks:
    onem = SimulatedCareerBreaks()
    onem.set_counters(
        CareerBreakCounters(
            niss,
            (
                BreakCounter(BreakReason.PALLIATIVE_CARE, BreakRegime.FULL_TIME, DISTINCT),
                BreakCounter(
                    BreakReason.SICK_MINOR_CHILD,
                    BreakRegime.ONE_TENTH,
                    None,
                    WhyNone.REGIME_NOT_ALLOWED,
                ),
            ),
        )
    )
    return onem


def test_too_young_asks_no_source(container: Container) -> None:
    niss = fake_niss(2, birth="100601")  # born 1 June 2010
    employment, onem = _employment(niss, Sector.PRIVATE), _counters(niss)
    view = career_break_possibilities(
        container, niss, employment=employment, career_breaks=onem, today=date(2026, 11, 23)
    )
    assert (view.shown, view.precondition) == (False, PreconditionFailure.TOO_YOUNG)
    assert view.message == "Vous devez avoir plus de 18 ans"  # unknown person: French
    assert employment.calls == []
    assert onem.calls == []


def test_no_sector_asks_the_employment_source_but_not_onem(container: Container) -> None:
    niss = fake_niss(3)
    register_person(
        container.uow(), national_number=niss, given_name="A", family_name="B", language="nl"
    )
    employment, onem = SimulatedEmploymentSource(), _counters(niss)
    view = career_break_possibilities(container, niss, employment=employment, career_breaks=onem)
    assert view.precondition is PreconditionFailure.NO_SECTOR
    assert view.message == "Er is geen tewerkstelling in de openbare of privésector gekend"
    assert employment.calls == [("employments_of_person", niss)]
    assert onem.calls == []


def test_the_demo_worker_sees_her_possibilities_with_the_platform_sources(
    container: Container,
) -> None:
    """The demo persona of the web login has a private-sector career in the default sources,
    so the section is shown to her (before, the default sources did not know the demo's
    employments, and the page said no employment was known)."""
    from ila.demo.generator import DEMO_WORKER_NISS

    view = career_break_possibilities(container, DEMO_WORKER_NISS, today=date(2026, 11, 23))
    assert (view.shown, view.precondition, view.sectors) == (True, None, ("private",))
    assert view.reasons


def _dump(connection: Connection) -> dict[str, list[str]]:
    """Every row of every table of the database, as text."""
    dump: dict[str, list[str]] = {}
    for table in sorted(inspect(connection).get_table_names()):
        rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608
        dump[table] = sorted(json.dumps([str(v) for v in row]) for row in rows)
    return dump


def test_career_break_lookup_leaves_no_trace(container: Container, connection: Connection) -> None:
    niss = fake_niss(4)
    register_person(container.uow(), national_number=niss, given_name="A", family_name="B")
    employment, onem = _employment(niss, Sector.PUBLIC), _counters(niss)
    before = _dump(connection)
    assert "fpie_computations" in before  # every table is read, including the flows'
    view = career_break_possibilities(
        container, niss, employment=employment, career_breaks=onem, language="en"
    )
    after = _dump(connection)
    assert view.shown
    assert view.sectors == ("public",)
    assert onem.calls == [("counters", niss)]
    assert [(r.reason, r.available) for r in view.reasons] == [
        (BreakReason.SICK_MINOR_CHILD, False),
        (BreakReason.PALLIATIVE_CARE, True),
    ]
    assert view.reasons[1].regimes[0].remaining_months == DISTINCT
    assert after == before
    text_of_db = json.dumps(after)
    for trace in ("17.25", "palliative_care", "sick_minor_child", "regime_not_allowed"):
        assert trace not in text_of_db


def test_fpie_under_the_exchange_authorisation(container: Container) -> None:
    """With ``exchange_authorisation`` plugged in: Bruxelles Formation, an FPIE directory entry
    covering the trainee and the authorisation of deliberation 22/086 → computed; without the
    entry, or for another institution → refused before ONEM is asked."""
    bruxelles_formation, vdab = "0999200463", "0999200166"
    load_authorisations(container.uow(), actor="test")
    onem = _onem()
    kwargs: dict[str, Any] = {
        "request": _request(),
        "actor": "adviser",
        "role": ROLE,
        "legal_context": CONTEXT,
        "request_id": "r",
        "authorise": exchange_authorisation,
        "onem": onem,
        "now": datetime(2026, 3, 1, tzinfo=UTC),
    }
    with pytest.raises(Forbidden) as caught:
        compute_fpie(container, organisation=bruxelles_formation, **kwargs)
    assert caught.value.code == "no_directory_entry"
    with pytest.raises(Forbidden) as caught:
        compute_fpie(container, organisation=vdab, **kwargs)
    assert caught.value.code == "party_not_authorised"
    assert onem.calls == []
    register_entry(
        container.uow(),
        institution=bruxelles_formation,
        national_number=NISS,
        capacity="fpie_candidate",
        valid_from=date(2026, 1, 1),
        valid_to=None,
        actor="test",
    )
    outcome = compute_fpie(container, organisation=bruxelles_formation, **kwargs)
    assert outcome.result.total_allowance == Decimal("3077.20")  # 2 × 1538.60, as above
    assert onem.calls == [("situation", NISS), ("payments", NISS)]
