"""Use cases on training rights: compute a year for every employer, set rights for one worker
or many, and read the ledger with its explanation."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from itertools import pairwise
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.db.versioning import Operation, as_recorded_on
from ila.employment.domain import EmploymentFacts
from ila.errors import DomainError, NotFound, ValidationError
from ila.exchange.outbox import emit
from ila.identity.domain import NationalNumber
from ila.identity.models import Employer, Person
from ila.identity.service import find_employer, find_person
from ila.rights import repository as repo
from ila.rights.derivation import for_reading, for_storage
from ila.rights.domain import (
    Derivation,
    Headcount,
    LedgerYear,
    RightResult,
    fraction_str,
    to_storage,
)
from ila.rights.engine import (
    annual_days,
    annual_right,
    collective_pool,
    compute_headcount,
    reference_quarters,
    two_year_period,
)
from ila.rights.ledger import YearInput, fold_ledger
from ila.rights.models import RightVersion
from ila.rights.review import active_opt_outs, review_of
from ila.rights.rules import RuleSet
from ila.rights.units import format_days
from ila.trainings.service import used_minutes_by_year

MAX_DAYS_PER_YEAR = Decimal(366)
Progress = Callable[[int, int], None]


def headcount_for(session: Session, rules: RuleSet, employer_id: int, year: int) -> Headcount:
    period = two_year_period(year)
    quarters = reference_quarters(period)
    declarations = repo.quarter_declarations(
        session, employer_id, (quarters[0][0], quarters[-1][0])
    )
    fallback = None
    if not any(d.workers_declared and (d.year, d.quarter) in quarters for d in declarations):
        fallback = repo.fallback_fte(session, employer_id, date(period - 1, 10, 1))
    return compute_headcount(rules, period, declarations, fallback)


@dataclass(frozen=True)
class Computed:
    days: Fraction
    regime_id: str | None
    derivation: Derivation


Memo = dict[tuple[object, ...], RightResult]
"""``annual_right`` results of one employer and year (one rule set, one headcount)."""


def _memo_right(
    memo: Memo, rules: RuleSet, year: int, f: EmploymentFacts, hc: Headcount
) -> RightResult:
    """``annual_right`` through the memo. The key holds everything the result depends on: the
    joint committee, the employed part of the year (s..e), the work fractions with their start
    clamped to s, the number of suspensions. Most employments of an employer share it (whole
    year, full time), and share their derivation object (serialised once on insert)."""
    fps = f.fractions
    if fps[0].valid_from > f.start or any(b.valid_from <= a.valid_from for a, b in pairwise(fps)):
        return annual_right(rules, year, f, hc)  # fails exactly as before
    first, last = date(year, 1, 1), date(year, 12, 31)
    s = f.start if f.start > first else first
    e = f.end if f.end is not None and f.end < last else last
    key = (
        f.joint_committee,
        s,
        e,
        len(f.suspensions),
        *((fp.valid_from if fp.valid_from > s else s, fp.fraction) for fp in fps),
    )
    result = memo.get(key)
    if result is None:
        result = memo[key] = annual_right(rules, year, f, hc)
    return result


def person_days(
    rules: RuleSet, year: int, facts: Sequence[EmploymentFacts], hc: Headcount
) -> tuple[Decimal, str | None]:
    """The stored days and regime ``compute_person`` would give, without any derivation."""
    total, regime_id = Fraction(0), None
    for f in facts:
        days, regime = annual_days(rules, year, f, hc)
        total, regime_id = total + days, regime.id
    return to_storage(total), regime_id


def compute_person(
    rules: RuleSet, year: int, facts: Sequence[Any], hc: Headcount, memo: Memo | None = None
) -> Computed:
    """The right of one person with one employer: the sum over their employments that year."""
    results = [
        annual_right(rules, year, f, hc) if memo is None else _memo_right(memo, rules, year, f, hc)
        for f in facts
    ]
    if not results:
        return Computed(
            Fraction(0),
            None,
            {
                "rule_version": rules.version,
                "year": year,
                "note": "no employment with this employer this year",
                "total": "0",
            },
        )
    if len(results) == 1:
        return Computed(results[0].days, results[0].regime.id, results[0].derivation)
    total = sum((r.days for r in results), Fraction(0))
    return Computed(
        total,
        results[-1].regime.id,
        {
            "rule_version": rules.version,
            "year": year,
            "employments": [r.derivation for r in results],
            "total": fraction_str(total),
            "total_days": f"{to_storage(total):.2f}",
        },
    )


@dataclass
class ComputeReport:
    year: int
    employers: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    opted_out: int = 0  # left as they are: the employer opted out of the computation
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def worker_years(self) -> int:
        return self.created + self.updated + self.unchanged + self.opted_out


def _version_row(
    person_id: int,
    employer_id: int,
    year: int,
    version: int,
    computed: Computed,
    rules: RuleSet,
    prior: repo.CurrentRight | None,
    now: datetime,
    actor: str,
) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "employer_id": employer_id,
        "year": year,
        "version": version,
        "operation": Operation.COMPUTE.value,
        "recorded_at": now,
        "superseded_at": None,
        "recorded_by": actor,
        "reason": f"computed with rules {rules.version}",
        "computed_days": to_storage(computed.days),
        "rule_version": rules.version,
        "regime_id": computed.regime_id,
        "derivation": computed.derivation,
        "set_days": prior.set_days if prior else None,
        "set_reason": prior.set_reason if prior else None,
    }


def compute_employer_year(
    session: Session, rules: RuleSet, employer_id: int, year: int, report: ComputeReport, actor: str
) -> None:
    """Compute and store one employer's rights for one year; a new version only on change."""
    company_opted_out, workers_opted_out = active_opt_outs(session, employer_id, year)
    facts = repo.employments_in_year(session, employer_id, year)
    current = repo.current_rights(session, employer_id, year)
    if company_opted_out:
        report.opted_out += len(facts.keys() | current.keys())
        return
    hc = headcount_for(session, rules, employer_id, year)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    superseded: list[int] = []
    memo: Memo = {}
    # stored form of each distinct derivation object (memoised results share one), kept with
    # its original so that ids stay unique while the rows are built
    stored_forms: dict[int, tuple[Derivation, Derivation]] = {}
    for person_id in facts.keys() | current.keys():
        if person_id in workers_opted_out:
            report.opted_out += 1
            continue
        person_facts = facts.get(person_id, ())
        prior = current.get(person_id)
        if (
            prior is not None
            and prior.rule_version == rules.version
            and (prior.computed_days, prior.regime_id) == person_days(rules, year, person_facts, hc)
        ):
            report.unchanged += 1  # decided without building a derivation
            continue
        computed = compute_person(rules, year, person_facts, hc, memo)
        form = stored_forms.get(id(computed.derivation))
        if form is None:
            form = stored_forms[id(computed.derivation)] = (
                computed.derivation,
                for_storage(computed.derivation),
            )
        computed = replace(computed, derivation=form[1])
        if prior is not None:
            superseded.append(prior.id)
            report.updated += 1
        else:
            report.created += 1
        rows.append(
            _version_row(
                person_id,
                employer_id,
                year,
                prior.version + 1 if prior else 1,
                computed,
                rules,
                prior,
                now,
                actor,
            )
        )
    for start in range(0, len(superseded), 1000):
        session.execute(
            update(RightVersion)
            .where(RightVersion.id.in_(superseded[start : start + 1000]))
            .values(superseded_at=now)
        )
    repo.insert_versions(session, rows)


def compute_year(
    container: Container,
    year: int,
    *,
    actor: str = "system:rights-compute",
    progress: Progress | None = None,
) -> ComputeReport:
    """Compute every employer's rights for ``year``; one transaction per employer, so an
    interrupted run keeps what it finished and a re-run changes only what differs."""
    two_year_period(year)  # refuses years before the first period, before touching anything
    report = ComputeReport(year)
    started = time.perf_counter()
    with container.uow() as uow:
        ids = repo.employer_ids(uow.session)
    # Hundreds of thousands of short-lived objects per large employer would trigger the
    # cyclic GC over and over, each time scanning everything alive; the loop makes no
    # reference cycles worth collecting meanwhile (reference counting frees each employer's).
    gc_enabled = gc.isenabled()
    gc.disable()
    try:
        for done, employer_id in enumerate(ids, start=1):
            with container.uow() as uow:
                try:
                    compute_employer_year(
                        uow.session, container.rules, employer_id, year, report, actor
                    )
                    uow.commit()
                except DomainError as exc:
                    report.errors.append(f"employer {employer_id}: {exc}")
            report.employers = done
            if progress is not None:
                progress(done, len(ids))
    finally:
        if gc_enabled:
            gc.enable()
    report.seconds = time.perf_counter() - started
    return report


# --- setting rights by the employer -------------------------------------------------------


@dataclass(frozen=True)
class SetRight:
    national_number: str
    year: int
    days: object | None  # None: go back to the computed value
    reason: str


@dataclass(frozen=True)
class ItemResult:
    index: int
    status: str  # "accepted" | "unchanged" | "rejected"
    version: int | None = None
    error: dict[str, Any] | None = None


def _parse_days(raw: object) -> Decimal:
    try:
        days = Decimal(str(raw))
    except InvalidOperation:
        raise ValidationError(f"{raw!r} is not a number of days", field="days") from None
    if not days.is_finite() or not Decimal(0) <= days <= MAX_DAYS_PER_YEAR:
        raise ValidationError("days must be between 0 and 366", field="days", code="out_of_range")
    return days.quantize(Decimal("0.0001"))


def _worker_id(session: Session, national_number: str) -> int | None:
    """The person's id, or None when unknown (validation errors still raise)."""
    try:
        return find_person(session, national_number).id
    except NotFound:
        return None


def _set_one(
    session: Session, rules: RuleSet, employer: Employer, item: SetRight, actor: str
) -> ItemResult | int:
    if not 2022 <= item.year <= 2100:
        raise ValidationError(
            f"year {item.year} is outside 2022–2100", field="year", code="out_of_range"
        )
    days = None if item.days is None else _parse_days(item.days)
    reason = item.reason.strip()
    if not reason:
        raise ValidationError("a reason is required", field="reason", code="required")
    person_id = _worker_id(session, item.national_number)
    facts = (
        repo.employments_in_year(session, employer.id, item.year, person_id)
        if person_id is not None
        else {}
    )
    if person_id is None or person_id not in facts:
        # one answer whether or not the person exists elsewhere: no existence leak
        raise NotFound(
            f"no employment of this person with this employer in {item.year}",
            field="national_number",
        )
    person = session.get_one(Person, person_id)
    prior = repo.current_rights(session, employer.id, item.year, person.id).get(person.id)
    if prior is not None and prior.set_days == days and prior.set_reason == reason:
        return prior.version
    if prior is not None and prior.rule_version == rules.version:
        computed_days, regime, derivation, rule_version = (
            prior.computed_days,
            prior.regime_id,
            session.scalar(select(RightVersion.derivation).where(RightVersion.id == prior.id)),
            prior.rule_version,
        )
    else:
        hc = headcount_for(session, rules, employer.id, item.year)
        c = compute_person(rules, item.year, facts[person.id], hc)
        computed_days, regime, derivation, rule_version = (
            to_storage(c.days),
            c.regime_id,
            for_storage(c.derivation),
            rules.version,
        )
    now = utcnow()
    if prior is not None:
        session.execute(
            update(RightVersion).where(RightVersion.id == prior.id).values(superseded_at=now)
        )
    version = prior.version + 1 if prior else 1
    session.add(
        RightVersion(
            person_id=person.id,
            employer_id=employer.id,
            year=item.year,
            version=version,
            operation=Operation.SET.value,
            recorded_at=now,
            recorded_by=actor,
            reason=reason,
            computed_days=computed_days,
            rule_version=rule_version,
            regime_id=regime,
            derivation=derivation,
            set_days=days,
            set_reason=reason if days is not None else None,
        )
    )
    session.flush()
    emit(
        session,
        "ila.account.right.set",
        person.national_number,
        {"employer": employer.enterprise_number, "year": item.year, "version": version},
    )
    return ItemResult(0, "accepted", version)


def set_rights(
    container: Container, *, enterprise_number: str, items: Sequence[SetRight], actor: str
) -> list[ItemResult]:
    """Register or change rights for one worker or many: valid items are applied, invalid ones
    are rejected each with its stable error code; one transaction for the whole call."""
    results: list[ItemResult] = []
    with container.uow() as uow:
        employer = find_employer(uow.session, enterprise_number)
        for index, item in enumerate(items):
            savepoint = uow.session.begin_nested()
            try:
                outcome = _set_one(uow.session, container.rules, employer, item, actor)
            except DomainError as exc:
                savepoint.rollback()
                error = exc.as_dict()
                error["path"] = f"items[{index}]" + (f".{exc.field}" if exc.field else "")
                results.append(ItemResult(index, "rejected", error=error))
                continue
            savepoint.commit()
            if isinstance(outcome, int):
                results.append(ItemResult(index, "unchanged", outcome))
            else:
                results.append(ItemResult(index, "accepted", outcome.version))
        uow.commit()
    return results


# --- reading: ledger and explanation --------------------------------------------------------


def ledger(
    session: Session,
    rules: RuleSet,
    person_id: int,
    employer: Employer,
    year: int,
    as_of: datetime | None = None,
) -> list[LedgerYear]:
    """The person × employer account from the start of the year's 5-year window to ``year``."""
    first, _ = rules.window_for(year)
    versions = {
        v.year: v
        for v in session.scalars(
            select(RightVersion).where(
                RightVersion.person_id == person_id,
                RightVersion.employer_id == employer.id,
                RightVersion.year.between(first, year),
                as_recorded_on(RightVersion, as_of),
            )
        )
    }
    used = used_minutes_by_year(session, person_id, employer.id, as_of=as_of)
    ends = {
        f.end.year: f
        for f in repo.employments_of(session, person_id, employer.id)
        if f.end is not None
    }
    inputs = [
        YearInput(
            year=y,
            entitlement=Fraction(versions[y].effective_days) if y in versions else Fraction(0),
            used=Fraction(used.get(y, 0), employer.full_time_day_minutes),
            employment_end=ends[y].end if y in ends else None,
            end_reason=ends[y].end_reason if y in ends else None,
        )
        for y in range(first, year + 1)
        if y in versions or y in used
    ]
    return fold_ledger(rules, inputs)


def _days_view(days: Fraction | Decimal | None, day_minutes: int) -> dict[str, str] | None:
    if days is None:
        return None
    exact = Fraction(days)
    return {
        "exact": fraction_str(exact),
        "days": f"{to_storage(exact):.2f}",
        "text": format_days(exact, day_minutes),
    }


def explain(
    container: Container,
    national_number: str,
    enterprise_number: str,
    year: int,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """Everything behind one person's right with one employer for one year."""
    rules = container.rules
    with container.uow() as uow:
        s = uow.session
        NationalNumber.parse(national_number)  # malformed input is reported before lookups
        employer = find_employer(s, enterprise_number)
        person_id = _worker_id(s, national_number)
        if person_id is None:
            raise NotFound(
                f"no right and no employment of this person with this employer in {year}",
                field="national_number",
            )
        person = s.get_one(Person, person_id)
        hc = headcount_for(s, rules, employer.id, year)
        stored = s.scalar(
            select(RightVersion).where(
                RightVersion.person_id == person.id,
                RightVersion.employer_id == employer.id,
                RightVersion.year == year,
                as_recorded_on(RightVersion, as_of),
            )
        )
        if stored is None:
            facts = repo.employments_in_year(s, employer.id, year, person.id).get(person.id)
            if not facts:
                raise NotFound(
                    f"no right and no employment of this person with this employer in {year}",
                    field="national_number",
                )
            preview = compute_person(rules, year, facts, hc)
            entitlement: dict[str, Any] = {
                "status": "preview",
                "computed": _days_view(preview.days, employer.full_time_day_minutes),
                "set": None,
                "set_reason": None,
                "version": None,
                "effective": _days_view(preview.days, employer.full_time_day_minutes),
            }
            derivation = preview.derivation
        else:
            dm = employer.full_time_day_minutes
            entitlement = {
                "status": "recorded",
                "version": stored.version,
                "recorded_at": stored.recorded_at.isoformat(),
                "recorded_by": stored.recorded_by,
                "computed": _days_view(stored.computed_days, dm),
                "set": _days_view(stored.set_days, dm),
                "set_reason": stored.set_reason,
                "effective": _days_view(stored.effective_days, dm),
            }
            derivation = for_reading(stored.derivation or {}, rules)
        years = ledger(s, rules, person.id, employer, year, as_of)
        review = review_of(s, employer.id, person.id, year) if as_of is None else None
        regime_id = stored.regime_id if stored is not None else preview.regime_id
        regime = next((r for r in rules.regimes if r.id == regime_id), None)
        pool = collective_pool(regime, hc) if regime is not None else None
        return {
            "person": {
                "national_number": person.national_number,
                "name": f"{person.given_name} {person.family_name}",
            },
            "employer": {
                "enterprise_number": employer.enterprise_number,
                "name": employer.name,
                "full_time_day_minutes": employer.full_time_day_minutes,
            },
            "year": year,
            "as_of": as_of.isoformat() if as_of else None,
            "rule_version": rules.version,
            "headcount": hc.derivation,
            "collective_pool": (
                _days_view(pool, employer.full_time_day_minutes) if pool is not None else None
            ),
            "entitlement": entitlement,
            "review": review.as_dict() if review is not None else None,
            "derivation": derivation,
            "ledger": [_ledger_view(y, employer.full_time_day_minutes) for y in years],
        }


def _ledger_view(y: LedgerYear, day_minutes: int) -> dict[str, Any]:
    return {
        "year": y.year,
        "window": list(y.window),
        "expires_on": y.expires_on.isoformat(),
        "departure": y.departure.value if y.departure else None,
        **{
            name: _days_view(getattr(y, name), day_minutes)
            for name in ("entitlement", "carried_in", "used", "balance", "carried_out", "expiring")
        },
        "derivation": y.derivation,
    }
