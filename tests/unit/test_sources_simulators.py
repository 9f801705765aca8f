"""The simulators of the authentic sources: deterministic, logging every call, valid data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest

from ila.errors import NotFound
from ila.identity.domain import EnterpriseNumber, NationalNumber
from ila.sources.employment import (
    DeclaredEmployment,
    DeclaredQuarter,
    Sector,
    SimulatedEmploymentSource,
)
from ila.sources.onem import (
    AllowancePayment,
    BreakReason,
    BreakRegime,
    CareerBreakCounters,
    DossierProgress,
    SimulatedCareerBreaks,
    SimulatedUnemployment,
    SituationKind,
    UnemploymentNature,
    UnemploymentSituation,
    next_month,
)
from ila.sources.registry import simulated_sources
from tests.builders import fake_enterprise, fake_niss


def test_generated_employment_source_is_deterministic_and_valid() -> None:
    a, b = SimulatedEmploymentSource.generated(7), SimulatedEmploymentSource.generated(7)
    assert a.lines == b.lines
    assert a.quarters == b.quarters
    assert a.lines != SimulatedEmploymentSource.generated(8).lines
    employers = a.employers()
    assert len(employers) == 3
    sectors = [a.declarations_of(en).sector for en in employers]
    assert sectors == [Sector.PRIVATE, Sector.PRIVATE, Sector.PUBLIC]
    for en in employers:
        EnterpriseNumber.parse(en)
        declarations = a.declarations_of(en)
        assert 4 <= len(declarations.employments) <= 9
        assert [(q.year, q.quarter) for q in declarations.quarters][:2] == [(2020, 4), (2021, 1)]
        assert len(declarations.quarters) == 24  # 2020-Q4 … 2026-Q3
        for line in declarations.employments:
            NationalNumber.parse(line.national_number)
            assert line.sector is declarations.sector
    assert ("declarations_of", employers[0]) in a.calls


def test_employment_source_feeding_and_questions() -> None:
    source = SimulatedEmploymentSource()
    en = source.add_employer(fake_enterprise(1), "One", [DeclaredQuarter(2024, 1, Decimal(3))])
    with pytest.raises(NotFound):
        source.declarations_of(fake_enterprise(2))
    line = DeclaredEmployment(
        line_id="l1",
        enterprise_number=fake_enterprise(2),
        national_number=fake_niss(1),
        given_name="A",
        family_name="B",
        start_date=date(2024, 1, 1),
        joint_committee="200",
        fractions=((date(2024, 1, 1), Decimal(1)),),
    )
    with pytest.raises(NotFound):
        source.declare(line)  # unknown employer
    source.declare(replace(line, enterprise_number=en))
    corrected = source.correct("l1", end_date=date(2024, 6, 30))
    assert corrected.end_date == date(2024, 6, 30)
    assert corrected.fingerprint() != replace(corrected, end_date=None).fingerprint()
    assert source.employments_of_person(fake_niss(1)) == [corrected]
    source.withdraw("l1")
    assert source.employments_of_person(fake_niss(1)) == []
    assert source.calls[-1] == ("employments_of_person", fake_niss(1))


def test_unemployment_simulator_explicit_answers_and_call_log() -> None:
    onem = SimulatedUnemployment()
    niss = fake_niss(1)
    situation = UnemploymentSituation(niss, SituationKind.UNKNOWN_PERSON)
    paid = AllowancePayment(date(2026, 2, 1), Decimal(1), Decimal(1), DossierProgress.PAID)
    onem.set_situation(situation, [paid])
    assert onem.situation(niss) is situation
    assert onem.payments(niss, date(2026, 1, 1), date(2026, 2, 28)) == [paid]
    assert onem.payments(niss, date(2026, 3, 1), date(2026, 4, 1)) == []
    assert onem.calls == [("situation", niss), ("payments", niss), ("payments", niss)]


def test_unemployment_simulator_derives_every_case_deterministically() -> None:
    onem = SimulatedUnemployment(seed=1, paid_until=date(2026, 11, 1))
    again = SimulatedUnemployment(seed=1, paid_until=date(2026, 11, 1))
    seen: set[str] = set()
    for serial in range(1, 60):
        niss = fake_niss(serial)
        s = onem.situation(niss)
        assert s == again.situation(niss)
        payments = onem.payments(niss, date(2020, 1, 1), date(2030, 1, 1))
        assert payments == again.payments(niss, date(2020, 1, 1), date(2030, 1, 1))
        if s.kind is SituationKind.RIGHT:
            assert s.right is not None
            seen.add(s.right.nature.value + ("/insertion" if s.right.insertion_end else ""))
            assert payments, "a right has amounts for the months already paid"
            assert payments[-1].month == date(2026, 10, 1)
            assert payments[-1].progress is DossierProgress.APPROVED
            assert all(p.progress is DossierProgress.PAID for p in payments[:-1])
            assert all(next_month(a.month) == b.month for a, b in pairwise(payments))
            if s.right.nature is UnemploymentNature.PART_TIME:
                assert s.right.half_allowances_per_month
        else:
            assert payments == []
            seen.add(s.no_right.reason.value if s.no_right else s.kind.value)
    assert seen == {
        "full_time_unemployed",
        "part_time_unemployed",
        "full_time_unemployed/insertion",
        "sanction",
        "exclusion",
        "insertion_ended",
        "unknown_person",
    }


def test_career_break_simulator_answers_every_reason_and_regime() -> None:
    onem = SimulatedCareerBreaks(seed=3)
    niss = fake_niss(4)
    derived = onem.counters(niss)
    assert derived == SimulatedCareerBreaks(seed=3).counters(niss)
    assert {(c.reason, c.regime) for c in derived.counters} == {
        (r, g) for r in BreakReason for g in BreakRegime
    }
    for c in derived.counters:
        assert (c.remaining_months is None) == (c.why_none is not None)
    explicit = CareerBreakCounters(niss, ())
    onem.set_counters(explicit)
    assert onem.counters(niss) is explicit
    assert onem.calls == [("counters", niss), ("counters", niss)]


def test_registry_builds_the_simulators() -> None:
    sources = simulated_sources(5, paid_until=date(2026, 1, 1))
    assert isinstance(sources.unemployment, SimulatedUnemployment)
    assert sources.unemployment.paid_until == date(2026, 1, 1)
    assert isinstance(sources.career_breaks, SimulatedCareerBreaks)
    assert simulated_sources().unemployment.paid_until.day == 1  # type: ignore[attr-defined]


def test_the_registry_knows_the_demo_personas_careers_but_imports_none_of_them() -> None:
    """The demo's employments are registered by ``ila demo load``, not imported: a person's
    question sees them (as the real source would), an employer-wide question does not."""
    from ila.demo.generator import (
        DEMO_EMPLOYER_PC200,
        DEMO_MULTI_EMPLOYER_NISS,
        DEMO_WORKER_NISS,
        declared_employments,
    )

    source = simulated_sources().employment
    (worker,) = source.employments_of_person(DEMO_WORKER_NISS)
    assert (worker.enterprise_number, worker.start_date, worker.sector) == (
        DEMO_EMPLOYER_PC200,
        date(2024, 3, 29),
        Sector.PRIVATE,
    )
    assert worker.fractions == ((date(2024, 3, 29), Decimal("0.8")),)
    assert (
        len({e.enterprise_number for e in source.employments_of_person(DEMO_MULTI_EMPLOYER_NISS)})
        == 2
    )
    # the generated simulator's persons are still answered, from it alone
    generated = SimulatedEmploymentSource.generated()
    someone = next(iter(generated.lines.values())).national_number
    assert source.employments_of_person(someone) == generated.employments_of_person(someone)
    assert source.employers() == generated.employers()
    with pytest.raises(NotFound):
        source.declarations_of(DEMO_EMPLOYER_PC200)
    again = simulated_sources().employment
    assert again.lines is source.lines == declared_employments(2024)  # type: ignore[attr-defined]


def test_payments_asked_first_are_the_same_as_after_the_situation() -> None:
    niss = fake_niss(11)
    first = SimulatedUnemployment(seed=4).payments(niss, date(2020, 1, 1), date(2030, 1, 1))
    other = SimulatedUnemployment(seed=4)
    other.situation(niss)
    assert first == other.payments(niss, date(2020, 1, 1), date(2030, 1, 1))
