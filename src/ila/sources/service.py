"""Import employment declarations from an authentic source into the platform's employment
tables (``employments``, ``work_fractions``, ``quarterly_fte``), which the rights engine reads.

Idempotent: each declaration line is linked to the employment it created
(``source_employments``); importing the same declarations again changes nothing, a corrected
line updates its employment, a withdrawn line removes the employment it created. One
transaction per employer, like ``compute_year``: an interrupted import keeps what it finished."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.employment.domain import EmploymentFacts, EndReason
from ila.employment.models import Employment, QuarterlyFte, Suspension, WorkFraction
from ila.errors import DomainError
from ila.identity.domain import EnterpriseNumber, JointCommittee, NationalNumber
from ila.identity.models import Employer, Person
from ila.rights.service import ComputeReport, compute_employer_year
from ila.sources.employment import (
    DeclaredEmployment,
    EmployerDeclarations,
    EmploymentSource,
    Sector,
)
from ila.sources.models import SourceEmployment

DEFAULT_SOURCE = "dmfa"


@dataclass
class ImportReport:
    employers: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    quarters_changed: int = 0
    skipped: list[str] = field(default_factory=list)  # public-sector employers
    errors: list[str] = field(default_factory=list)
    computed: list[ComputeReport] = field(default_factory=list)


def import_employment(
    container: Container,
    source: EmploymentSource,
    *,
    employer: str | None = None,
    source_name: str = DEFAULT_SOURCE,
    compute_years: Sequence[int] = (),
    actor: str = "system:sources-import",
) -> ImportReport:
    """Import one employer's declarations (``employer``) or every employer's (``None``).

    Public-sector employers are skipped: the individual training right applies to the private
    sector (rules.md §1). With ``compute_years``, each imported employer's rights for those
    years are recomputed in the same transaction as its import."""
    numbers = (
        [EnterpriseNumber.parse(employer).value] if employer is not None else source.employers()
    )
    report = ImportReport()
    for en in numbers:
        declarations = source.declarations_of(en)  # NotFound for an unknown employer
        report.employers += 1
        if declarations.sector is not Sector.PRIVATE:
            report.skipped.append(en)
            continue
        with container.uow() as uow:
            employer_id = _employer_id(uow.session, declarations)
            _import_lines(uow.session, source_name, employer_id, declarations, report)
            report.quarters_changed += _import_quarters(
                uow.session, employer_id, declarations, report
            )
            for year in compute_years:
                computed = ComputeReport(year)
                compute_employer_year(
                    uow.session, container.rules, employer_id, year, computed, actor
                )
                report.computed.append(computed)
            uow.commit()
    return report


def _employer_id(session: Session, declarations: EmployerDeclarations) -> int:
    en = declarations.enterprise_number
    found = session.scalar(select(Employer.id).where(Employer.enterprise_number == en))
    if found is not None:
        return found
    row = Employer(enterprise_number=en, name=declarations.name[:200])
    session.add(row)
    session.flush()
    return row.id


def _person_id(session: Session, line: DeclaredEmployment) -> int:
    nn = NationalNumber.parse(line.national_number)
    found = session.scalar(select(Person.id).where(Person.national_number == nn.value))
    if found is not None:
        return found
    row = Person(
        national_number=nn.value,
        number_kind=nn.kind.value,
        given_name=line.given_name[:100],
        family_name=line.family_name[:100],
    )
    session.add(row)
    session.flush()
    return row.id


def _checked(line: DeclaredEmployment) -> tuple[EmploymentFacts, str]:
    """The line as employment facts, validated by the rules every channel uses."""
    NationalNumber.parse(line.national_number)
    jc = JointCommittee.parse(line.joint_committee)
    reason = EndReason.parse(line.end_reason) if line.end_reason is not None else None
    facts = EmploymentFacts.build(
        start=line.start_date,
        end=line.end_date,
        joint_committee=jc.code,
        fractions=line.fractions,
        end_reason=reason,
    )
    return facts, jc.code


def _import_lines(
    session: Session,
    source_name: str,
    employer_id: int,
    declarations: EmployerDeclarations,
    report: ImportReport,
) -> None:
    links = {
        link.line_id: link
        for link in session.scalars(
            select(SourceEmployment)
            .join(Employment, Employment.id == SourceEmployment.employment_id)
            .where(SourceEmployment.source == source_name, Employment.employer_id == employer_id)
        )
    }
    seen: set[str] = set()
    for line in declarations.employments:
        seen.add(line.line_id)
        fingerprint = line.fingerprint()
        link = links.get(line.line_id)
        if link is not None and link.fingerprint == fingerprint:
            report.unchanged += 1
            continue
        try:
            facts, jc = _checked(line)
        except DomainError as exc:
            report.errors.append(f"{declarations.enterprise_number} line {line.line_id}: {exc}")
            continue
        person_id = _person_id(session, line)
        if link is None:
            employment = Employment(person_id=person_id, employer_id=employer_id)
            session.add(employment)
            report.created += 1
        else:
            employment = session.get_one(Employment, link.employment_id)
            session.execute(delete(WorkFraction).where(WorkFraction.employment_id == employment.id))
            report.updated += 1
        employment.person_id = person_id
        employment.start_date = facts.start
        employment.end_date = facts.end
        employment.joint_committee = jc
        employment.end_reason = facts.end_reason.value if facts.end_reason else None
        session.flush()
        session.add_all(
            WorkFraction(
                employment_id=employment.id,
                valid_from=fp.valid_from,
                fraction=Decimal(fp.fraction.numerator) / fp.fraction.denominator,
            )
            for fp in facts.fractions
        )
        if link is None:
            session.add(
                SourceEmployment(
                    source=source_name,
                    line_id=line.line_id,
                    employment_id=employment.id,
                    fingerprint=fingerprint,
                )
            )
        else:
            link.fingerprint = fingerprint
            link.imported_at = utcnow()
    for line_id, link in links.items():
        if line_id not in seen:
            _remove(session, link)
            report.withdrawn += 1
    session.flush()


def _remove(session: Session, link: SourceEmployment) -> None:
    """A withdrawn line: remove the employment the import created for it."""
    employment_id = link.employment_id
    session.delete(link)
    session.flush()
    session.execute(delete(WorkFraction).where(WorkFraction.employment_id == employment_id))
    session.execute(delete(Suspension).where(Suspension.employment_id == employment_id))
    session.execute(delete(Employment).where(Employment.id == employment_id))


def _import_quarters(
    session: Session,
    employer_id: int,
    declarations: EmployerDeclarations,
    report: ImportReport,
) -> int:
    existing = {
        (row.year, row.quarter): row
        for row in session.scalars(
            select(QuarterlyFte).where(QuarterlyFte.employer_id == employer_id)
        )
    }
    changed = 0
    for q in declarations.quarters:
        if q.quarter not in (1, 2, 3, 4) or not 2000 <= q.year <= 2100 or q.fte < 0:
            report.errors.append(
                f"{declarations.enterprise_number} quarter {q.year}-Q{q.quarter}: "
                f"[out_of_range] quarter 1 to 4 of 2000 to 2100 with an FTE of 0 or more"
            )
            continue
        row = existing.get((q.year, q.quarter))
        if row is None:
            session.add(
                QuarterlyFte(
                    employer_id=employer_id,
                    year=q.year,
                    quarter=q.quarter,
                    fte=q.fte,
                    workers_declared=q.workers_declared,
                )
            )
            changed += 1
        elif row.fte != q.fte or row.workers_declared != q.workers_declared:
            row.fte = q.fte
            row.workers_declared = q.workers_declared
            row.recorded_at = utcnow()
            changed += 1
    return changed
