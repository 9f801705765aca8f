"""Bulk reads for the rights engine: plain Core selects returning tuples (no ORM identity map),
so that computing a million worker-years stays within a small factor of reading the inputs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from ila.employment.domain import EmploymentFacts, EndReason, FractionPeriod
from ila.employment.models import Employment, QuarterlyFte, WorkFraction
from ila.identity.models import Employer
from ila.rights.domain import QuarterFTE
from ila.rights.models import RightVersion


@dataclass(frozen=True, slots=True)
class CurrentRight:
    id: int
    version: int
    computed_days: Decimal | None
    rule_version: str | None
    regime_id: str | None
    set_days: Decimal | None
    set_reason: str | None


def employer_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Employer.id).order_by(Employer.id)))


def quarter_declarations(
    session: Session,
    employer_id: int,
    years: tuple[int, int],
) -> list[QuarterFTE]:
    rows = session.execute(
        select(
            QuarterlyFte.year, QuarterlyFte.quarter, QuarterlyFte.fte, QuarterlyFte.workers_declared
        ).where(
            QuarterlyFte.employer_id == employer_id, QuarterlyFte.year.between(years[0], years[1])
        )
    )
    return [QuarterFTE(y, q, fte, declared) for y, q, fte, declared in rows]


def _active_on(day: date) -> object:
    return and_(
        Employment.start_date <= day, or_(Employment.end_date.is_(None), Employment.end_date >= day)
    )


def fallback_fte(session: Session, employer_id: int, after: date) -> Decimal | None:
    """FTE of the workers employed on the last day of the quarter of the first employment
    after ``after`` (rules 1.2, when nothing was declared in the reference period)."""
    first = session.scalar(
        select(Employment.start_date)
        .where(
            Employment.employer_id == employer_id,
            or_(Employment.end_date.is_(None), Employment.end_date >= after),
        )
        .order_by(Employment.start_date)
        .limit(1)
    )
    if first is None:
        return None
    first = max(first, after)
    quarter_end_month = ((first.month - 1) // 3 + 1) * 3
    last_day = {3: 31, 6: 30, 9: 30, 12: 31}[quarter_end_month]
    day = date(first.year, quarter_end_month, last_day)
    total = Decimal(0)
    for facts in _facts(session, employer_id, date(day.year, 1, 1), day).values():
        for f in facts:
            if f.start <= day and (f.end is None or f.end >= day):
                in_force = [p for p in f.fractions if p.valid_from <= day]
                fraction = in_force[-1].fraction if in_force else f.fractions[0].fraction
                total += Decimal(fraction.numerator) / Decimal(fraction.denominator)
    return total


def _facts(
    session: Session,
    employer_id: int,
    first_day: date,
    last_day: date,
    person_id: int | None = None,
) -> dict[int, list[EmploymentFacts]]:
    query = (
        select(
            Employment.id,
            Employment.person_id,
            Employment.start_date,
            Employment.end_date,
            Employment.joint_committee,
            Employment.end_reason,
            WorkFraction.valid_from,
            WorkFraction.fraction,
        )
        .join(WorkFraction, WorkFraction.employment_id == Employment.id)
        .where(
            Employment.employer_id == employer_id,
            Employment.start_date <= last_day,
            or_(Employment.end_date.is_(None), Employment.end_date >= first_day),
        )
        .order_by(Employment.id, WorkFraction.valid_from)
    )
    if person_id is not None:
        query = query.where(Employment.person_id == person_id)
    by_employment: dict[
        int, tuple[int, date, date | None, str, str | None, list[FractionPeriod]]
    ] = {}
    exact: dict[Decimal, Fraction] = {}  # a handful of distinct fractions: convert each once
    # Core execution on the connection: no ORM statement handling for a plain tuple select
    for emp_id, pid, start, end, jc, reason, valid_from, stored in session.connection().execute(
        query
    ):
        entry = by_employment.get(emp_id)
        if entry is None:
            entry = by_employment[emp_id] = (pid, start, end, jc, reason, [])
        fraction = exact.get(stored)
        if fraction is None:
            fraction = exact[stored] = Fraction(stored)
        entry[5].append(FractionPeriod(valid_from if valid_from > start else start, fraction))
    result: dict[int, list[EmploymentFacts]] = defaultdict(list)
    for pid, start, end, jc, reason, fractions in by_employment.values():
        result[pid].append(
            EmploymentFacts(start, end, jc, tuple(fractions), EndReason(reason) if reason else None)
        )
    return result


def employments_in_year(
    session: Session, employer_id: int, year: int, person_id: int | None = None
) -> dict[int, list[EmploymentFacts]]:
    """Employments of this employer overlapping ``year``, per person."""
    return _facts(session, employer_id, date(year, 1, 1), date(year, 12, 31), person_id)


def employments_of(
    session: Session,
    person_id: int,
    employer_id: int,
) -> list[EmploymentFacts]:
    return _facts(session, employer_id, date.min, date.max, person_id).get(person_id, [])


def current_rights(
    session: Session, employer_id: int, year: int, person_id: int | None = None
) -> dict[int, CurrentRight]:
    query = select(
        RightVersion.person_id,
        RightVersion.id,
        RightVersion.version,
        RightVersion.computed_days,
        RightVersion.rule_version,
        RightVersion.regime_id,
        RightVersion.set_days,
        RightVersion.set_reason,
    ).where(
        RightVersion.employer_id == employer_id,
        RightVersion.year == year,
        RightVersion.superseded_at.is_(None),
    )
    if person_id is not None:
        query = query.where(RightVersion.person_id == person_id)
    return {row[0]: CurrentRight(*row[1:]) for row in session.execute(query)}


_VERSION_COLUMNS = (
    "person_id",
    "employer_id",
    "year",
    "version",
    "operation",
    "recorded_at",
    "superseded_at",
    "recorded_by",
    "reason",
    "computed_days",
    "rule_version",
    "regime_id",
    "derivation",
    "set_days",
    "set_reason",
)


def insert_versions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new right versions in bulk: ``COPY`` on PostgreSQL, each distinct derivation
    serialised once with orjson (rows may share one derivation object); one executemany
    elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(RightVersion), rows)
        return
    documents: dict[int, str | None] = {}  # by id(): every derivation stays alive in ``rows``
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY right_versions ({', '.join(_VERSION_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            derivation = row["derivation"]
            key = id(derivation)
            if key not in documents:
                documents[key] = None if derivation is None else orjson.dumps(derivation).decode()
            copy.write_row(
                [documents[key] if c == "derivation" else row.get(c) for c in _VERSION_COLUMNS]
            )
