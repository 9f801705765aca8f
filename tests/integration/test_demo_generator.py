"""The demo dataset: loaded through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ila.bootstrap import Container
from ila.demo import (
    DEMO_EMPLOYER_BAKERY,
    DEMO_EMPLOYER_CONSULTING,
    DEMO_EMPLOYER_PC124,
    DEMO_EMPLOYER_PC200,
    DEMO_MULTI_EMPLOYER_NISS,
    DEMO_REHIRED_NISS,
    DEMO_WORKER_NISS,
    DemoReport,
    build_plan,
    load_demo,
)
from ila.employment.domain import EndReason
from ila.employment.models import Employment, QuarterlyFte, Suspension, WorkFraction
from ila.identity.domain import EnterpriseNumber, NationalNumber
from ila.identity.models import Employer, Person
from ila.trainings.domain import Nature as TrainingNature
from ila.trainings.domain import NotCountingReason, Source, Status
from ila.trainings.models import Training, TrainingVersion

REGION_SENDERS = {"VDAB", "FOREM", "ACTIRIS", "BF", "ADG"}


@pytest.fixture
def loaded(container: Container) -> DemoReport:
    return load_demo(container)


def _session(container: Container) -> Session:
    return container.session_factory()


def _employer_id(session: Session, number: str) -> int:
    employer_id = session.scalar(select(Employer.id).where(Employer.enterprise_number == number))
    assert employer_id is not None
    return employer_id


def _reference_average(session: Session, employer_id: int, period: int) -> Decimal:
    """Rules 1.2: Q4 of n-2 and Q1-Q3 of n-1, divided by the quarters declaring workers."""
    rows = session.scalars(select(QuarterlyFte).where(QuarterlyFte.employer_id == employer_id))
    reference = {(period - 2, 4), (period - 1, 1), (period - 1, 2), (period - 1, 3)}
    declared = [r.fte for r in rows if (r.year, r.quarter) in reference and r.workers_declared]
    return sum(declared, Decimal(0)) / len(declared)


def test_counts_and_size_bands(container: Container, loaded: DemoReport) -> None:
    report = loaded
    assert not report.already_loaded
    assert report.employers >= 4
    assert report.persons >= 120
    assert report.employments >= report.persons
    assert report.quarterly_declarations == 4 * 24  # 2020 Q4 .. 2026 Q3
    assert report.trainings >= 200
    with _session(container) as s:
        assert s.scalar(select(func.count()).select_from(Employer)) == report.employers
        assert s.scalar(select(func.count()).select_from(Person)) == report.persons
        assert s.scalar(select(func.count()).select_from(Employment)) == report.employments
        assert (
            s.scalar(select(func.count()).select_from(QuarterlyFte))
            == report.quarterly_declarations
        )
        assert s.scalar(select(func.count()).select_from(Training)) == report.trainings
        assert s.scalar(select(func.count()).select_from(TrainingVersion)) == report.trainings
        languages = set(s.scalars(select(Person.language)))
    assert languages == {"fr", "nl", "de", "en"}
    with _session(container) as s:
        ids = {
            n: _employer_id(s, n)
            for n in (
                DEMO_EMPLOYER_BAKERY,
                DEMO_EMPLOYER_CONSULTING,
                DEMO_EMPLOYER_PC124,
                DEMO_EMPLOYER_PC200,
            )
        }
        for period in (2022, 2024, 2026):
            assert _reference_average(s, ids[DEMO_EMPLOYER_BAKERY], period) < 10
            assert 10 <= _reference_average(s, ids[DEMO_EMPLOYER_CONSULTING], period) < 20
            assert _reference_average(s, ids[DEMO_EMPLOYER_PC124], period) >= 20
            assert _reference_average(s, ids[DEMO_EMPLOYER_PC200], period) >= 60
        committees = {
            e: set(s.scalars(select(Employment.joint_committee).where(Employment.employer_id == i)))
            for e, i in ids.items()
        }
        not_declared = s.scalars(
            select(QuarterlyFte).where(QuarterlyFte.workers_declared.is_(False))
        ).all()
        consulting_2021 = s.scalars(
            select(QuarterlyFte.fte).where(
                QuarterlyFte.employer_id == ids[DEMO_EMPLOYER_CONSULTING],
                QuarterlyFte.year == 2021,
                QuarterlyFte.quarter <= 3,
            )
        ).all()
        big = s.scalar(
            select(func.count(func.distinct(Employment.person_id))).where(
                Employment.employer_id == ids[DEMO_EMPLOYER_PC200]
            )
        )
    assert committees[DEMO_EMPLOYER_BAKERY].isdisjoint({"200", "124"})
    assert committees[DEMO_EMPLOYER_CONSULTING] == {"200"}
    assert committees[DEMO_EMPLOYER_PC124] == {"124"}
    assert committees[DEMO_EMPLOYER_PC200] == {"200"}
    assert big is not None
    assert big >= 75
    # the divisor rule matters: 2020 Q4 without workers, wrongly divided by 4 gives < 10 FTE
    assert [(q.year, q.quarter, q.fte) for q in not_declared] == [(2020, 4, Decimal(0))]
    assert not_declared[0].employer_id == ids[DEMO_EMPLOYER_CONSULTING]
    assert sum(consulting_2021, Decimal(0)) / 4 < 10


def test_every_code_appears(container: Container, loaded: DemoReport) -> None:
    with _session(container) as s:
        reasons = set(s.scalars(select(Employment.end_reason)))
        end_years = {
            d.year if d else None
            for d in s.scalars(
                select(Employment.end_date).where(Employment.end_reason.is_not(None))
            )
        }
        versions = s.scalars(select(TrainingVersion)).all()
        sources = set(s.scalars(select(Training.source)))
    assert {r.value for r in EndReason} <= reasons
    assert end_years <= {2024, 2025, 2026}
    assert {n.value for n in TrainingNature} == {v.nature for v in versions}
    assert {st.value for st in Status} == {v.status for v in versions}
    assert {r.value for r in NotCountingReason} == {
        v.not_counting_reason for v in versions if v.not_counting_reason
    }
    assert {src.value for src in Source} == sources
    assert {v.duration_unit for v in versions} == {"hours", "days"}
    assert any(v.certificate and v.certificate_valid_until for v in versions)
    assert any(v.certificate and v.certificate_valid_until is None for v in versions)
    assert any(v.financing for v in versions)
    assert {v.start_date.year for v in versions} == {2022, 2023, 2024, 2025, 2026}
    assert all(
        v.version == 1
        and v.operation == "create"
        and v.recorded_by == "demo"
        and v.superseded_at is None
        and v.duration_minutes > 0
        for v in versions
    )


def test_identifiers_are_valid_and_senders_consistent(
    container: Container, loaded: DemoReport
) -> None:
    with _session(container) as s:
        persons = {p.id: p.national_number for p in s.scalars(select(Person))}
        employers = {e.id: e.enterprise_number for e in s.scalars(select(Employer))}
        trainings = s.scalars(select(Training)).all()
        employed = defaultdict(set)
        for person_id, employer_id in s.execute(
            select(Employment.person_id, Employment.employer_id)
        ):
            employed[person_id].add(employer_id)
    for number in persons.values():
        assert NationalNumber.parse(number).value == number
        assert number[4:9] in {"01997", "01998"}
    for number in employers.values():
        assert EnterpriseNumber.parse(number).value == number
        assert number.startswith("0999000")
    per_sender = Counter((t.sender, t.sender_record_id) for t in trainings)
    assert max(per_sender.values()) == 1
    for t in trainings:
        if t.source == Source.EMPLOYER:
            assert t.employer_id is not None
            assert t.sender == employers[t.employer_id]
        elif t.source == Source.PROVIDER:
            assert t.sender.startswith("DEMO-PROV-")
        elif t.source == Source.REGION:
            assert t.sender in REGION_SENDERS
        else:
            assert t.sender == persons[t.person_id]
    assert any(t.source == Source.PERSON and t.employer_id is None for t in trainings)
    assert any(t.source == Source.PERSON and t.employer_id is not None for t in trainings)
    # a training's employer is one the person works (or worked) for
    assert all(t.employer_id is None or t.employer_id in employed[t.person_id] for t in trainings)
    assert len({t.person_id for t in trainings}) >= 80


def test_scripted_personas(container: Container, loaded: DemoReport) -> None:
    with _session(container) as s:

        def jobs(niss: str) -> list[tuple[Employment, list[tuple[date, Decimal]]]]:
            rows = s.execute(
                select(Employment, Employer.enterprise_number)
                .join(Person, Person.id == Employment.person_id)
                .join(Employer, Employer.id == Employment.employer_id)
                .where(Person.national_number == niss)
                .order_by(Employment.start_date)
            ).all()
            out = []
            for employment, _ in rows:
                fractions = s.execute(
                    select(WorkFraction.valid_from, WorkFraction.fraction)
                    .where(WorkFraction.employment_id == employment.id)
                    .order_by(WorkFraction.valid_from)
                ).all()
                out.append((employment, [(d, f) for d, f in fractions]))
            return out

        ((worker, worker_fractions),) = jobs(DEMO_WORKER_NISS)
        assert worker.employer_id == _employer_id(s, DEMO_EMPLOYER_PC200)
        assert (worker.start_date, worker.end_date) == (date(2024, 3, 29), None)
        assert worker_fractions == [(date(2024, 3, 29), Decimal("0.8"))]
        first, second = jobs(DEMO_MULTI_EMPLOYER_NISS)
        assert first[0].employer_id != second[0].employer_id
        assert first[0].end_date is None
        assert second[0].end_date is None
        left, back = jobs(DEMO_REHIRED_NISS)
        assert left[0].employer_id == back[0].employer_id
        assert left[0].end_reason == EndReason.END_OF_CONTRACT
        assert left[0].end_date is not None
        assert left[0].end_date < back[0].start_date
        changes = s.scalars(
            select(WorkFraction.valid_from).where(
                WorkFraction.valid_from > Employment.start_date,
                WorkFraction.employment_id == Employment.id,
            )
        ).all()
        assert date(2024, 9, 16) in changes  # a mid-month change
        assert any(d.month != 1 for d in changes)  # mid-year
        suspended = s.scalars(select(Suspension.reason)).all()
    assert "illness" in suspended


def test_a_second_load_adds_nothing_and_the_seed_decides_the_numbers(
    container: Container, loaded: DemoReport
) -> None:
    with _session(container) as s:
        stored = set(s.scalars(select(Person.national_number)))
        before = s.scalar(select(func.count()).select_from(Training))
    again = load_demo(container, seed=7)
    assert again == DemoReport(0, 0, 0, 0, 0, already_loaded=True)
    with _session(container) as s:
        assert s.scalar(select(func.count()).select_from(Training)) == before
        assert set(s.scalars(select(Person.national_number))) == stored
    planned = [p.national_number for p in build_plan(2024).persons]
    assert set(planned) == stored
    assert planned == [p.national_number for p in build_plan(2024).persons]
    other = [p.national_number for p in build_plan(7).persons]
    assert other != planned
    assert other[0] == planned[0] == DEMO_WORKER_NISS  # personas do not depend on the seed


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2024, 99999])
def test_the_bands_hold_for_any_seed(seed: int) -> None:
    from ila.demo.generator import declared_fte
    from ila.demo.names import BAKERY, CONSTRUCTION, CONSULTING, SOFTWARE, EmployerSpec

    plan = build_plan(seed)

    def average(spec: EmployerSpec, period: int) -> Decimal:
        reference = [(period - 2, 4), (period - 1, 1), (period - 1, 2), (period - 1, 3)]
        values = [v for y, q in reference if (v := declared_fte(plan, spec, y, q)) > 0]
        return sum(values, Decimal(0)) / len(values)

    for period in (2022, 2024, 2026):
        assert average(BAKERY, period) < 10
        assert 10 <= average(CONSULTING, period) < 20
        assert average(CONSTRUCTION, period) >= 20
        assert average(SOFTWARE, period) >= 20
