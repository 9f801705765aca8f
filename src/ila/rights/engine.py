"""Pure computations of the individual training right (rules.md section 1).

Headcount of a two-year period and the yearly right ``A x B x C`` of one employment (the
carry-over ledger is in :mod:`ila.rights.ledger`, units in :mod:`ila.rights.units`). No I/O:
the rule data comes in as a :class:`~ila.rights.rules.RuleSet`. Every quantity of days is an
exact ``Fraction``; each result carries a JSON-serialisable derivation (exact values as
strings such as ``"10/3"`` plus two-decimal strings rounded half up).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from ila.employment.domain import EmploymentFacts, FractionPeriod
from ila.errors import InvalidPeriod, InvalidWorkFraction, ValidationError
from ila.rights.domain import (
    Derivation,
    Headcount,
    PeriodFactor,
    QuarterFTE,
    Regime,
    RegimeKind,
    RightResult,
)
from ila.rights.rules import RuleSet
from ila.rights.units import exact_text, fmt2

FIRST_PERIOD_START = 2022
"""Two-year periods start on 1 January 2022 (law of 3 Oct 2022, art. 50 par. 2)."""
TIMES = "\u00d7"
_ONE_DAY = timedelta(days=1)
_ZERO = Fraction(0)
_MONTHS = tuple(Fraction(m) for m in range(13))
RIGHT_RULE = (
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


def regime_view(regime: Regime) -> Derivation:
    """The regime as a derivation shows it: which rule, from which source."""
    return {
        "id": regime.id,
        "source": regime.source,
        "cct": regime.cct,
        "kind": str(regime.kind),
        "joint_committee": regime.joint_committee,
        "band": str(regime.band),
        "note": regime.note,
    }


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
        "regime": regime_view(regime),
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
        product = f"{exact_text(b)} {TIMES} {month_count}/12"
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
                f"{exact_text(p.fraction)} {TIMES} ({p.months})/12"
                if p.months.denominator > 1
                else f"{exact_text(p.fraction)} {TIMES} {p.months}/12"
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
        formula=f"{exact_text(a)} {TIMES} {product} = {total_2dp}",
        rule=RIGHT_RULE,
    )
    if employment.suspensions:
        derivation["suspensions_ignored"] = len(employment.suspensions)
    return RightResult(year, total, a, regime, periods, derivation)


def annual_days(
    rules: RuleSet, year: int, employment: EmploymentFacts, headcount: Headcount
) -> tuple[Fraction, Regime]:
    """The days of :func:`annual_right` and its regime, without the derivation: the same
    arithmetic and the same errors, to compare with a stored value before explaining it."""
    if headcount.period_start != two_year_period(year):
        annual_right(rules, year, employment, headcount)  # raises the same InvalidPeriod
    regime = rules.regime_for(year, headcount.band, employment.joint_committee)
    a = regime.individual_days_per_year
    first_day = date(year, 1, 1)
    s = employment.start if employment.start > first_day else first_day
    e = employment.end
    if e is None or e.year > year:
        e = date(year, 12, 31)
    if s > e:
        return _ZERO, regime
    slices = _slices(employment.fractions, employment.start, s, e)
    if len(slices) == 1:
        b = slices[0][2]
        months = (e.year - s.year) * 12 + e.month - s.month + 1
        return Fraction(
            a.numerator * b.numerator * months, a.denominator * b.denominator * 12
        ), regime
    return sum((p.days for p in _split_periods(a, slices, s, e)), _ZERO), regime


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
