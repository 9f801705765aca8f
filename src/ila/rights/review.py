"""The employer's review of the yearly computation: verify a computed right, or opt out of the
computation for a year (the whole company or one worker) with a reason.

FLA practice (rules.md §1.9): the right of each year is computed from the employment
declarations and verified by the employer within 30 days; an employer may opt out yearly per
company or per worker. Decisions (ADR 0016):

* A verification confirms one recorded *version*: when the right changes afterwards (new
  declarations, new rules, the employer's own value), it is *to verify* again.
* The verification is due 30 days after the version was recorded; later it is *overdue*.
* An opt-out stops the yearly computation for its scope (``compute_year`` leaves those rights
  as they are); the employer registers the right itself (``set_rights``). The computed value
  stays visible for information. Withdrawing an opt-out keeps its history; computing resumes
  at the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import Conflict, DomainError, NotFound, ValidationError
from ila.identity.models import Employer, Person
from ila.identity.service import find_employer, find_person
from ila.rights.models import RightOptOut, RightVerification, RightVersion
from ila.rights.repository import employments_in_year

VERIFICATION_DELAY = timedelta(days=30)
MAX_REASON = 500

ReviewStatus = Literal["verified", "to_verify", "overdue", "opted_out"]


class AlreadyOptedOut(Conflict):
    code = "already_opted_out"


@dataclass(frozen=True)
class Review:
    """Where one worker's right for a year stands in the employer's review."""

    status: ReviewStatus
    version: int | None
    due: datetime | None
    verified_at: datetime | None = None
    verified_by: str | None = None
    opt_out_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "version": self.version,
            "due": self.due.isoformat() if self.due else None,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
            "verified_by": self.verified_by,
            "opt_out_id": self.opt_out_id,
        }


@dataclass(frozen=True)
class VerifyResult:
    index: int
    status: Literal["accepted", "unchanged", "rejected"]
    version: int | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class OptOutView:
    id: int
    year: int
    scope: Literal["company", "worker"]
    national_number: str | None
    reason: str
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdraw_reason: str | None


def _reason(value: str, field: str = "reason") -> str:
    reason = value.strip()
    if not reason:
        raise ValidationError("a reason is required", field=field, code="required")
    if len(reason) > MAX_REASON:
        raise ValidationError(
            f"the reason is longer than {MAX_REASON} characters", field=field, code="too_long"
        )
    return reason


def _year(year: int) -> int:
    if not 2022 <= year <= 2100:
        raise ValidationError(
            f"year {year} is outside 2022–2100", field="year", code="out_of_range"
        )
    return year


def _no_right(year: int) -> NotFound:
    # the same answer whether the person is unknown or works elsewhere: nothing leaks
    return NotFound(
        f"no recorded right of this worker with this employer in {year}", field="national_number"
    )


def _current(session: Session, employer_id: int, person_id: int, year: int) -> RightVersion | None:
    return session.scalar(
        select(RightVersion).where(
            RightVersion.employer_id == employer_id,
            RightVersion.person_id == person_id,
            RightVersion.year == year,
            RightVersion.superseded_at.is_(None),
        )
    )


def active_opt_outs(session: Session, employer_id: int, year: int) -> tuple[bool, set[int]]:
    """(whole company opted out?, workers opted out one by one) for the yearly computation."""
    rows = session.execute(
        select(RightOptOut.person_id).where(
            RightOptOut.employer_id == employer_id,
            RightOptOut.year == year,
            RightOptOut.withdrawn_at.is_(None),
        )
    ).scalars()
    people = set()
    company = False
    for person_id in rows:
        if person_id is None:
            company = True
        else:
            people.add(person_id)
    return company, people


def review_of(
    session: Session, employer_id: int, person_id: int, year: int, *, now: datetime | None = None
) -> Review | None:
    """The review status of the current right, or None when nothing is recorded yet."""
    company, people = active_opt_outs(session, employer_id, year)
    current = _current(session, employer_id, person_id, year)
    if company or person_id in people:
        opt_out = session.scalar(
            select(RightOptOut.id).where(
                RightOptOut.employer_id == employer_id,
                RightOptOut.year == year,
                RightOptOut.withdrawn_at.is_(None),
                (RightOptOut.person_id.is_(None) | (RightOptOut.person_id == person_id)),
            )
        )
        return Review("opted_out", current.version if current else None, None, opt_out_id=opt_out)
    if current is None:
        return None
    due = current.recorded_at + VERIFICATION_DELAY
    seen = session.scalar(
        select(RightVerification).where(RightVerification.right_version_id == current.id)
    )
    if seen is not None:
        return Review("verified", current.version, due, seen.verified_at, seen.verified_by)
    return Review("overdue" if (now or utcnow()) > due else "to_verify", current.version, due)


def _verify_one(
    session: Session, employer: Employer, national_number: str, year: int, actor: str, now: datetime
) -> tuple[bool, int]:
    person_id = _person_id(session, national_number)
    current = _current(session, employer.id, person_id, year) if person_id else None
    if person_id is None or current is None:
        raise _no_right(year)
    done = session.scalar(
        select(RightVerification.id).where(RightVerification.right_version_id == current.id)
    )
    if done is not None:
        return False, current.version
    session.add(
        RightVerification(
            right_version_id=current.id,
            person_id=person_id,
            employer_id=employer.id,
            year=year,
            verified_at=now,
            verified_by=actor,
        )
    )
    session.flush()
    return True, current.version


def _person_id(session: Session, national_number: str) -> int | None:
    try:
        return find_person(session, national_number).id
    except NotFound:
        return None


def verify_rights(
    container: Container,
    *,
    enterprise_number: str,
    year: int,
    national_numbers: Sequence[str] | None,
    actor: str,
) -> tuple[list[VerifyResult], list[str]]:
    """Verify the current right of the given workers (``None``: every worker with a recorded
    right that year). Per item: accepted, unchanged (already verified) or rejected with its
    error. Returns the results and the national numbers newly verified."""
    _year(year)
    results: list[VerifyResult] = []
    verified: list[str] = []
    now = utcnow()
    with container.uow() as uow:
        s = uow.session
        employer = find_employer(s, enterprise_number)
        if national_numbers is None:
            national_numbers = list(
                s.scalars(
                    select(Person.national_number)
                    .join(RightVersion, RightVersion.person_id == Person.id)
                    .where(
                        RightVersion.employer_id == employer.id,
                        RightVersion.year == year,
                        RightVersion.superseded_at.is_(None),
                    )
                    .order_by(Person.national_number)
                )
            )
        for index, national_number in enumerate(national_numbers):
            savepoint = s.begin_nested()
            try:
                created, version = _verify_one(s, employer, national_number, year, actor, now)
            except DomainError as exc:
                savepoint.rollback()
                error = exc.as_dict()
                error["path"] = f"items[{index}]" + (f".{exc.field}" if exc.field else "")
                results.append(VerifyResult(index, "rejected", error=error))
                continue
            savepoint.commit()
            results.append(VerifyResult(index, "accepted" if created else "unchanged", version))
            if created:
                verified.append(national_number)
        uow.commit()
    return results, verified


def _view(row: RightOptOut, national_number: str | None) -> OptOutView:
    return OptOutView(
        id=row.id,
        year=row.year,
        scope="worker" if row.person_id is not None else "company",
        national_number=national_number,
        reason=row.reason,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        withdrawn_at=row.withdrawn_at,
        withdrawn_by=row.withdrawn_by,
        withdraw_reason=row.withdraw_reason,
    )


def opt_out(
    container: Container,
    *,
    enterprise_number: str,
    year: int,
    national_number: str | None,
    reason: str,
    actor: str,
) -> OptOutView:
    """Opt out of the yearly computation for ``year``: the whole company (no national number)
    or one worker employed that year. A second active opt-out of the same scope is refused."""
    _year(year)
    text = _reason(reason)
    with container.uow() as uow:
        s = uow.session
        employer = find_employer(s, enterprise_number)
        person_id: int | None = None
        if national_number is not None:
            person_id = _person_id(s, national_number)
            if person_id is None or not _employed(s, employer.id, person_id, year):
                raise NotFound(
                    f"no employment of this worker with this employer in {year}",
                    field="national_number",
                )
        company, people = active_opt_outs(s, employer.id, year)
        if (person_id is None and company) or (person_id is not None and person_id in people):
            raise AlreadyOptedOut(
                f"an opt-out for this {'worker' if person_id else 'company'} and {year} is "
                "already active; withdraw it first",
                field="national_number" if person_id else "year",
            )
        row = RightOptOut(
            employer_id=employer.id,
            person_id=person_id,
            year=year,
            reason=text,
            recorded_at=utcnow(),
            recorded_by=actor,
        )
        s.add(row)
        s.flush()
        view = _view(row, national_number and find_person(s, national_number).national_number)
        uow.commit()
    return view


def _employed(session: Session, employer_id: int, person_id: int, year: int) -> bool:
    return bool(employments_in_year(session, employer_id, year, person_id).get(person_id))


def withdraw_opt_out(
    container: Container, *, enterprise_number: str, opt_out_id: int, reason: str, actor: str
) -> OptOutView:
    """Withdraw an active opt-out (kept with who, when and why); computing resumes."""
    text = _reason(reason)
    with container.uow() as uow:
        s = uow.session
        employer = find_employer(s, enterprise_number)
        row = s.get(RightOptOut, opt_out_id)
        if row is None or row.employer_id != employer.id:
            raise NotFound("no such opt-out for this employer", field="opt_out_id")
        if row.withdrawn_at is not None:
            raise Conflict("this opt-out is already withdrawn", code="already_withdrawn")
        row.withdrawn_at = utcnow()
        row.withdrawn_by = actor
        row.withdraw_reason = text
        s.flush()
        view = _view(row, _national_number(s, row.person_id))
        uow.commit()
    return view


def _national_number(session: Session, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return session.get_one(Person, person_id).national_number


def list_opt_outs(session: Session, employer_id: int, year: int) -> list[OptOutView]:
    """Every opt-out of the employer for the year, withdrawn ones included, oldest first."""
    rows = session.execute(
        select(RightOptOut, Person.national_number)
        .outerjoin(Person, Person.id == RightOptOut.person_id)
        .where(RightOptOut.employer_id == employer_id, RightOptOut.year == year)
        .order_by(RightOptOut.id)
    ).all()
    return [_view(row, nn) for row, nn in rows]


@dataclass(frozen=True)
class ReviewSummary:
    year: int
    verified: int
    to_verify: int
    overdue: int
    opted_out: int
    company_opted_out: bool


def review_summary(
    session: Session, employer_id: int, year: int, *, now: datetime | None = None
) -> ReviewSummary:
    """Counts of current rights by review status (one pass over the year's current rights)."""
    company, people = active_opt_outs(session, employer_id, year)
    rows = session.execute(
        select(RightVersion.person_id, RightVersion.recorded_at, RightVerification.id)
        .outerjoin(RightVerification, RightVerification.right_version_id == RightVersion.id)
        .where(
            RightVersion.employer_id == employer_id,
            RightVersion.year == year,
            RightVersion.superseded_at.is_(None),
        )
    ).all()
    moment = now or utcnow()
    counts = {"verified": 0, "to_verify": 0, "overdue": 0, "opted_out": 0}
    for person_id, recorded_at, verification in rows:
        if company or person_id in people:
            counts["opted_out"] += 1
        elif verification is not None:
            counts["verified"] += 1
        elif moment > recorded_at + VERIFICATION_DELAY:
            counts["overdue"] += 1
        else:
            counts["to_verify"] += 1
    return ReviewSummary(year=year, company_opted_out=company, **counts)
