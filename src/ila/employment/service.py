"""Use cases on employments and quarterly FTE declarations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ila.db.uow import UnitOfWork
from ila.employment.domain import EmploymentFacts, EndReason, check_period
from ila.employment.models import Employment, QuarterlyFte, Suspension, WorkFraction
from ila.errors import InvalidPeriod, NotFound, ValidationError
from ila.identity.domain import JointCommittee
from ila.identity.service import find_employer, find_person


@dataclass(frozen=True)
class RegisterEmployment:
    national_number: str
    enterprise_number: str
    start_date: date
    joint_committee: str
    fractions: Sequence[tuple[date, object]]  # (valid from, fraction in (0, 1])
    end_date: date | None = None
    end_reason: str | None = None
    suspensions: Sequence[tuple[date, date, str]] = ()


def register_employment(uow: UnitOfWork, cmd: RegisterEmployment) -> int:
    jc = JointCommittee.parse(cmd.joint_committee)
    reason = EndReason.parse(cmd.end_reason) if cmd.end_reason is not None else None
    if reason is not None and cmd.end_date is None:
        raise ValidationError("an end reason needs an end date", field="end_date", code="required")
    facts = EmploymentFacts.build(
        start=cmd.start_date,
        end=cmd.end_date,
        joint_committee=jc.code,
        fractions=cmd.fractions,
        end_reason=reason,
    )
    for i, (s_start, s_end, _) in enumerate(cmd.suspensions):
        check_period(s_start, s_end, field=f"suspensions[{i}].end_date")
    with uow:
        person = find_person(uow.session, cmd.national_number)
        employer = find_employer(uow.session, cmd.enterprise_number)
        employment = Employment(
            person_id=person.id,
            employer_id=employer.id,
            start_date=facts.start,
            end_date=facts.end,
            joint_committee=jc.code,
            end_reason=reason.value if reason else None,
        )
        uow.session.add(employment)
        uow.session.flush()
        uow.session.add_all(
            WorkFraction(
                employment_id=employment.id,
                valid_from=fp.valid_from,
                fraction=Decimal(fp.fraction.numerator) / fp.fraction.denominator,
            )
            for fp in facts.fractions
        )
        uow.session.add_all(
            Suspension(employment_id=employment.id, start_date=s, end_date=e, reason=r)
            for s, e, r in cmd.suspensions
        )
        uow.commit()
        return employment.id


def end_employment(uow: UnitOfWork, employment_id: int, *, end_date: date, end_reason: str) -> None:
    reason = EndReason.parse(end_reason)
    with uow:
        employment = uow.session.get(Employment, employment_id)
        if employment is None:
            raise NotFound(f"no employment {employment_id}", field="employment_id")
        check_period(employment.start_date, end_date)
        employment.end_date = end_date
        employment.end_reason = reason.value
        uow.commit()


def declare_quarter(
    uow: UnitOfWork,
    *,
    enterprise_number: str,
    year: int,
    quarter: int,
    fte: object,
    workers_declared: bool = True,
) -> None:
    """Record (or correct) the FTE an employer declared at the end of a quarter."""
    if quarter not in (1, 2, 3, 4):
        raise ValidationError(
            f"quarter must be 1 to 4, got {quarter}", field="quarter", code="out_of_range"
        )
    if not 2000 <= year <= 2100:
        raise InvalidPeriod(f"year {year} is out of range", field="year")
    try:
        value = Decimal(str(fte))
    except InvalidOperation:
        raise ValidationError(f"{fte!r} is not a number", field="fte") from None
    if not value.is_finite() or value < 0:
        raise ValidationError("FTE must be zero or more", field="fte", code="out_of_range")
    with uow:
        employer = find_employer(uow.session, enterprise_number)
        row = uow.session.scalar(
            select(QuarterlyFte).where(
                QuarterlyFte.employer_id == employer.id,
                QuarterlyFte.year == year,
                QuarterlyFte.quarter == quarter,
            )
        )
        if row is None:
            uow.session.add(
                QuarterlyFte(
                    employer_id=employer.id,
                    year=year,
                    quarter=quarter,
                    fte=value,
                    workers_declared=workers_declared,
                )
            )
        else:
            row.fte = value
            row.workers_declared = workers_declared
        uow.commit()
