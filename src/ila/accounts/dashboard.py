"""An employer's dashboard for a year: totals, per worker, per joint committee, days used per
quarter, days expiring and the workers who used nothing.

Fast for thousands of workers and exact (ADR 0003): the inputs are read in a fixed number of
queries; every amount is folded in **integer units** of ``1 / (day_minutes × 10^k)`` day, in
which both the stored rights (days with ``k`` = 4 decimals) and the trainings (whole minutes)
are whole numbers, so the carry-over ledger of each worker (the rules of
``ila.rights.ledger.fold_ledger``) costs a few integer operations; totals, committees, quarters
and the idle workers come from the same pass. Only the amounts shown are turned back into exact
fractions and formatted: the totals, the committees, the quarters and the requested page of
workers. ``tests/integration/test_dashboard_fold.py`` checks the figures against the ledger
fold on generated data."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal, NamedTuple

from sqlalchemy import and_, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from ila.bootstrap import Container
from ila.db.versioning import as_recorded_on
from ila.employment.domain import EndReason
from ila.employment.models import Employment
from ila.errors import InvalidDuration, ValidationError
from ila.identity.models import Employer, Person
from ila.rights.domain import DepartureOutcome, fraction_str, to_storage
from ila.rights.models import RightVersion
from ila.rights.rules import RuleSet
from ila.rights.units import format_days
from ila.trainings.domain import Status
from ila.trainings.models import Training, TrainingVersion

AMOUNTS = ("entitlement", "carried_in", "used", "balance", "expiring")
STORED_PLACES = 4  # days are stored with 4 decimals (ADR 0003)
MAX_WORKERS_LIMIT = 1000
# the orders of the per-worker list: by national number (the API's), or the largest first
Order = Literal["national_number", "balance", "expiring", "used"]
ORDERS: tuple[Order, ...] = ("national_number", "balance", "expiring", "used")


@contextmanager
def _reading(source: Container | Session) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
        return
    with source.uow() as uow:
        yield uow.session


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while thousands of short-lived tuples are made
    (nothing here forms cycles; reference counting frees it all): a full collection over the
    process's heap in the middle of a request cost more than the request itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _days_view(units: int, scale: int, day_minutes: int) -> dict[str, str]:
    """The same view as ``ila.accounts.service.days_view`` of ``units / scale`` days."""
    days = Fraction(units, scale)
    return {
        "exact": fraction_str(days),
        "days": f"{to_storage(days):.2f}",
        "text": format_days(days, day_minutes),
    }


class LedgerFigures(NamedTuple):
    """One worker's ledger year in integer units (see the module docstring)."""

    entitlement: int
    carried_in: int
    used: int
    balance: int
    expiring: int
    expires_on: date
    departure: DepartureOutcome | None


def fold_units(
    rules: RuleSet,
    year: int,
    entitlements: dict[int, int],
    used: dict[int, int],
    ends: dict[int, tuple[date, DepartureOutcome]],
    windows: dict[int, tuple[int, int]] | None = None,
) -> LedgerFigures | None:
    """The ledger year ``year`` of one account from its years of the window (entitlement and
    used in units, the employment end of a year with what its reason does to the remaining
    days: ``departure_outcome``), carried over exactly as
    ``fold_ledger`` does; None when the account has nothing in ``year``. ``windows``: the
    window of each year from the first of ``year``'s window (computed when not given)."""
    if windows is None:
        first, _ = rules.window_for(year)
        windows = {y: rules.window_for(y) for y in range(first, year + 1)}
    else:
        first = next(iter(windows))
    prev_year: int | None = None
    prev_window: tuple[int, int] | None = None
    carried_out = 0
    for y in range(first, year + 1):
        if y not in entitlements and y not in used:
            continue
        entitlement, spent = entitlements.get(y, 0), used.get(y, 0)
        if entitlement < 0 or spent < 0:
            raise InvalidDuration(
                f"{y}: entitlement and used days cannot be negative",
                field="entitlement" if entitlement < 0 else "used",
            )
        window = windows[y]
        carried_in = carried_out if prev_year == y - 1 and prev_window == window else 0
        balance = entitlement + carried_in - spent
        remaining = max(balance, 0)
        end = ends.get(y)
        departure: DepartureOutcome | None = None
        expiring = 0
        if end is not None:
            departure = end[1]
            carried_out = 0
            if departure is not DepartureOutcome.NOTICE_OR_INDEMNITY:
                expiring = remaining
        elif y == window[1]:
            carried_out, expiring = 0, remaining
        else:
            carried_out = remaining
        prev_year, prev_window = y, window
        if y == year:
            return LedgerFigures(
                entitlement,
                carried_in,
                spent,
                balance,
                expiring,
                end[0] if end is not None else date(window[1], 12, 31),
                departure,
            )
    return None


def _overlapping(first: date, last: date) -> Any:
    return and_(
        Employment.start_date <= last,
        or_(Employment.end_date.is_(None), Employment.end_date >= first),
    )


def _check(year: int, workers_limit: int, workers_offset: int, order: str) -> None:
    if not 2022 <= year <= 2100:
        raise ValidationError(
            f"year {year} is outside 2022–2100", field="year", code="out_of_range"
        )
    if not 1 <= workers_limit <= MAX_WORKERS_LIMIT:
        raise ValidationError(
            f"workers_limit must be 1 to {MAX_WORKERS_LIMIT}",
            field="workers_limit",
            code="out_of_range",
        )
    if workers_offset < 0:
        raise ValidationError(
            "workers_offset must be 0 or more", field="workers_offset", code="out_of_range"
        )
    if order not in ORDERS:
        raise ValidationError(
            f"order must be one of {', '.join(ORDERS)}", field="order", code="out_of_range"
        )


@dataclass(frozen=True)
class _Inputs:
    """An employer's inputs for the window of a year, in integer units of ``1 / scale`` day."""

    scale: int
    entitlements: dict[int, dict[int, int]]  # person → year → effective entitlement
    used: dict[int, dict[int, int]]  # person → year → used
    ends: dict[int, dict[int, tuple[date, DepartureOutcome]]]  # person → year → last end
    quarters: list[int]  # used per quarter of the year, all the employer's trainings


def _raw(column: Any) -> Any:
    """The column as the driver returns it (a ``Decimal`` on PostgreSQL, text on SQLite):
    each distinct value is converted once, not once per row."""
    return type_coerce(column, NullType())


def _read_inputs(
    s: Session, rules: RuleSet, employer_id: int, year: int, dm: int, as_of: datetime | None
) -> _Inputs:
    first, _ = rules.window_for(year)
    window_start, year_end = date(first, 1, 1), date(year, 12, 31)
    conn = s.connection()  # Core rows: no ORM loading for thousands of plain tuples
    rights = conn.execute(
        select(
            RightVersion.person_id,
            RightVersion.year,
            _raw(RightVersion.computed_days),
            _raw(RightVersion.set_days),
        ).where(
            RightVersion.employer_id == employer_id,
            RightVersion.year.between(first, year),
            as_recorded_on(RightVersion, as_of),
        )
    ).all()
    # the scale: every stored amount is a whole number of units (4 decimals, or more if found)
    exact: dict[Any, Decimal] = {}
    for _, _, computed, set_days in rights:
        effective = set_days if set_days is not None else computed
        if effective is not None and effective not in exact:
            exact[effective] = Decimal(effective)
    places = STORED_PLACES
    for value in exact.values():
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            places = -exponent
    per_day = 10**places
    # exact: each value has at most `places` decimals
    units = {raw: int(value.scaleb(places)) * dm for raw, value in exact.items()}
    entitlements: dict[int, dict[int, int]] = {}
    for pid, y, computed, set_days in rights:
        effective = set_days if set_days is not None else computed
        entitlements.setdefault(pid, {})[y] = 0 if effective is None else units[effective]
    used: dict[int, dict[int, int]] = {}
    quarters = [0, 0, 0, 0]
    for pid, end, minutes in conn.execute(
        select(Training.person_id, TrainingVersion.end_date, TrainingVersion.duration_minutes)
        .join(Training, Training.id == TrainingVersion.training_id)
        .where(
            Training.employer_id == employer_id,
            TrainingVersion.end_date.between(window_start, year_end),
            as_recorded_on(TrainingVersion, as_of),
            TrainingVersion.cancelled.is_(False),
            TrainingVersion.counts_toward_right.is_(True),
            TrainingVersion.status == Status.FOLLOWED.value,
        )
    ):
        years = used.setdefault(pid, {})
        years[end.year] = years.get(end.year, 0) + minutes * per_day
        if end.year == year:
            quarters[(end.month - 1) // 3] += minutes * per_day
    ends: dict[int, dict[int, tuple[date, DepartureOutcome]]] = {}
    outcomes = {
        reason: rules.departure_outcome(EndReason(reason) if reason else None)
        or rules.unspecified_departure
        for reason in (None, *EndReason)
    }
    for pid, ended, reason in conn.execute(
        select(Employment.person_id, Employment.end_date, Employment.end_reason)
        .where(
            Employment.employer_id == employer_id,
            Employment.end_date.between(window_start, year_end),
        )
        .order_by(Employment.end_date)
    ):
        if ended is not None:  # the last end of a year wins, as in the ledger
            ends.setdefault(pid, {})[ended.year] = (ended, outcomes[reason or None])
    return _Inputs(per_day * dm, entitlements, used, ends, quarters)


_EMPTY: dict[int, Any] = {}
_NOTHING = LedgerFigures(0, 0, 0, 0, 0, date.min, None)  # a worker with no ledger in the year
Worker = tuple[str, int, str]  # national number, person id, committee


def _sums(entries: list[LedgerFigures]) -> list[int]:
    """The five amounts summed over ``entries``."""
    if not entries:
        return [0] * len(AMOUNTS)
    columns = list(zip(*entries, strict=True))
    return [sum(columns[i]) for i in range(len(AMOUNTS))]


def employer_dashboard(
    source: Container | Session,
    rules: RuleSet,
    employer_id: int,
    year: int,
    *,
    as_of: datetime | None = None,
    workers_limit: int = 100,
    workers_offset: int = 0,
    order: Order = "national_number",
) -> dict[str, Any]:
    """An employer's figures for ``year``: totals, by worker (``workers_limit`` workers from
    ``workers_offset``, by national number unless ``order`` names another order, with the
    total count), by joint committee, days used per quarter, and the workers who used nothing
    (by national number, paged the same way). The workers are those employed at some point of
    the year. Amounts per worker are the ledger of ``year`` (as ``explain`` shows it).
    ``next_workers_offset`` is where the next page starts (None on the last page of both
    lists)."""
    _check(year, workers_limit, workers_offset, order)
    with _reading(source) as s, _gc_paused():
        conn = s.connection()
        en, employer_name, dm = conn.execute(
            select(Employer.enterprise_number, Employer.name, Employer.full_time_day_minutes).where(
                Employer.id == employer_id
            )
        ).one()
        workers: dict[int, Worker] = {}
        for pid, nn, jc in conn.execute(
            select(Person.id, Person.national_number, Employment.joint_committee)
            .join(Employment, Employment.person_id == Person.id)
            .where(
                Employment.employer_id == employer_id,
                _overlapping(date(year, 1, 1), date(year, 12, 31)),
            )
            .order_by(Employment.start_date, Employment.id)
        ).all():
            workers[pid] = (nn, pid, jc)  # the latest employment's committee
        inputs = _read_inputs(s, rules, employer_id, year, dm, as_of)

        first, _ = rules.window_for(year)
        windows = {y: rules.window_for(y) for y in range(first, year + 1)}
        entitlements, used, ends = inputs.entitlements, inputs.used, inputs.ends
        by_jc: dict[str, list[LedgerFigures]] = {}
        figures: list[tuple[Worker, LedgerFigures | None]] = []
        for pid, worker in workers.items():
            entry = fold_units(
                rules,
                year,
                entitlements.get(pid, _EMPTY),
                used.get(pid, _EMPTY),
                ends.get(pid, _EMPTY),
                windows,
            )
            by_jc.setdefault(worker[2], []).append(entry or _NOTHING)
            figures.append((worker, entry))
        idle = sorted(w for w, entry in figures if entry is None or entry.used == 0)
        figures.sort(key=lambda item: item[0][0])
        if order != "national_number":
            figures.sort(key=lambda item: -getattr(item[1] or _NOTHING, order))  # ties: by number
        end = workers_offset + workers_limit
        page, idle_page = figures[workers_offset:end], idle[workers_offset:end]
        wanted = [w[1] for w, _ in page] + [w[1] for w in idle_page]
        names = (
            {
                pid: f"{given} {family}"
                for pid, given, family in conn.execute(
                    select(Person.id, Person.given_name, Person.family_name).where(
                        Person.id.in_(wanted)
                    )
                )
            }
            if wanted
            else {}
        )
    scale = inputs.scale

    def view(units: int) -> dict[str, str]:
        return _days_view(units, scale, dm)

    rows = []
    for (nn, pid, jc), entry in page:
        e = entry or _NOTHING
        amounts = (e.entitlement, e.carried_in, e.used, e.balance, e.expiring)
        rows.append(
            {
                "national_number": nn,
                "name": names[pid],
                "joint_committee": jc,
                **{name: view(value) for name, value in zip(AMOUNTS, amounts, strict=True)},
                "expires_on": entry.expires_on if entry else None,
                "departure": entry.departure.value if entry and entry.departure else None,
            }
        )
    totals = _sums([entry or _NOTHING for _, entry in figures])
    return {
        "employer": {
            "enterprise_number": en,
            "name": employer_name,
            "full_time_day_minutes": dm,
        },
        "year": year,
        "as_of": as_of,
        "workers": len(workers),
        "totals": {name: view(value) for name, value in zip(AMOUNTS, totals, strict=True)},
        "by_worker": rows,
        "by_worker_total": len(figures),
        "by_joint_committee": [
            {
                "joint_committee": jc,
                "workers": len(entries),
                **{name: view(value) for name, value in zip(AMOUNTS, _sums(entries), strict=True)},
            }
            for jc, entries in sorted(by_jc.items())
        ],
        "used_per_quarter": [
            {"quarter": q, "used": view(inputs.quarters[q - 1])} for q in (1, 2, 3, 4)
        ],
        "without_training": [
            {"national_number": nn, "name": names[pid]} for nn, pid, _ in idle_page
        ],
        "without_training_total": len(idle),
        "workers_offset": workers_offset,
        "next_workers_offset": end if end < max(len(figures), len(idle)) else None,
    }
