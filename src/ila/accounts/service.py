"""Read use cases: an employer's workers, its dashboard, a person's account across employers.

Each reads in one unit of work (or in a session the caller hands in) and returns plain dicts
shaped like the API schemas of ``ila.api.read_schemas``. The employer-wide reads cost a fixed
number of queries whatever the number of workers: the ledger of every worker is folded in
memory from one read of the rights, one of the trainings and one of the employments."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Date, Integer, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ila.accounts.dashboard import employer_dashboard as employer_dashboard  # noqa: PLC0414
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.db.versioning import as_recorded_on
from ila.employment.domain import EndReason
from ila.employment.models import Employment, WorkFraction
from ila.errors import NotFound, ValidationError
from ila.identity.domain import NationalNumber
from ila.identity.models import Employer, Person
from ila.identity.service import find_person
from ila.rights.domain import LedgerYear, fraction_str, to_storage
from ila.rights.engine import reference_quarters
from ila.rights.ledger import YearInput, fold_ledger
from ila.rights.models import RightVersion
from ila.rights.rules import RuleSet, load_rules
from ila.rights.service import headcount_for
from ila.rights.units import format_days
from ila.trainings.domain import Status
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import trainings_of

_ZERO = Fraction(0)
_AMOUNTS = ("entitlement", "carried_in", "used", "balance", "expiring")
MAX_PAGE = 500


# --- formatting -----------------------------------------------------------------------------


def days_view(days: Fraction, day_minutes: int) -> dict[str, str]:
    """Exact fraction, two decimals and days-hours-minutes text of an amount of days."""
    return {
        "exact": fraction_str(days),
        "days": f"{to_storage(days):.2f}",
        "text": format_days(days, day_minutes),
    }


def amount_view(days: Fraction) -> dict[str, str]:
    """A sum over employers with different working days: exact and two decimals only."""
    return {"exact": fraction_str(days), "days": f"{to_storage(days):.2f}"}


def _name(person: Person | _PersonRow) -> str:
    return f"{person.given_name} {person.family_name}"


@contextmanager
def _reading(source: Container | Session) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
        return
    with source.uow() as uow:
        yield uow.session


# --- cursors --------------------------------------------------------------------------------


def encode_cursor(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int:
    """The id after which the page starts (0: first page); a malformed cursor is a 422."""
    if cursor is None:
        return 0
    invalid = ValidationError(
        "cursor is not one this API returned", field="cursor", code="invalid_cursor"
    )
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        last_id = int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
    if prefix != kind or last_id < 0:
        raise invalid
    return last_id


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be 1 to {MAX_PAGE}", field="limit", code="out_of_range")


def _check_year(year: int) -> None:
    if not 2022 <= year <= 2100:
        raise ValidationError(
            f"year {year} is outside 2022–2100", field="year", code="out_of_range"
        )


def _overlapping(first: date, last: date) -> Any:
    return and_(
        Employment.start_date <= last,
        or_(Employment.end_date.is_(None), Employment.end_date >= first),
    )


# --- workers --------------------------------------------------------------------------------


def employer_workers(
    source: Container | Session,
    employer_id: int,
    year: int,
    *,
    cursor: str | None = None,
    limit: int = 50,
    today: date | None = None,
) -> dict[str, Any]:
    """The employments of the employer overlapping ``year``, in a stable order (by
    employment), one page at a time. The work fraction is the one in force on the last day
    that counts: today, or the end of the year or of the employment if earlier."""
    _check_year(year)
    _check_limit(limit)
    after = decode_cursor("employment", cursor)
    first, last = date(year, 1, 1), date(year, 12, 31)
    day = today or utcnow().date()
    with _reading(source) as s:
        rows = s.execute(
            select(Employment, Person)
            .join(Person, Person.id == Employment.person_id)
            .where(
                Employment.employer_id == employer_id,
                _overlapping(first, last),
                Employment.id > after,
            )
            .order_by(Employment.id)
            .limit(limit + 1)
        ).all()
        page = rows[:limit]
        fractions: dict[int, list[tuple[date, Any]]] = defaultdict(list)
        if page:
            for emp_id, valid_from, fraction in s.execute(
                select(WorkFraction.employment_id, WorkFraction.valid_from, WorkFraction.fraction)
                .where(WorkFraction.employment_id.in_([e.id for e, _ in page]))
                .order_by(WorkFraction.valid_from)
            ):
                fractions[emp_id].append((valid_from, fraction))
    items = []
    for employment, person in page:
        reference = min(day, last, employment.end_date or last)
        periods = fractions.get(employment.id, [])
        in_force = [f for valid_from, f in periods if valid_from <= reference]
        current = in_force[-1] if in_force else (periods[0][1] if periods else None)
        items.append(
            {
                "employment_id": employment.id,
                "national_number": person.national_number,
                "name": _name(person),
                "start_date": employment.start_date,
                "end_date": employment.end_date,
                "end_reason": employment.end_reason,
                "joint_committee": employment.joint_committee,
                "work_fraction": None if current is None else str(current.normalize()),
            }
        )
    more = len(rows) > limit
    return {
        "year": year,
        "items": items,
        "next_cursor": encode_cursor("employment", page[-1][0].id) if more else None,
    }


# --- headcount ------------------------------------------------------------------------------


def employer_headcount(
    source: Container | Session, rules: RuleSet, employer_id: int, period_start: int
) -> dict[str, Any]:
    """Average FTE, band and reference quarters of a two-year period, with the derivation."""
    reference_quarters(period_start)  # a year that starts no period is refused first
    with _reading(source) as s:
        hc = headcount_for(s, rules, employer_id, period_start)
    return {
        "period_start": hc.period_start,
        "period": [hc.period_start, hc.period_start + 1],
        "fte": {"exact": fraction_str(hc.fte), "value": f"{to_storage(hc.fte):.2f}"},
        "band": hc.band.value,
        "method": hc.method,
        "reference_quarters": [{"year": y, "quarter": q} for y, q in hc.reference_quarters],
        "quarters_used": [{"year": y, "quarter": q} for y, q in hc.quarters_used],
        "derivation": hc.derivation,
    }


# --- ledgers of many accounts at once --------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    """What the ledgers of one employer need for the window of ``year``, read in bulk."""

    entitlements: dict[int, dict[int, Fraction]]  # person → year → effective days
    used: dict[int, dict[int, int]]  # person → year → minutes
    ends: dict[int, dict[int, tuple[date, str | None]]]  # person → year → (end, reason)


def _ledger_inputs(
    s: Session,
    rules: RuleSet,
    employer_id: int,
    year: int,
    as_of: datetime | None,
    person_id: int | None = None,
    trainings: Iterable[tuple[Training, TrainingVersion]] | None = None,
) -> _Inputs:
    """With ``trainings`` (the person's, as recorded at ``as_of``, cancelled ones left out),
    the days used are taken from them instead of being read again."""
    first, _ = rules.window_for(year)
    entitlements: dict[int, dict[int, Fraction]] = defaultdict(dict)
    rights_query = select(
        RightVersion.person_id, RightVersion.year, RightVersion.computed_days, RightVersion.set_days
    ).where(
        RightVersion.employer_id == employer_id,
        RightVersion.year.between(first, year),
        as_recorded_on(RightVersion, as_of),
    )
    if person_id is not None:
        rights_query = rights_query.where(RightVersion.person_id == person_id)
    for pid, y, computed, set_days in s.execute(rights_query):
        effective = set_days if set_days is not None else computed
        entitlements[pid][y] = Fraction(effective) if effective is not None else _ZERO
    used: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    if trainings is not None:
        for training, version in trainings:
            if (
                training.employer_id == employer_id
                and not version.cancelled
                and version.counts_toward_right
                and version.status == Status.FOLLOWED.value
                and date(first, 1, 1) <= version.end_date <= date(year, 12, 31)
            ):
                used[training.person_id][version.end_date.year] += version.duration_minutes
    used_query = (
        select(Training.person_id, TrainingVersion.end_date, TrainingVersion.duration_minutes)
        .join(Training, Training.id == TrainingVersion.training_id)
        .where(
            Training.employer_id == employer_id,
            TrainingVersion.end_date.between(date(first, 1, 1), date(year, 12, 31)),
            as_recorded_on(TrainingVersion, as_of),
            TrainingVersion.cancelled.is_(False),
            TrainingVersion.counts_toward_right.is_(True),
            TrainingVersion.status == Status.FOLLOWED.value,
        )
    )
    if person_id is not None:
        used_query = used_query.where(Training.person_id == person_id)
    if trainings is None:
        for pid, end, minutes in s.execute(used_query):
            used[pid][end.year] += minutes
    ends: dict[int, dict[int, tuple[date, str | None]]] = defaultdict(dict)
    ends_query = select(Employment.person_id, Employment.end_date, Employment.end_reason).where(
        Employment.employer_id == employer_id,
        Employment.end_date.between(date(first, 1, 1), date(year, 12, 31)),
    )
    if person_id is not None:
        ends_query = ends_query.where(Employment.person_id == person_id)
    for pid, ended, reason in s.execute(ends_query.order_by(Employment.end_date)):
        if ended is not None:
            ends[pid][ended.year] = (ended, reason)  # the last end of a year wins, as in ledger()
    return _Inputs(entitlements, used, ends)


def _end_reason(value: str | None) -> EndReason | None:
    return EndReason(value) if value else None


def _fold(
    rules: RuleSet, inputs: _Inputs, person_id: int, year: int, day_minutes: int
) -> list[LedgerYear]:
    first, _ = rules.window_for(year)
    rights = inputs.entitlements.get(person_id, {})
    used = inputs.used.get(person_id, {})
    ends = inputs.ends.get(person_id, {})
    return fold_ledger(
        rules,
        [
            YearInput(
                year=y,
                entitlement=rights.get(y, _ZERO),
                used=Fraction(used.get(y, 0), day_minutes),
                employment_end=ends[y][0] if y in ends else None,
                end_reason=_end_reason(ends[y][1]) if y in ends else None,
            )
            for y in range(first, year + 1)
            if y in rights or y in used
        ],
    )


def _year_of(ledger: Iterable[LedgerYear], year: int) -> LedgerYear | None:
    return next((y for y in ledger if y.year == year), None)


def _amounts(entry: LedgerYear | None) -> dict[str, Fraction]:
    if entry is None:
        return dict.fromkeys(_AMOUNTS, _ZERO)
    return {name: getattr(entry, name) for name in _AMOUNTS}


# --- a person's account ---------------------------------------------------------------------


def _employer_ids_of(
    s: Session, rules: RuleSet, person_id: int, year: int, as_of: datetime | None
) -> set[int]:
    """Employers the person has an account with in the window of ``year``: an employment
    overlapping the window up to ``year``, or a recorded right in it."""
    first, _ = rules.window_for(year)
    employed = s.scalars(
        select(Employment.employer_id).where(
            Employment.person_id == person_id,
            _overlapping(date(first, 1, 1), date(year, 12, 31)),
        )
    )
    rights = s.scalars(
        select(RightVersion.employer_id).where(
            RightVersion.person_id == person_id,
            RightVersion.year.between(first, year),
            as_recorded_on(RightVersion, as_of),
        )
    )
    return set(employed) | set(rights)


def _recorded(model: Any, current: bool) -> Any:
    """``as_recorded_on`` with the moment as the bound parameter ``as_of``."""
    if current:
        return model.superseded_at.is_(None)
    moment: Any = bindparam("as_of")
    return and_(
        model.recorded_at <= moment,
        or_(model.superseded_at.is_(None), model.superseded_at > moment),
    )


@cache
def _account_statements(current: bool) -> tuple[Any, Any, Any]:
    """The statements of one person's account with one employer, built once (for the
    current versions, or as recorded on ``as_of``): building and keying a statement costs
    more CPU than PostgreSQL spends running it. Parameters: ``nn``, ``employer_id``,
    ``person_id``, ``first`` and ``last`` (the window's first and last day), ``first_year``,
    ``year``, ``as_of``."""
    first, last = bindparam("first", type_=Date), bindparam("last", type_=Date)
    employer_id = bindparam("employer_id", type_=Integer)
    employed = (
        select(Employment.id)
        .where(
            Employment.person_id == Person.id,
            Employment.employer_id == employer_id,
            Employment.start_date <= last,
            or_(Employment.end_date.is_(None), Employment.end_date >= first),
        )
        .exists()
    )
    right = (
        select(RightVersion.id)
        .where(
            RightVersion.person_id == Person.id,
            RightVersion.employer_id == employer_id,
            RightVersion.year.between(bindparam("first_year"), bindparam("year")),
            _recorded(RightVersion, current),
        )
        .exists()
    )
    person = (
        select(
            Person.id,
            Person.national_number,
            Person.given_name,
            Person.family_name,
            Employer.enterprise_number,
            Employer.name,
            Employer.full_time_day_minutes,
        )
        .join(Employer, Employer.id == employer_id)  # one row: the employer asked for
        .where(Person.national_number == bindparam("nn"), or_(employed, right))
    )
    person_id = bindparam("person_id", type_=Integer)
    rights = select(
        RightVersion.person_id, RightVersion.year, RightVersion.computed_days, RightVersion.set_days
    ).where(
        RightVersion.employer_id == employer_id,
        RightVersion.person_id == person_id,
        RightVersion.year.between(bindparam("first_year"), bindparam("year")),
        _recorded(RightVersion, current),
    )
    ends = (
        select(Employment.person_id, Employment.end_date, Employment.end_reason)
        .where(
            Employment.employer_id == employer_id,
            Employment.person_id == person_id,
            Employment.end_date.between(first, last),
        )
        .order_by(Employment.end_date)
    )
    return person, rights, ends


class _PersonRow(NamedTuple):
    id: int
    national_number: str
    given_name: str
    family_name: str


class _EmployerRow(NamedTuple):
    id: int
    enterprise_number: str
    name: str
    full_time_day_minutes: int


def _person_if_account(
    s: Session,
    rules: RuleSet,
    national_number: str,
    employer_id: int,
    year: int,
    as_of: datetime | None,
) -> tuple[_PersonRow, _EmployerRow, _Inputs] | None:
    """The person, the employer and the ledger inputs (the trainings aside) if the person has
    an account with the employer in the window of ``year`` (the test
    :func:`_employer_ids_of` makes for every employer), else None. Three statements built
    once, run on the session's connection as plain rows (no ORM objects to build); a
    malformed number is a :class:`ValidationError`, as for ``find_person``."""
    nn = NationalNumber.parse(national_number)
    first_year, _ = rules.window_for(year)
    person_query, rights_query, ends_query = _account_statements(as_of is None)
    params: dict[str, Any] = {
        "nn": nn.value,
        "employer_id": employer_id,
        "first": date(first_year, 1, 1),
        "last": date(year, 12, 31),
        "first_year": first_year,
        "year": year,
    }
    if as_of is not None:
        params["as_of"] = as_of
    connection = s.connection()
    row = connection.execute(person_query, params).first()
    if row is None:
        return None
    person = _PersonRow(*row[:4])
    employer = _EmployerRow(employer_id, *row[4:])
    params["person_id"] = person.id
    inputs = _Inputs(defaultdict(dict), defaultdict(lambda: defaultdict(int)), defaultdict(dict))
    for pid, y, computed, set_days in connection.execute(rights_query, params):
        effective = set_days if set_days is not None else computed
        inputs.entitlements[pid][y] = Fraction(effective) if effective is not None else _ZERO
    for pid, ended, reason in connection.execute(ends_query, params):
        if ended is not None:
            inputs.ends[pid][ended.year] = (ended, reason)  # the last end of a year wins
    return person, employer, inputs


def _used_of(
    inputs: _Inputs,
    trainings: Iterable[tuple[Training, TrainingVersion]],
    employer_id: int,
    first_year: int,
    year: int,
) -> None:
    """Add to ``inputs`` the minutes used per year of the followed, counting trainings with
    the employer (the trainings already read, cancelled ones left out)."""
    for training, version in trainings:
        if (
            training.employer_id == employer_id
            and not version.cancelled
            and version.counts_toward_right
            and version.status == Status.FOLLOWED.value
            and date(first_year, 1, 1) <= version.end_date <= date(year, 12, 31)
        ):
            inputs.used[training.person_id][version.end_date.year] += version.duration_minutes


def _training_view(training: Training, version: TrainingVersion, employer_en: str | None) -> Any:
    return {
        "id": training.id,
        "title": version.title,
        "provider": version.provider,
        "start_date": version.start_date,
        "end_date": version.end_date,
        "duration_value": str(version.duration_value),
        "duration_unit": version.duration_unit,
        "duration_minutes": version.duration_minutes,
        "nature": version.nature,
        "status": version.status,
        "source": training.source,
        "employer": employer_en,
        "counts_toward_right": version.counts_toward_right,
        "not_counting_reason": version.not_counting_reason,
        "certificate": version.certificate,
        "certificate_valid_until": version.certificate_valid_until,
        "version": version.version,
    }


def person_account(
    source: Container | Session,
    national_number: str,
    year: int,
    as_of: datetime | None = None,
    *,
    rules: RuleSet | None = None,
    employer_id: int | None = None,
) -> dict[str, Any]:
    """A person's learning account for ``year``: the ledger year of each employer, the
    consolidated totals and the trainings from every source (newest first).

    With ``employer_id``, only that employer's part: its ledger and the trainings recorded
    for it (by itself or its providers); a person without an account with that employer is
    :class:`NotFound` exactly like an unknown person. Without it (the person's own view), an
    unknown person is :class:`NotFound`. ``rules`` default to the container's (or the
    shipped rules when a session is given)."""
    _check_year(year)
    rule_set = rules or (source.rules if isinstance(source, Container) else load_rules())
    hidden = NotFound(
        f"no account of this person with this employer in {year}", field="national_number"
    )
    person: Person | _PersonRow
    employer: Employer | _EmployerRow
    employers: dict[int, Employer | _EmployerRow]
    with _reading(source) as s:
        if employer_id is not None:
            account = _person_if_account(s, rule_set, national_number, employer_id, year, as_of)
            if account is None:
                raise hidden
            person, employer, known = account
            employers = {employer_id: employer}
        else:
            person = find_person(s, national_number)
            ids = _employer_ids_of(s, rule_set, person.id, year, as_of)
            employers = (
                {e.id: e for e in s.scalars(select(Employer).where(Employer.id.in_(ids)))}
                if ids
                else {}
            )
        found = trainings_of(s, person.id, employer_id=employer_id, as_of=as_of)
        parts = []
        totals = dict.fromkeys(_AMOUNTS, _ZERO)
        for employer in sorted(employers.values(), key=lambda e: e.enterprise_number):
            dm = employer.full_time_day_minutes
            if employer_id is not None:
                inputs = known
                _used_of(inputs, found, employer_id, rule_set.window_for(year)[0], year)
            else:
                inputs = _ledger_inputs(s, rule_set, employer.id, year, as_of, person.id, found)
            entry = _year_of(_fold(rule_set, inputs, person.id, year, dm), year)
            amounts = _amounts(entry)
            for name, value in amounts.items():
                totals[name] += value
            window = rule_set.window_for(year)
            parts.append(
                {
                    "employer": {
                        "enterprise_number": employer.enterprise_number,
                        "name": employer.name,
                        "full_time_day_minutes": dm,
                    },
                    "year": year,
                    "recorded": entry is not None,
                    **{name: days_view(value, dm) for name, value in amounts.items()},
                    "expires_on": entry.expires_on if entry else date(window[1], 12, 31),
                    "departure": entry.departure.value if entry and entry.departure else None,
                }
            )
        ens = {e.id: e.enterprise_number for e in employers.values()}
        unknown = {t.employer_id for t, _ in found if t.employer_id} - ens.keys()
        if unknown:  # trainings with employers the person has no account with in the window
            ens.update(
                s.execute(
                    select(Employer.id, Employer.enterprise_number).where(Employer.id.in_(unknown))
                ).tuples()
            )
        trainings = [
            _training_view(t, v, ens.get(t.employer_id) if t.employer_id else None)
            for t, v in found
        ]
    return {
        "person": {"national_number": person.national_number, "name": _name(person)},
        "year": year,
        "as_of": as_of,
        "employers": parts,
        "totals": {name: amount_view(value) for name, value in totals.items()},
        "trainings": trainings,
    }
