"""Pure computations of the individual training right (rules.md section 1).

Headcount of a two-year period, the yearly right ``A x B x C`` of one employment, the carry-over
ledger of one person-employer account, and days/minutes conversions. No I/O: the rule data comes
in as a :class:`~ila.rights.rules.RuleSet`. Every quantity of days is an exact ``Fraction``; each
result carries a JSON-serialisable derivation (exact values as strings such as ``"10/3"`` plus
two-decimal strings rounded half up).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from ila.employment.domain import EmploymentFacts, EndReason, FractionPeriod
from ila.errors import InvalidDuration, InvalidPeriod, InvalidWorkFraction, ValidationError
from ila.rights.domain import (
    DepartureOutcome,
    Derivation,
    Headcount,
    LedgerYear,
    PeriodFactor,
    QuarterFTE,
    Regime,
    RegimeKind,
    RightResult,
)
from ila.rights.rules import RuleSet

FIRST_PERIOD_START = 2022
"""Two-year periods start on 1 January 2022 (law of 3 Oct 2022, art. 50 par. 2)."""
DEFAULT_DAY_MINUTES = 456  # 7 h 36: a full-time day at 38 hours a week
TIMES = "\u00d7"
_ONE_DAY = timedelta(days=1)
_ZERO = Fraction(0)
_MONTHS = tuple(Fraction(m) for m in range(13))
_RIGHT_RULE = (
    "every started calendar month counts as a whole month; a month split by a change "
    "of work fraction is shared by employed days; suspensions do not reduce the right"
)
_HEADCOUNT_METHODS = {
    "average": "sum of the FTE declared at the end of each reference quarter / number of quarters "
    "for which workers were declared",
    "fallback_first_quarter": "no declaration in the reference period: FTE of the workers employed "
    "on the last day of the quarter of the first employment after it",
    "none": "no declaration and no later employment: 0 FTE",
}


def fmt2(value: Fraction) -> str:
    """Two decimals, rounded half up (away from zero): ``Fraction(10, 3)`` -> ``"3.33"``."""
    n, d = value.numerator, value.denominator
    q = (abs(n) * 200 + d) // (2 * d)
    return f"{'-' if n < 0 and q else ''}{q // 100}.{q % 100:02d}"


def _num(value: Fraction) -> str:
    """Exact and readable: ``5``, ``0.8``, ``2.5`` for terminating decimals, else ``10/3``."""
    n, d = value.numerator, value.denominator
    if d == 1:
        return str(n)
    k = d
    while k % 2 == 0:
        k //= 2
    while k % 5 == 0:
        k //= 5
    return str(Decimal(n) / d) if k == 1 else f"{n}/{d}"


# ------------------------------------------------------------------------------ headcount


def two_year_period(year: int) -> int:
    """First year of the two-year period containing ``year`` (2022-23, 2024-25, ...)."""
    if year < FIRST_PERIOD_START:
        raise InvalidPeriod(
            f"two-year periods start in {FIRST_PERIOD_START}; got year {year}", field="year"
        )
    return year - (year - FIRST_PERIOD_START) % 2


def reference_quarters(period_start: int) -> tuple[tuple[int, int], ...]:
    """Q4 of ``period_start - 2`` and Q1-Q3 of ``period_start - 1``, as (year, quarter)."""
    if two_year_period(period_start) != period_start:
        raise InvalidPeriod(
            f"{period_start} does not start a two-year period "
            f"({FIRST_PERIOD_START}, {FIRST_PERIOD_START + 2}, ...)",
            field="period_start",
        )
    before = period_start - 1
    return (period_start - 2, 4), (before, 1), (before, 2), (before, 3)


def _fte(value: object, field: str) -> Fraction:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"FTE {value!r} is not a number", field=field) from None
    if not number.is_finite() or number < 0:
        raise ValidationError(
            f"FTE must be a finite number of at least 0, got {value}", field=field
        )
    return Fraction(number)


def compute_headcount(
    rules: RuleSet,
    period_start: int,
    declarations: Iterable[QuarterFTE],
    fallback_fte: Decimal | None = None,
) -> Headcount:
    """Average FTE over the reference quarters where workers were declared (art. 50 par. 2)."""
    refs = reference_quarters(period_start)
    declared: dict[tuple[int, int], tuple[Fraction, bool]] = {}
    for q in declarations:
        if not 1 <= q.quarter <= 4:
            raise ValidationError(f"quarter must be 1 to 4, got {q.quarter}", field="quarter")
        key = (q.year, q.quarter)
        if key in declared:
            raise ValidationError(
                f"two declarations for {q.year} Q{q.quarter}; give one FTE per "
                "quarter for the legal entity",
                field="declarations",
            )
        declared[key] = (_fte(q.fte, "fte"), q.workers_declared)
    used = tuple(k for k in refs if k in declared and declared[k][1])
    total = sum((declared[k][0] for k in used), _ZERO)
    fallback = None if fallback_fte is None else _fte(fallback_fte, "fallback_fte")
    if used:
        fte, method = total / len(used), "average"
    elif fallback is not None:
        fte, method = fallback, "fallback_first_quarter"
    else:
        fte, method = _ZERO, "none"
    band = rules.band_for(fte)
    low, high = rules.band_thresholds
    derivation: Derivation = {
        "rule_set_version": rules.version,
        "period": [period_start, period_start + 1],
        "method": method,
        "reference_quarters": [
            {
                "year": y,
                "quarter": q,
                "fte": str(declared[(y, q)][0]) if (y, q) in declared else None,
                "used": (y, q) in used,
            }
            for y, q in refs
        ],
        "sum": str(total),
        "divisor": len(used),
        "fallback_fte": None if fallback is None else str(fallback),
        "average": str(fte),
        "average_2dp": fmt2(fte),
        "band": band.value,
        "thresholds": {"10to19": str(low), "ge20": str(high), "source": rules.sources.get("bands")},
        "explanation": _HEADCOUNT_METHODS[method],
    }
    return Headcount(period_start, fte, band, method, refs, used, derivation)


# ------------------------------------------------------------------------------ yearly right


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _share(month: int, lo: date, hi: date, s: date, e: date) -> tuple[int, int]:
    """Days lo..hi of a month over the employed days s..e of that month (numerator, denominator)."""
    y, m = divmod(month, 12)
    first, last = date(y, m + 1, 1), date(y, m + 1, monthrange(y, m + 1)[1])
    return ((min(last, hi) - max(first, lo)).days + 1, (min(last, e) - max(first, s)).days + 1)


def _slices(
    fractions: tuple[FractionPeriod, ...], start: date, s: date, e: date
) -> list[tuple[date, date, Fraction]]:
    """Constant-fraction slices of the employed days s..e (equal neighbours merged)."""
    if fractions[0].valid_from > start:
        raise InvalidWorkFraction(
            "the first work fraction starts after the employment start", field="fractions"
        )
    if len(fractions) == 1:
        return [(s, e, fractions[0].fraction)]
    out: list[tuple[date, date, Fraction]] = []
    for fp, nxt in zip(fractions, (*fractions[1:], None), strict=True):
        if nxt is not None and nxt.valid_from <= fp.valid_from:
            raise InvalidWorkFraction(
                "work fractions must be sorted by valid_from, one per date", field="fractions"
            )
        lo = max(fp.valid_from, s)
        hi = e if nxt is None or nxt.valid_from > e else nxt.valid_from - _ONE_DAY
        if lo > hi:
            continue
        if out and out[-1][2] == fp.fraction:
            out[-1] = (out[-1][0], hi, fp.fraction)
        else:
            out.append((lo, hi, fp.fraction))
    return out


def annual_right(
    rules: RuleSet, year: int, employment: EmploymentFacts, headcount: Headcount
) -> RightResult:
    """``right = A x B x C`` for one employment and one year (rules.md 1.3).

    Each calendar month with at least one employed day counts whole; a month split by a change of
    work fraction is shared between the fractions by employed days. Suspensions do not reduce.
    """
    period_start = headcount.period_start
    if period_start != two_year_period(year):
        raise InvalidPeriod(
            f"the headcount is for the period starting {period_start}, year "
            f"{year} needs the one starting {two_year_period(year)}",
            field="headcount",
        )
    regime = rules.regime_for(year, headcount.band, employment.joint_committee)
    a = regime.individual_days_per_year
    fte = headcount.fte
    derivation: Derivation = {
        "rule_set_version": rules.version,
        "year": year,
        "regime": {
            "id": regime.id,
            "source": regime.source,
            "cct": regime.cct,
            "kind": str(regime.kind),
            "joint_committee": regime.joint_committee,
            "band": str(regime.band),
            "note": regime.note,
        },
        "joint_committee": employment.joint_committee,
        "headcount": {
            "fte": str(fte),
            "fte_2dp": fmt2(fte),
            "band": str(headcount.band),
            "method": headcount.method,
            "period": [period_start, period_start + 1],
        },
        "A": str(a),
    }
    first_day = date(year, 1, 1)
    s = employment.start if employment.start > first_day else first_day
    e = employment.end
    if e is None or e.year > year:
        e = date(year, 12, 31)
    if s > e:
        derivation.update(
            periods=[],
            months=0,
            C="0/12",
            total="0",
            total_2dp="0.00",
            formula=f"not employed in {year}: 0 days",
            note=f"the employment does not overlap {year}",
        )
        return RightResult(year, _ZERO, a, regime, (), derivation)
    month_count = (e.year - s.year) * 12 + e.month - s.month + 1
    slices = _slices(employment.fractions, employment.start, s, e)
    s_iso, e_iso = s.isoformat(), e.isoformat()
    if len(slices) == 1:  # the common case: one fraction for the whole employed part of the year
        b = slices[0][2]
        total = Fraction(
            a.numerator * b.numerator * month_count, a.denominator * b.denominator * 12
        )
        periods: tuple[PeriodFactor, ...] = (PeriodFactor(s, e, b, _MONTHS[month_count], total),)
        total_str, total_2dp = str(total), fmt2(total)
        rows = [
            {
                "start": s_iso,
                "end": e_iso,
                "B": str(b),
                "months": str(month_count),
                "days": total_str,
                "days_2dp": total_2dp,
            }
        ]
        product = f"{_num(b)} {TIMES} {month_count}/12"
    else:
        periods = tuple(_split_periods(a, slices, s, e))
        total = sum((p.days for p in periods), _ZERO)
        total_str, total_2dp = str(total), fmt2(total)
        rows = [
            {
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "B": str(p.fraction),
                "months": str(p.months),
                "days": str(p.days),
                "days_2dp": fmt2(p.days),
            }
            for p in periods
        ]
        product = (
            "("
            + " + ".join(
                f"{_num(p.fraction)} {TIMES} ({p.months})/12"
                if p.months.denominator > 1
                else f"{_num(p.fraction)} {TIMES} {p.months}/12"
                for p in periods
            )
            + ")"
        )
    derivation.update(
        employed={"from": s_iso, "to": e_iso},
        periods=rows,
        months=month_count,
        C=f"{month_count}/12",
        total=total_str,
        total_2dp=total_2dp,
        formula=f"{_num(a)} {TIMES} {product} = {total_2dp}",
        rule=_RIGHT_RULE,
    )
    if employment.suspensions:
        derivation["suspensions_ignored"] = len(employment.suspensions)
    return RightResult(year, total, a, regime, periods, derivation)


def _split_periods(
    a: Fraction, slices: list[tuple[date, date, Fraction]], s: date, e: date
) -> Iterable[PeriodFactor]:
    for lo, hi, b in slices:
        fm, lm = _month_index(lo), _month_index(hi)
        num, den = _share(fm, lo, hi, s, e)
        if lm != fm:  # first and last month shared with other fractions, whole months between
            n2, d2 = _share(lm, lo, hi, s, e)
            num, den = num * d2 + n2 * den + (lm - fm - 1) * den * d2, den * d2
        yield PeriodFactor(
            lo,
            hi,
            b,
            Fraction(num, den),
            Fraction(a.numerator * b.numerator * num, a.denominator * b.denominator * den * 12),
        )


def collective_pool(regime: Regime, headcount: Headcount) -> Fraction | None:
    """Days of a collective regime's pool for the two-year period; ``None`` if individual."""
    per_fte = regime.collective_days_per_period_per_fte
    if regime.kind is not RegimeKind.COLLECTIVE or per_fte is None:
        return None
    return per_fte * headcount.fte


# ------------------------------------------------------------------------------ ledger


@dataclass(frozen=True)
class YearInput:
    """One year of a person-employer account; ``employment_end`` only in the year it ended."""

    year: int
    entitlement: Fraction
    used: Fraction
    employment_end: date | None = None
    end_reason: EndReason | None = None


_DEPARTURE_TEXT = {
    DepartureOutcome.FORFEITED: "employment ended by resignation or dismissal for serious cause: "
    "the remaining days are lost",
    DepartureOutcome.NOTICE_OR_INDEMNITY: "dismissal: the remaining days are to be taken during "
    "the notice or valued in the notice indemnity",
    DepartureOutcome.LAPSES: "employment ended: the remaining days lapse on the end date",
}


def _checked(item: YearInput, prev: LedgerYear | None) -> tuple[Fraction, Fraction]:
    entitlement, used = Fraction(item.entitlement), Fraction(item.used)
    if prev is not None and item.year <= prev.year:
        raise InvalidPeriod(
            f"ledger years must be ascending without repeats: {item.year} after {prev.year}",
            field="year",
        )
    if entitlement < 0 or used < 0:
        raise InvalidDuration(
            f"{item.year}: entitlement and used days cannot be negative",
            field="entitlement" if entitlement < 0 else "used",
        )
    end = item.employment_end
    if end is not None and end.year != item.year:
        raise InvalidPeriod(
            f"employment end {end.isoformat()} is not in {item.year}", field="employment_end"
        )
    return entitlement, used


def _carried_in(
    prev: LedgerYear | None, year: int, window: tuple[int, int]
) -> tuple[Fraction, str]:
    if prev is None:
        return _ZERO, "first year of the account"
    if prev.year != year - 1:
        return _ZERO, f"no data for {year - 1}: nothing carries over a gap"
    if prev.window != window:
        return _ZERO, f"first year of the window {window[0]}-{window[1]}"
    return prev.carried_out, f"carried out of {prev.year}"


def _days_dict(value: Fraction) -> dict[str, str]:
    return {"exact": str(value), "2dp": fmt2(value)}


def fold_ledger(rules: RuleSet, years: Sequence[YearInput]) -> list[LedgerYear]:
    """Carry unused days from year to year within each window (rules.md 1.6)."""
    out: list[LedgerYear] = []
    prev: LedgerYear | None = None
    for item in years:
        entitlement, used = _checked(item, prev)
        window = rules.window_for(item.year)
        carried_in, why_in = _carried_in(prev, item.year, window)
        balance = entitlement + carried_in - used
        remaining = max(balance, _ZERO)
        departure: DepartureOutcome | None = None
        expires_on = date(window[1], 12, 31)
        carried_out, expiring = remaining, _ZERO
        end = item.employment_end
        if end is not None:
            departure = rules.departure_outcome(item.end_reason) or rules.unspecified_departure
            carried_out, expires_on = _ZERO, end
            expiring = _ZERO if departure is DepartureOutcome.NOTICE_OR_INDEMNITY else remaining
            why_out = _DEPARTURE_TEXT[departure]
        elif item.year == window[1]:
            carried_out, expiring = _ZERO, remaining
            why_out = f"last year of the window {window[0]}-{window[1]}: the balance resets to 0"
        else:
            why_out = "unused days carry over to the next year of the window"
        derivation: Derivation = {
            "rule_set_version": rules.version,
            "year": item.year,
            "window": [window[0], window[1]],
            "window_source": rules.sources.get("windows"),
            **{
                key: _days_dict(value)
                for key, value in (
                    ("entitlement", entitlement),
                    ("carried_in", carried_in),
                    ("used", used),
                    ("balance", balance),
                    ("carried_out", carried_out),
                    ("expiring", expiring),
                )
            },
            "carried_in_reason": why_in,
            "balance_formula": f"{_num(entitlement)} + {_num(carried_in)} - {_num(used)} = "
            f"{fmt2(balance)}",
            "carried_out_reason": why_out,
            "expires_on": expires_on.isoformat(),
            "departure": None if departure is None else departure.value,
            "end_reason": None if end is None or item.end_reason is None else item.end_reason.value,
        }
        if departure is DepartureOutcome.NOTICE_OR_INDEMNITY:
            derivation["open_credit_at_departure"] = _days_dict(remaining)
        if balance < 0:
            derivation["note"] = (
                "more days used than due: the over-consumption is not deducted "
                "from the next year (decision, rules.md 1.6)"
            )
        prev = LedgerYear(
            item.year,
            entitlement,
            used,
            carried_in,
            balance,
            carried_out,
            expiring,
            window,
            expires_on,
            departure,
            derivation,
        )
        out.append(prev)
    return out


# ------------------------------------------------------------------------------ units


def _check_day_minutes(day_minutes: int) -> None:
    if day_minutes <= 0:
        raise InvalidDuration(
            f"a training day must last more than 0 minutes, got {day_minutes}", field="day_minutes"
        )


def days_to_minutes(days: Fraction, day_minutes: int) -> Fraction:
    """Exact minutes of a number of days, a day being ``day_minutes`` long."""
    _check_day_minutes(day_minutes)
    return Fraction(days) * day_minutes


def minutes_to_days(minutes: Fraction | int, day_minutes: int) -> Fraction:
    """Exact days of a duration in minutes (a training's duration: never negative)."""
    _check_day_minutes(day_minutes)
    if minutes < 0:
        raise InvalidDuration(
            f"a duration cannot be negative, got {minutes} minutes", field="minutes"
        )
    return Fraction(minutes) / day_minutes


def format_days(days: Fraction, day_minutes: int = DEFAULT_DAY_MINUTES) -> str:
    """``"3.33 days (25 h 20 min)"``: days to 2 decimals and minutes rounded half up."""
    minutes = days_to_minutes(days, day_minutes)
    n, d = minutes.numerator, minutes.denominator
    rounded = (abs(n) * 2 + d) // (2 * d)
    hours, rest = divmod(rounded, 60)
    sign = "-" if n < 0 and rounded else ""
    return f"{fmt2(Fraction(days))} days ({sign}{hours} h {rest} min)"
