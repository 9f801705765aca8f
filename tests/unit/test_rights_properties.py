"""Properties of the training-right engine (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from ila.employment.domain import EmploymentFacts, EndReason
from ila.rights.domain import Headcount, QuarterFTE
from ila.rights.engine import (
    annual_right,
    compute_headcount,
    reference_quarters,
    two_year_period,
)
from ila.rights.ledger import YearInput, fold_ledger
from ila.rights.rules import load_rules

RULES = load_rules()
PROPS = settings(deadline=None, max_examples=150)
JCS = ["226", "124", "200", "200.01", "305.02.09"]

years = st.integers(2022, 2032)
dates = st.dates(date(2020, 1, 1), date(2034, 12, 31))
fractions = st.integers(1, 100).map(lambda n: Fraction(n, 100))
ftes = st.sampled_from(["0", "9.5", "10", "19.99", "20", "250"])


def headcount(year: int, fte: str) -> Headcount:
    period = two_year_period(year)
    return compute_headcount(
        RULES, period, [QuarterFTE(y, q, Decimal(fte)) for y, q in reference_quarters(period)]
    )


def facts(
    start: date, end: date | None, jc: str, periods: list[tuple[date, Fraction]]
) -> EmploymentFacts:
    return EmploymentFacts.build(start=start, end=end, joint_committee=jc, fractions=periods)


@st.composite
def employments(draw: st.DrawFn, max_changes: int = 4) -> EmploymentFacts:
    start = draw(dates)
    end = draw(st.none() | st.dates(start, date(2035, 12, 31)))
    changes = draw(
        st.lists(
            st.tuples(st.dates(start + timedelta(days=1), date(2035, 12, 31)), fractions),
            max_size=max_changes,
            unique_by=lambda c: c[0],
        )
    )
    return facts(start, end, draw(st.sampled_from(JCS)), [(start, draw(fractions)), *changes])


def reference_right(a: Fraction, year: int, emp: EmploymentFacts) -> Fraction:
    """rules.md 1.3 day by day: each employed month gives A/12 x the mean B of its employed days."""
    total = Fraction(0)
    day = date(year, 1, 1)
    by_month: dict[int, list[Fraction]] = {}
    while day.year == year:
        if emp.start <= day and (emp.end is None or day <= emp.end):
            b = [fp.fraction for fp in emp.fractions if fp.valid_from <= day][-1]
            by_month.setdefault(day.month, []).append(b)
        day += timedelta(days=1)
    for values in by_month.values():
        total += a / 12 * sum(values, Fraction(0)) / len(values)
    return total


@PROPS
@given(year=years, emp=employments(), fte=ftes)
def test_right_matches_the_day_by_day_definition_and_never_exceeds_a(
    year: int, emp: EmploymentFacts, fte: str
) -> None:
    result = annual_right(RULES, year, emp, headcount(year, fte))
    assert 0 <= result.days <= result.a_days
    assert result.days == reference_right(result.a_days, year, emp)
    assert result.days == sum((p.days for p in result.periods), Fraction(0))
    assert sum((p.months for p in result.periods), Fraction(0)) == result.derivation["months"]


@PROPS
@given(
    year=years,
    a=dates,
    b=dates,
    end=st.none() | dates,
    fraction=fractions,
    jc=st.sampled_from(JCS),
    fte=ftes,
)
def test_monotone_in_months_employed(
    year: int, a: date, b: date, end: date | None, fraction: Fraction, jc: str, fte: str
) -> None:
    early, late = sorted((a, b))
    if end is not None and end < late:
        end = late
    hc = headcount(year, fte)
    longer = annual_right(RULES, year, facts(early, end, jc, [(early, fraction)]), hc)
    shorter = annual_right(RULES, year, facts(late, end, jc, [(late, fraction)]), hc)
    assert longer.days >= shorter.days
    cut = annual_right(RULES, year, facts(early, late, jc, [(early, fraction)]), hc)
    assert longer.days >= cut.days


@PROPS
@given(
    year=years,
    start=dates,
    end=st.none() | dates,
    f1=fractions,
    f2=fractions,
    jc=st.sampled_from(JCS),
    fte=ftes,
)
def test_monotone_in_the_work_fraction(
    year: int, start: date, end: date | None, f1: Fraction, f2: Fraction, jc: str, fte: str
) -> None:
    end = None if end is None or end < start else end
    low, high = sorted((f1, f2))
    hc = headcount(year, fte)
    assert (
        annual_right(RULES, year, facts(start, end, jc, [(start, low)]), hc).days
        <= annual_right(RULES, year, facts(start, end, jc, [(start, high)]), hc).days
    )


@PROPS
@given(
    year=years,
    start=dates,
    end=st.none() | dates,
    fraction=fractions,
    cuts=st.lists(dates, max_size=6, unique=True),
    jc=st.sampled_from(JCS),
    fte=ftes,
)
def test_splitting_a_constant_fraction_changes_nothing(
    year: int,
    start: date,
    end: date | None,
    fraction: Fraction,
    cuts: list[date],
    jc: str,
    fte: str,
) -> None:
    end = None if end is None or end < start else end
    hc = headcount(year, fte)
    whole = annual_right(RULES, year, facts(start, end, jc, [(start, fraction)]), hc)
    split = facts(start, end, jc, [(start, fraction), *((c, fraction) for c in cuts if c > start)])
    assert annual_right(RULES, year, split, hc).days == whole.days


amounts = st.integers(0, 60).map(lambda n: Fraction(n, 6))


@st.composite
def ledgers(draw: st.DrawFn) -> list[YearInput]:
    first = draw(st.integers(2022, 2032))
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 2, 3]), max_size=12))
    year_list = [first]
    for step in steps:
        year_list.append(year_list[-1] + step)
    rows = [YearInput(y, draw(amounts), draw(amounts)) for y in year_list]
    if draw(st.booleans()):
        last = rows[-1]
        end = date(last.year, draw(st.integers(1, 12)), 1)
        rows[-1] = YearInput(
            last.year,
            last.entitlement,
            last.used,
            end,
            draw(st.none() | st.sampled_from(list(EndReason))),
        )
    return rows


@PROPS
@given(rows=ledgers())
def test_ledger_never_carries_across_windows_and_balances(rows: list[YearInput]) -> None:
    ledger = fold_ledger(RULES, rows)
    assert [y.year for y in ledger] == [r.year for r in rows]
    previous = None
    for row, year in zip(rows, ledger, strict=True):
        window = RULES.window_for(row.year)
        assert year.window == window
        assert year.balance == year.entitlement + year.carried_in - year.used
        assert year.carried_out >= 0
        assert year.expiring >= 0
        assert year.carried_out + year.expiring <= max(year.balance, Fraction(0))
        if row.year == window[0]:
            assert year.carried_in == 0
        if row.year == window[1] or row.employment_end is not None:
            assert year.carried_out == 0
        consecutive = previous is not None and previous.year == row.year - 1
        expected_in = previous.carried_out if consecutive and previous is not None else 0
        assert year.carried_in == expected_in
        previous = year
