"""Read use cases: an employer's workers, its dashboard, a person's account across employers.

Each reads in one unit of work (or in a session the caller hands in) and returns plain dicts
shaped like the API schemas of ``ila.api.read_schemas``. The employer-wide reads cost a fixed
number of queries whatever the number of workers: the ledger of every worker is folded in
memory from one read of the rights, one of the trainings and one of the employments."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache
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

_ZERO = Fraction(0)
_AMOUNTS = ("entitlement", "carried_in", "used", "balance", "expiring")
MAX_PAGE = 500


# --- formatting -----------------------------------------------------------------------------


def days_view(days: Fraction, day_minutes: int) -> dict[str, str]:
    """Exact fraction, two decimals and days-hours-minutes text of an amount of days."""
    # keyed by the two integers: hashing a Fraction costs a modular inverse
    return dict(_days_view(days.numerator, days.denominator, day_minutes))


@lru_cache(maxsize=16_384)
def _days_view(numerator: int, denominator: int, day_minutes: int) -> tuple[tuple[str, str], ...]:
    # remembered: accounts show the same few amounts over and over, and the exact
    # arithmetic of the three texts costs more than the rest of the account
    days = Fraction(numerator, denominator)
    return (
        ("exact", fraction_str(days)),
        ("days", f"{to_storage(days):.2f}"),
        ("text", format_days(days, day_minutes)),
    )


def amount_view(days: Fraction) -> dict[str, str]:
    """A sum over employers with different working days: exact and two decimals only."""
    return dict(_amount_view(days.numerator, days.denominator))


@lru_cache(maxsize=16_384)
def _amount_view(numerator: int, denominator: int) -> tuple[tuple[str, str], ...]:
    days = Fraction(numerator, denominator)
    return (("exact", fraction_str(days)), ("days", f"{to_storage(days):.2f}"))


def _name(person: Person | PersonRow) -> str:
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
    trainings: Iterable[TrainingRow] | None = None,
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
        _add_used(used, trainings, employer_id, first, year)
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
    return _folded(
        rules,
        tuple(
            YearInput(
                year=y,
                entitlement=rights.get(y, _ZERO),
                used=Fraction(used.get(y, 0), day_minutes),
                employment_end=ends[y][0] if y in ends else None,
                end_reason=_end_reason(ends[y][1]) if y in ends else None,
            )
            for y in range(first, year + 1)
            if y in rights or y in used
        ),
    )


@lru_cache(maxsize=8_192)
def _folded(rules: RuleSet, years: tuple[YearInput, ...]) -> list[LedgerYear]:
    # a pure function of its inputs (frozen values), and accounts repeat the same few inputs
    # (the same entitlement, nothing used): remembered. Callers only read the result.
    return fold_ledger(rules, years)


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


class EmployerAccountStatements(NamedTuple):
    person: Any
    rights: Any
    ends: Any
    trainings: Any


@cache
def employer_account_statements(
    current: bool, by_enterprise_number: bool = False
) -> EmployerAccountStatements:
    """The statements of one person's account with one employer, built once (for the
    current versions, or as recorded on ``as_of``): building and keying a statement costs
    more CPU than PostgreSQL spends running it. All four are keyed by the national number,
    not by the person's id, so that they can be sent together (one round trip, ADR 0021):
    the person (a row only if the person has an account with the employer in the window),
    its rights, its employments' ends and its trainings with the employer. Parameters:
    :func:`employer_account_parameters`; ``by_enterprise_number`` takes the employer's
    enterprise number ``en`` instead of its id ``employer_id``."""
    first, last = bindparam("first", type_=Date), bindparam("last", type_=Date)
    person_of = select(Person.id).where(Person.national_number == bindparam("nn"))
    employer_id: Any
    if by_enterprise_number:
        # the two ids looked up once for all four statements (a CTE they all read)
        keys = select(
            select(Employer.id)
            .where(Employer.enterprise_number == bindparam("en"))
            .scalar_subquery()
            .label("employer_id"),
            person_of.scalar_subquery().label("person_id"),
        ).cte("account_keys")
        employer_id = select(keys.c.employer_id).scalar_subquery()
        person_id: Any = select(keys.c.person_id).scalar_subquery()
    else:
        employer_id = bindparam("employer_id", type_=Integer)
        person_id = person_of.scalar_subquery()
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
    trainings = _trainings_query(current, person_id).where(Training.employer_id == employer_id)
    return EmployerAccountStatements(person, rights, ends, trainings)


def employer_account_parameters(
    rules: RuleSet, national_number: str, year: int, as_of: datetime | None
) -> dict[str, Any]:
    """The parameters of :func:`employer_account_statements` but the employer's (a malformed
    number is a :class:`ValidationError`, as for ``find_person``)."""
    _check_year(year)
    nn = NationalNumber.parse(national_number)
    first_year, _ = rules.window_for(year)
    params: dict[str, Any] = {
        "nn": nn.value,
        "first": date(first_year, 1, 1),
        "last": date(year, 12, 31),
        "first_year": first_year,
        "year": year,
    }
    if as_of is not None:
        params["as_of"] = as_of
    return params


class PersonRow(NamedTuple):
    id: int
    national_number: str
    given_name: str
    family_name: str


class EmployerRow(NamedTuple):
    id: int
    enterprise_number: str
    name: str
    full_time_day_minutes: int


class EmployerAccountRows(NamedTuple):
    person: PersonRow
    employer: EmployerRow
    inputs: _Inputs  # the trainings' minutes not added yet
    trainings: list[TrainingRow]


def employer_account_rows(
    employer_id: int,
    person: Sequence[Any] | None,
    rights: Iterable[Sequence[Any]],
    ends: Iterable[Sequence[Any]],
    trainings: Iterable[Sequence[Any]],
) -> EmployerAccountRows | None:
    """What the statements of :func:`employer_account_statements` returned, or None when the
    person has no account with the employer (no person row)."""
    if person is None:
        return None
    inputs = _Inputs(defaultdict(dict), defaultdict(lambda: defaultdict(int)), defaultdict(dict))
    for pid, y, computed, set_days in rights:
        effective = set_days if set_days is not None else computed
        inputs.entitlements[pid][y] = Fraction(effective) if effective is not None else _ZERO
    for pid, ended, reason in ends:
        if ended is not None:
            inputs.ends[pid][ended.year] = (ended, reason)  # the last end of a year wins
    return EmployerAccountRows(
        PersonRow(*person[:4]),
        EmployerRow(employer_id, *person[4:]),
        inputs,
        [TrainingRow(*row) for row in trainings],
    )


def _person_if_account(
    s: Session,
    rules: RuleSet,
    national_number: str,
    employer_id: int,
    year: int,
    as_of: datetime | None,
) -> EmployerAccountRows | None:
    """The person, the employer, the ledger inputs and the trainings with the employer if
    the person has an account with the employer in the window of ``year`` (the test
    :func:`_employer_ids_of` makes for every employer), else None: the four statements of
    :func:`employer_account_statements`, on the session's connection, as plain rows."""
    params = employer_account_parameters(rules, national_number, year, as_of)
    params["employer_id"] = employer_id
    statements = employer_account_statements(as_of is None)
    connection = s.connection()
    person = connection.execute(statements.person, params).first()
    if person is None:
        return None
    return employer_account_rows(
        employer_id,
        person,
        connection.execute(statements.rights, params),
        connection.execute(statements.ends, params),
        connection.execute(statements.trainings, params),
    )


def _add_used(
    used: dict[int, dict[int, int]],
    trainings: Iterable[TrainingRow],
    employer_id: int,
    first_year: int,
    year: int,
) -> None:
    """Add to ``used`` the minutes per person and year of the followed, counting trainings
    with the employer (the trainings already read, cancelled ones left out)."""
    first, last = date(first_year, 1, 1), date(year, 12, 31)
    followed = Status.FOLLOWED.value
    for t in trainings:
        if (
            t.employer_id == employer_id
            and not t.cancelled
            and t.counts_toward_right
            and t.status == followed
            and first <= t.end_date <= last
        ):
            used[t.person_id][t.end_date.year] += t.duration_minutes


class TrainingRow(NamedTuple):
    """A training as an account shows it: the training and its version at the moment read."""

    id: int
    person_id: int
    employer_id: int | None
    source: str
    version: int
    cancelled: bool
    title: str
    provider: str
    start_date: date
    end_date: date
    duration_value: Decimal
    duration_unit: str
    duration_minutes: int
    nature: str
    status: str
    counts_toward_right: bool
    not_counting_reason: str | None
    certificate: str | None
    certificate_valid_until: date | None


def _trainings_query(current: bool, person_id: Any) -> Any:
    """A person's trainings, cancelled ones left out, as recorded now or on ``as_of``, newest
    first: the columns of :class:`TrainingRow`."""
    v = TrainingVersion
    return (
        select(
            Training.id,
            Training.person_id,
            Training.employer_id,
            Training.source,
            v.version,
            v.cancelled,
            v.title,
            v.provider,
            v.start_date,
            v.end_date,
            v.duration_value,
            v.duration_unit,
            v.duration_minutes,
            v.nature,
            v.status,
            v.counts_toward_right,
            v.not_counting_reason,
            v.certificate,
            v.certificate_valid_until,
        )
        .join(v, v.training_id == Training.id)
        .where(Training.person_id == person_id, _recorded(v, current), v.cancelled.is_(False))
        .order_by(v.start_date.desc(), Training.id.desc())
    )


@cache
def _person_trainings(current: bool) -> Any:
    return _trainings_query(current, bindparam("person_id", type_=Integer))


def _trainings(s: Session, person_id: int, as_of: datetime | None) -> list[TrainingRow]:
    """All the person's trainings (every employer and source)."""
    params: dict[str, Any] = {"person_id": person_id}
    if as_of is not None:
        params["as_of"] = as_of
    rows = s.connection().execute(_person_trainings(as_of is None), params)
    return [TrainingRow(*row) for row in rows]


def _training_view(t: TrainingRow, employer_en: str | None) -> Any:
    return {
        "id": t.id,
        "title": t.title,
        "provider": t.provider,
        "start_date": t.start_date,
        "end_date": t.end_date,
        "duration_value": str(t.duration_value),
        "duration_unit": t.duration_unit,
        "duration_minutes": t.duration_minutes,
        "nature": t.nature,
        "status": t.status,
        "source": t.source,
        "employer": employer_en,
        "counts_toward_right": t.counts_toward_right,
        "not_counting_reason": t.not_counting_reason,
        "certificate": t.certificate,
        "certificate_valid_until": t.certificate_valid_until,
        "version": t.version,
    }


def _part(
    rules: RuleSet, inputs: _Inputs, person_id: int, employer: Employer | EmployerRow, year: int
) -> tuple[dict[str, Any], dict[str, Fraction]]:
    """An employer's part of the account (its ledger year) and its amounts."""
    dm = employer.full_time_day_minutes
    entry = _year_of(_fold(rules, inputs, person_id, year, dm), year)
    amounts = _amounts(entry)
    window = rules.window_for(year)
    part = {
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
    return part, amounts


def _document(
    person: Person | PersonRow,
    year: int,
    as_of: datetime | None,
    parts: list[dict[str, Any]],
    totals: dict[str, Fraction],
    trainings: list[Any],
) -> dict[str, Any]:
    return {
        "person": {"national_number": person.national_number, "name": _name(person)},
        "year": year,
        "as_of": as_of,
        "employers": parts,
        "totals": {name: amount_view(value) for name, value in totals.items()},
        "trainings": trainings,
    }


def employer_account_document(
    rules: RuleSet,
    year: int,
    as_of: datetime | None,
    found: EmployerAccountRows,
) -> dict[str, Any]:
    """The employer's part of a person's account from the rows read for it
    (:func:`_person_if_account` and the employer's trainings of the person)."""
    person, employer, inputs, trainings = found
    _add_used(inputs.used, trainings, employer.id, rules.window_for(year)[0], year)
    part, amounts = _part(rules, inputs, person.id, employer, year)
    ens = {employer.id: employer.enterprise_number}
    return _document(
        person,
        year,
        as_of,
        [part],
        amounts,
        [_training_view(t, ens.get(t.employer_id) if t.employer_id else None) for t in trainings],
    )


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
    with _reading(source) as s:
        if employer_id is not None:
            account = _person_if_account(s, rule_set, national_number, employer_id, year, as_of)
            if account is None:
                raise no_account(year)
            return employer_account_document(rule_set, year, as_of, account)
        person_object = find_person(s, national_number)
        ids = _employer_ids_of(s, rule_set, person_object.id, year, as_of)
        employers = (
            {e.id: e for e in s.scalars(select(Employer).where(Employer.id.in_(ids)))}
            if ids
            else {}
        )
        trainings = _trainings(s, person_object.id, as_of)
        parts = []
        totals = dict.fromkeys(_AMOUNTS, _ZERO)
        for employer_object in sorted(employers.values(), key=lambda e: e.enterprise_number):
            inputs = _ledger_inputs(
                s, rule_set, employer_object.id, year, as_of, person_object.id, trainings
            )
            part, amounts = _part(rule_set, inputs, person_object.id, employer_object, year)
            parts.append(part)
            for name, value in amounts.items():
                totals[name] += value
        ens = {e.id: e.enterprise_number for e in employers.values()}
        unknown = {t.employer_id for t in trainings if t.employer_id} - ens.keys()
        if unknown:  # trainings with employers the person has no account with in the window
            ens.update(
                s.execute(
                    select(Employer.id, Employer.enterprise_number).where(Employer.id.in_(unknown))
                ).tuples()
            )
        views = [
            _training_view(t, ens.get(t.employer_id) if t.employer_id else None) for t in trainings
        ]
    return _document(person_object, year, as_of, parts, totals, views)


def no_account(year: int) -> NotFound:
    return NotFound(
        f"no account of this person with this employer in {year}", field="national_number"
    )
