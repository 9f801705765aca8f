"""Importing employment declarations from the (simulated) authentic source into the platform's
tables, on SQLite and PostgreSQL: idempotent, corrections update, withdrawals remove, and the
rights engine picks the declarations up."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ila.bootstrap import Container
from ila.employment.models import Employment, QuarterlyFte, WorkFraction
from ila.errors import NotFound
from ila.identity.service import find_person
from ila.rights.models import RightVersion
from ila.rights.service import compute_year
from ila.sources.employment import (
    DeclaredEmployment,
    DeclaredQuarter,
    Sector,
    SimulatedEmploymentSource,
)
from ila.sources.models import SourceEmployment
from ila.sources.registry import seed_demo_sources
from ila.sources.service import import_employment
from tests.builders import fake_enterprise, fake_niss

REFERENCE_2024 = [(2022, 4), (2023, 1), (2023, 2), (2023, 3)]  # the 2024-2025 period's


def _source() -> tuple[SimulatedEmploymentSource, str]:
    source = SimulatedEmploymentSource()
    en = source.add_employer(
        fake_enterprise(1),
        "Declared Employer",
        [DeclaredQuarter(y, q, Decimal(40)) for y, q in REFERENCE_2024],
    )
    source.declare(
        DeclaredEmployment(
            line_id="dmfa-1",
            enterprise_number=en,
            national_number=fake_niss(1),
            given_name="Ada",
            family_name="Declared",
            start_date=date(2023, 1, 1),
            joint_committee="226",
            fractions=((date(2023, 1, 1), Decimal(1)),),
        )
    )
    return source, en


def _days(container: Container, niss: str, year: int) -> Decimal:
    with container.uow() as uow:
        person = find_person(uow.session, niss)
        days = uow.session.scalar(
            select(RightVersion.computed_days).where(
                RightVersion.person_id == person.id,
                RightVersion.year == year,
                RightVersion.superseded_at.is_(None),
            )
        )
    assert days is not None
    return days


def _count(container: Container, model: type) -> int:
    with container.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_declaration_change_changes_the_computed_right(container: Container) -> None:
    source, en = _source()
    first = import_employment(container, source, employer=en)
    assert (first.employers, first.created, first.updated, first.unchanged) == (1, 1, 0, 0)
    assert first.quarters_changed == 4
    compute_year(container, 2024)
    # 40 FTE → at least 20: 5 days a year; full time all year: 5 × 1 × 12/12 = 5
    assert _days(container, fake_niss(1), 2024) == Decimal("5.0000")

    again = import_employment(container, source, employer=en)
    assert (again.created, again.updated, again.unchanged, again.quarters_changed) == (0, 0, 1, 0)

    source.correct("dmfa-1", fractions=((date(2023, 1, 1), Decimal("0.5")),))
    corrected = import_employment(container, source, employer=en, compute_years=[2024])
    assert (corrected.created, corrected.updated) == (0, 1)
    assert corrected.computed[0].updated == 1
    # half time: 5 × 0.5 × 12/12 = 2.5
    assert _days(container, fake_niss(1), 2024) == Decimal("2.5000")
    assert _count(container, Employment) == 1
    assert _count(container, WorkFraction) == 1


def test_headcount_follows_the_declared_fte(container: Container) -> None:
    source, en = _source()
    import_employment(container, source, employer=en)
    for year, quarter in REFERENCE_2024:
        source.declare_quarter(en, DeclaredQuarter(year, quarter, Decimal("15.5")))
    report = import_employment(container, source, employer=en, compute_years=[2024])
    assert report.quarters_changed == 4
    # 15.5 FTE → band 10 to 19: 1 day a year
    assert _days(container, fake_niss(1), 2024) == Decimal("1.0000")
    with container.uow() as uow:
        ftes = set(uow.session.scalars(select(QuarterlyFte.fte)))
    assert ftes == {Decimal("15.50")}


def test_withdrawn_line_removes_its_employment(container: Container) -> None:
    source, _ = _source()
    import_employment(container, source)
    source.withdraw("dmfa-1")
    report = import_employment(container, source)
    assert report.withdrawn == 1
    assert _count(container, Employment) == 0
    assert _count(container, SourceEmployment) == 0


def test_new_employer_and_person_are_registered_once(container: Container) -> None:
    source, _ = _source()
    source.declare(
        replace(
            source.lines["dmfa-1"],
            line_id="dmfa-2",
            start_date=date(2025, 1, 1),
            fractions=((date(2025, 1, 1), Decimal("0.8")),),
        )
    )
    report = import_employment(container, source)
    assert report.created == 2
    with container.uow() as uow:
        person = find_person(uow.session, fake_niss(1))
        assert (person.given_name, person.family_name) == ("Ada", "Declared")
        fractions = sorted(uow.session.scalars(select(WorkFraction.fraction)))
    assert fractions == [Decimal("0.8"), Decimal(1)]


def test_public_sector_and_invalid_lines(container: Container) -> None:
    source, _ = _source()
    public = source.add_employer(fake_enterprise(2), "Public Body", sector=Sector.PUBLIC)
    source.declare(replace(source.lines["dmfa-1"], line_id="p-1", enterprise_number=public))
    source.declare(
        replace(source.lines["dmfa-1"], line_id="bad-1", joint_committee="2000", given_name="X")
    )
    en = next(iter(source.names))
    source.declare_quarter(en, DeclaredQuarter(2024, 5, Decimal(3)))
    report = import_employment(container, source)
    assert report.skipped == [public]
    assert report.created == 1
    assert report.quarters_changed == 4  # the valid ones
    assert len(report.errors) == 2
    assert "bad-1" in report.errors[0]
    assert "invalid_joint_committee" in report.errors[0]
    assert "2024-Q5" in report.errors[1]


def test_unknown_employer(container: Container) -> None:
    source, _ = _source()
    with pytest.raises(NotFound):
        import_employment(container, source, employer=fake_enterprise(9))


def test_demo_seeding_is_idempotent(container: Container) -> None:
    first = seed_demo_sources(container, seed=11)
    assert first.created > 0
    assert len(first.skipped) == 1  # the public-sector employer
    second = seed_demo_sources(container, seed=11)
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
