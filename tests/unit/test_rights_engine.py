"""The training-right engine: headcount, yearly right, carry-over ledger, units (rules.md 1)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from ila.employment.domain import EmploymentFacts, EndReason, FractionPeriod, Suspension
from ila.errors import (
    DomainError,
    InvalidDuration,
    InvalidPeriod,
    InvalidWorkFraction,
    RuleNotFound,
    ValidationError,
)
from ila.rights.domain import (
    DepartureOutcome,
    Headcount,
    QuarterFTE,
    Regime,
    RegimeKind,
    SizeBand,
)
from ila.rights.engine import (
    annual_right,
    collective_pool,
    compute_headcount,
    reference_quarters,
    two_year_period,
)
from ila.rights.ledger import YearInput, fold_ledger
from ila.rights.rules import RuleSet, load_rules, rules_from_documents, shipped_documents
from ila.rights.units import days_to_minutes, fmt2, format_days, minutes_to_days

RULES = load_rules()
F = Fraction

# A sector regime of 2 days a year (joint committee 999), for the worked example of rules.md 1.3.
TWO_DAYS = rules_from_documents(
    [
        *shipped_documents(),
        (
            "pc999.toml",
            {
                "regime": [
                    {
                        "id": "pc999.lt10.2024",
                        "joint_committee": "999",
                        "band": "lt10",
                        "kind": "individual",
                        "valid_from": 2024,
                        "individual_days_per_year": 2,
                        "source": "test regime",
                    }
                ]
            },
        ),
    ]
)


def headcount(fte: str | int, period: int = 2024, rules: RuleSet = RULES) -> Headcount:
    quarters = reference_quarters(period)
    return compute_headcount(rules, period, [QuarterFTE(y, q, Decimal(fte)) for y, q in quarters])


def employment(
    start: date,
    end: date | None = None,
    fraction: str | Fraction = "1",
    jc: str = "226",
    changes: tuple[tuple[date, str], ...] = (),
    suspensions: tuple[Suspension, ...] = (),
) -> EmploymentFacts:
    return EmploymentFacts.build(
        start=start,
        end=end,
        joint_committee=jc,
        fractions=[(start, fraction), *changes],
        suspensions=suspensions,
    )


def right(year: int, emp: EmploymentFacts, fte: str | int = 40, rules: RuleSet = RULES) -> Fraction:
    return annual_right(rules, year, emp, headcount(fte, two_year_period(year), rules)).days


def assert_code(err: pytest.ExceptionInfo[DomainError], code: str) -> None:
    assert err.value.code == code


# ------------------------------------------------------------------------------ periods


@pytest.mark.parametrize(
    ("year", "start"),
    [(2022, 2022), (2023, 2022), (2024, 2024), (2025, 2024), (2026, 2026), (2031, 2030)],
)
def test_two_year_period(year: int, start: int) -> None:
    assert two_year_period(year) == start


def test_two_year_period_before_2022() -> None:
    with pytest.raises(InvalidPeriod) as err:
        two_year_period(2021)
    assert_code(err, "invalid_period")


def test_reference_quarters() -> None:
    assert reference_quarters(2024) == ((2022, 4), (2023, 1), (2023, 2), (2023, 3))
    assert reference_quarters(2022) == ((2020, 4), (2021, 1), (2021, 2), (2021, 3))


@pytest.mark.parametrize("start", [2025, 2020])
def test_reference_quarters_needs_a_period_start(start: int) -> None:
    with pytest.raises(InvalidPeriod) as err:
        reference_quarters(start)
    assert_code(err, "invalid_period")


# ------------------------------------------------------------------------------ headcount


def test_headcount_average_excludes_quarters_without_workers() -> None:
    hc = compute_headcount(
        RULES,
        2024,
        [
            QuarterFTE(2022, 4, Decimal("18.5")),
            QuarterFTE(2023, 1, Decimal("21.5")),
            QuarterFTE(2023, 2, Decimal("0"), workers_declared=False),
            QuarterFTE(2023, 4, Decimal("100")),  # outside the reference period: ignored
            QuarterFTE(2021, 3, Decimal("100")),
        ],
    )
    assert hc.fte == 20
    assert hc.band is SizeBand.AT_LEAST_20
    assert hc.method == "average"
    assert hc.quarters_used == ((2022, 4), (2023, 1))
    assert hc.reference_quarters == ((2022, 4), (2023, 1), (2023, 2), (2023, 3))
    d = hc.derivation
    assert d["sum"] == "40"
    assert d["divisor"] == 2
    assert d["average"] == "20"
    assert d["average_2dp"] == "20.00"
    assert d["band"] == "ge20"
    assert d["thresholds"]["ge20"] == "20"
    assert [q["used"] for q in d["reference_quarters"]] == [True, True, False, False]
    assert d["reference_quarters"][2]["fte"] == "0"
    assert d["reference_quarters"][3]["fte"] is None
    json.dumps(d)


def test_headcount_exact_average_and_band_edge() -> None:
    hc = compute_headcount(
        RULES,
        2026,
        [
            QuarterFTE(2024, 4, Decimal("19.9")),
            QuarterFTE(2025, 1, Decimal("19.9")),
            QuarterFTE(2025, 2, Decimal("20.2")),
        ],
    )
    assert hc.fte == F(200, 10)
    assert hc.band is SizeBand.AT_LEAST_20
    hc = compute_headcount(
        RULES,
        2026,
        [
            QuarterFTE(2024, 4, Decimal("10")),
            QuarterFTE(2025, 1, Decimal("10")),
            QuarterFTE(2025, 2, Decimal("10.01")),
        ],
    )
    assert hc.fte == F(3001, 300)
    assert hc.derivation["average"] == "3001/300"
    assert hc.derivation["average_2dp"] == "10.00"
    assert hc.band is SizeBand.FROM_10_TO_19


def test_headcount_fallback_first_quarter() -> None:
    hc = compute_headcount(
        RULES, 2024, [QuarterFTE(2023, 1, Decimal(5), False)], fallback_fte=Decimal("12.5")
    )
    assert (hc.fte, hc.method, hc.band) == (
        F(25, 2),
        "fallback_first_quarter",
        SizeBand.FROM_10_TO_19,
    )
    assert hc.quarters_used == ()
    assert hc.derivation["fallback_fte"] == "25/2"
    assert hc.derivation["divisor"] == 0


def test_headcount_none() -> None:
    hc = compute_headcount(RULES, 2022, [])
    assert (hc.fte, hc.method, hc.band) == (F(0), "none", SizeBand.UNDER_10)
    assert hc.derivation["fallback_fte"] is None


def test_headcount_fallback_ignored_when_declared() -> None:
    hc = compute_headcount(RULES, 2024, [QuarterFTE(2023, 3, Decimal(8))], fallback_fte=Decimal(50))
    assert (hc.fte, hc.method) == (F(8), "average")


@pytest.mark.parametrize(
    ("declarations", "fallback", "field"),
    [
        ([QuarterFTE(2023, 5, Decimal(1))], None, "quarter"),
        ([QuarterFTE(2023, 0, Decimal(1))], None, "quarter"),
        ([QuarterFTE(2023, 1, Decimal(-1))], None, "fte"),
        ([QuarterFTE(2023, 1, Decimal("NaN"))], None, "fte"),
        ([QuarterFTE(2023, 1, "abc")], None, "fte"),  # type: ignore[arg-type]
        ([QuarterFTE(2023, 1, Decimal(1)), QuarterFTE(2023, 1, Decimal(2))], None, "declarations"),
        ([], Decimal(-3), "fallback_fte"),
    ],
)
def test_headcount_bad_input(
    declarations: list[QuarterFTE], fallback: Decimal | None, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        compute_headcount(RULES, 2024, declarations, fallback)
    assert_code(err, "invalid_value")
    assert err.value.field == field


# ------------------------------------------------------------------------------ worked examples


def test_example_two_days_half_time_six_months() -> None:
    emp = employment(date(2024, 7, 1), fraction="0.5", jc="999")
    result = annual_right(TWO_DAYS, 2024, emp, headcount(5, rules=TWO_DAYS))
    assert result.days == F(1, 2)
    assert result.regime.id == "pc999.lt10.2024"
    assert result.derivation["formula"] == "2 \u00d7 0.5 \u00d7 6/12 = 0.50"


def test_example_forty_fte_eighty_percent_hired_29_march_2024() -> None:
    emp = employment(date(2024, 3, 29), fraction="0.8")
    result = annual_right(RULES, 2024, emp, headcount(40))
    assert result.days == F(10, 3)
    assert result.a_days == 5
    assert result.regime.id == "statutory.ge20.2024"
    (period,) = result.periods
    assert (period.start, period.end, period.fraction, period.months, period.days) == (
        date(2024, 3, 29),
        date(2024, 12, 31),
        F(4, 5),
        F(10),
        F(10, 3),
    )
    d = result.derivation
    assert d["formula"] == "5 \u00d7 0.8 \u00d7 10/12 = 3.33"
    assert (d["A"], d["C"], d["months"], d["total"], d["total_2dp"]) == (
        "5",
        "10/12",
        10,
        "10/3",
        "3.33",
    )
    assert d["periods"] == [
        {
            "start": "2024-03-29",
            "end": "2024-12-31",
            "B": "4/5",
            "months": "10",
            "days": "10/3",
            "days_2dp": "3.33",
        }
    ]
    assert d["regime"]["source"].startswith("Law of 3 October 2022")
    assert d["regime"]["kind"] == "individual"
    assert d["headcount"] == {
        "fte": "40",
        "fte_2dp": "40.00",
        "band": "ge20",
        "method": "average",
        "period": [2024, 2025],
    }
    assert d["rule_set_version"] == RULES.version
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize(
    ("fte", "year", "days"),
    [
        ("19.9", 2024, 1),
        ("20.0", 2024, 5),
        ("20.0", 2023, 4),
        ("19.9", 2023, 1),
        ("9.99", 2024, 0),
    ],
)
def test_band_edges_statutory(fte: str, year: int, days: int) -> None:
    assert right(year, employment(date(2020, 1, 1), jc="226"), fte) == days


@pytest.mark.parametrize(
    ("jc", "year", "fte", "days"),
    [
        ("124", 2027, 40, F(7, 2)),
        ("124", 2023, 40, F(5, 2)),
        ("124", 2027, 15, 1),
        ("200", 2024, 40, 3),
        ("200", 2026, 40, 4),
        ("200", 2028, 40, 5),
        ("200", 2024, 15, 1),
        ("200", 2024, 5, 1),
        ("200", 2022, 40, 1),
        ("305.02.09", 2024, 40, 5),
    ],
)
def test_sector_regimes_full_year(jc: str, year: int, fte: int, days: Fraction | int) -> None:
    assert right(year, employment(date(2020, 1, 1), jc=jc), fte) == days


def test_pc200_collective_pool_and_individual_part() -> None:
    hc = headcount("15.5")
    result = annual_right(RULES, 2024, employment(date(2020, 1, 1), jc="200"), hc)
    assert result.days == 1
    assert result.regime.kind is RegimeKind.COLLECTIVE
    assert collective_pool(result.regime, hc) == F(9, 2) * F(31, 2)
    assert collective_pool(RULES.regime_for(2024, SizeBand.AT_LEAST_20, "200"), hc) is None


def test_collective_pool_without_pool_data() -> None:
    regime = Regime(
        "x", "999", SizeBand.UNDER_10, RegimeKind.COLLECTIVE, 2024, None, F(1), None, "s"
    )
    assert collective_pool(regime, headcount(5)) is None


# ------------------------------------------------------------------------------ proration


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2024, 1, 31), date(2024, 2, 1), 2),
        (date(2024, 12, 31), None, 1),
        (date(2023, 6, 1), date(2024, 1, 1), 1),
        (date(2023, 6, 1), date(2025, 6, 1), 12),
        (date(2024, 5, 15), date(2024, 5, 15), 1),
    ],
)
def test_every_started_month_counts(start: date, end: date | None, months: int) -> None:
    assert right(2024, employment(start, end)) == F(5 * months, 12)


def test_not_employed_in_the_year() -> None:
    for emp in (employment(date(2025, 1, 1)), employment(date(2020, 1, 1), date(2023, 12, 31))):
        result = annual_right(RULES, 2024, emp, headcount(40))
        assert result.days == 0
        assert result.periods == ()
        assert result.derivation["formula"] == "not employed in 2024: 0 days"
        assert "does not overlap" in result.derivation["note"]


def test_fraction_change_mid_month_shares_the_month() -> None:
    emp = employment(date(2020, 1, 1), jc="200", changes=((date(2024, 6, 15), "0.5"),))
    result = annual_right(RULES, 2024, emp, headcount(40))
    first, second = result.periods
    assert (first.start, first.end, first.months) == (
        date(2024, 1, 1),
        date(2024, 6, 14),
        5 + F(14, 30),
    )
    assert (second.start, second.end, second.months) == (
        date(2024, 6, 15),
        date(2024, 12, 31),
        6 + F(16, 30),
    )
    assert first.months + second.months == 12
    assert result.days == F(3, 12) * (5 + F(14, 30) + F(1, 2) * (6 + F(16, 30))) == F(131, 60)
    assert result.derivation["formula"] == (
        "3 \u00d7 (1 \u00d7 (82/15)/12 + 0.5 \u00d7 (98/15)/12) = 2.18"
    )
    assert result.derivation["months"] == 12


def test_fraction_change_shares_only_employed_days() -> None:
    emp = employment(
        date(2024, 3, 10), date(2024, 3, 25), "1", changes=((date(2024, 3, 20), "0.5"),)
    )
    result = annual_right(RULES, 2024, emp, headcount(40))
    assert [p.months for p in result.periods] == [F(10, 16), F(6, 16)]
    assert result.days == F(5, 12) * (F(10, 16) + F(1, 2) * F(6, 16))


def test_fraction_change_on_the_first_of_a_month() -> None:
    emp = employment(date(2024, 1, 1), fraction="0.5", changes=((date(2024, 4, 1), "1"),))
    result = annual_right(RULES, 2024, emp, headcount(40))
    assert [(p.fraction, p.months) for p in result.periods] == [(F(1, 2), F(3)), (F(1), F(9))]
    assert result.days == F(5, 12) * (F(3, 2) + 9)


def test_changes_outside_the_year_and_equal_neighbours_merge() -> None:
    emp = employment(
        date(2020, 1, 1),
        fraction="0.5",
        changes=((date(2023, 3, 1), "0.8"), (date(2024, 5, 1), "4/5"), (date(2025, 2, 1), "1")),
    )
    result = annual_right(RULES, 2024, emp, headcount(40))
    assert len(result.periods) == 1
    assert result.periods[0].fraction == F(4, 5)
    assert result.days == 4


def test_three_slices_in_one_month() -> None:
    emp = employment(
        date(2024, 2, 1),
        date(2024, 2, 29),
        "1",
        changes=((date(2024, 2, 10), "0.5"), (date(2024, 2, 20), "0.25")),
    )
    result = annual_right(RULES, 2024, emp, headcount(40))
    assert [p.months for p in result.periods] == [F(9, 29), F(10, 29), F(10, 29)]
    assert result.days == F(5, 12) * (F(9, 29) + F(5, 29) + F(10, 4 * 29))


def test_suspensions_do_not_reduce() -> None:
    sick = (Suspension(date(2024, 2, 1), date(2024, 8, 31), "illness"),)
    with_sick = annual_right(
        RULES, 2024, employment(date(2024, 3, 29), fraction="0.8", suspensions=sick), headcount(40)
    )
    assert with_sick.days == F(10, 3)
    assert with_sick.derivation["suspensions_ignored"] == 1


def test_headcount_of_another_period_is_refused() -> None:
    with pytest.raises(InvalidPeriod) as err:
        annual_right(RULES, 2026, employment(date(2024, 1, 1)), headcount(40, 2024))
    assert_code(err, "invalid_period")
    assert err.value.field == "headcount"


def test_first_fraction_after_start_is_refused() -> None:
    emp = EmploymentFacts(date(2024, 1, 1), None, "226", (FractionPeriod(date(2024, 2, 1), F(1)),))
    with pytest.raises(InvalidWorkFraction) as err:
        annual_right(RULES, 2024, emp, headcount(40))
    assert_code(err, "invalid_work_fraction")


@pytest.mark.parametrize("second", [date(2024, 1, 1), date(2023, 6, 1)])
def test_unsorted_fractions_are_refused(second: date) -> None:
    emp = EmploymentFacts(
        date(2024, 1, 1),
        None,
        "226",
        (FractionPeriod(date(2024, 1, 1), F(1)), FractionPeriod(second, F(1, 2))),
    )
    with pytest.raises(InvalidWorkFraction) as err:
        annual_right(RULES, 2024, emp, headcount(40))
    assert_code(err, "invalid_work_fraction")


def test_year_without_rules() -> None:
    hc = Headcount(2020, F(40), SizeBand.AT_LEAST_20, "average", (), (), {})
    with pytest.raises(InvalidPeriod):
        annual_right(RULES, 2021, employment(date(2020, 1, 1)), hc)


def test_right_rule_not_found_is_typed() -> None:
    rules = rules_from_documents(
        [
            (
                n,
                {
                    k: [r for r in v if r["band"] != "lt10"] if k == "regime" else v
                    for k, v in doc.items()
                },
            )
            for n, doc in shipped_documents()
        ]
    )
    with pytest.raises(RuleNotFound) as err:
        annual_right(rules, 2024, employment(date(2024, 1, 1), jc="200"), headcount(5))
    assert_code(err, "rule_not_found")


# ------------------------------------------------------------------------------ ledger


def years(*rows: tuple[int, Any, Any]) -> list[YearInput]:
    return [YearInput(y, F(e), F(u)) for y, e, u in rows]


def test_ledger_carries_within_a_window_and_resets_at_its_end() -> None:
    ledger = fold_ledger(RULES, years((2026, 5, 1), (2027, 5, 2), (2028, 5, 0), (2029, 5, 0)))
    assert [(y.carried_in, y.balance, y.carried_out, y.expiring) for y in ledger] == [
        (F(0), F(4), F(4), F(0)),
        (F(4), F(7), F(7), F(0)),
        (F(7), F(12), F(0), F(12)),
        (F(0), F(5), F(5), F(0)),
    ]
    assert ledger[2].expires_on == date(2028, 12, 31)
    assert ledger[0].expires_on == date(2028, 12, 31)
    assert ledger[3].window == (2029, 2033)
    assert "resets to 0" in ledger[2].derivation["carried_out_reason"]
    assert ledger[3].derivation["carried_in_reason"] == "first year of the window 2029-2033"
    assert ledger[1].derivation["balance_formula"] == "5 + 4 - 2 = 7.00"
    assert ledger[1].derivation["balance"] == {"exact": "7", "2dp": "7.00"}
    json.dumps([y.derivation for y in ledger])


def test_ledger_transitional_window_does_not_carry_into_2024() -> None:
    ledger = fold_ledger(RULES, years((2022, 4, 0), (2023, 4, 1), (2024, 5, 0)))
    assert [y.carried_in for y in ledger] == [0, 4, 0]
    assert ledger[1].expiring == 7
    assert ledger[1].expires_on == date(2023, 12, 31)


def test_ledger_gap_breaks_the_carry() -> None:
    ledger = fold_ledger(RULES, years((2024, 5, 0), (2026, 5, 0)))
    assert ledger[1].carried_in == 0
    assert "gap" in ledger[1].derivation["carried_in_reason"]


def test_ledger_negative_balance_does_not_carry() -> None:
    ledger = fold_ledger(RULES, years((2024, F(10, 3), 5), (2025, 5, 0)))
    assert ledger[0].balance == F(-5, 3)
    assert (ledger[0].carried_out, ledger[0].expiring) == (F(0), F(0))
    assert ledger[1].carried_in == 0
    assert ledger[1].balance == 5
    assert "not deducted" in ledger[0].derivation["note"]
    assert "note" not in ledger[1].derivation


@pytest.mark.parametrize(
    ("reason", "outcome", "expiring"),
    [
        (EndReason.RESIGNATION, DepartureOutcome.FORFEITED, 6),
        (EndReason.DISMISSAL_SERIOUS_CAUSE, DepartureOutcome.FORFEITED, 6),
        (EndReason.DISMISSAL, DepartureOutcome.NOTICE_OR_INDEMNITY, 0),
        (EndReason.END_OF_CONTRACT, DepartureOutcome.LAPSES, 6),
        (None, DepartureOutcome.LAPSES, 6),
    ],
)
def test_ledger_departure(
    reason: EndReason | None, outcome: DepartureOutcome, expiring: int
) -> None:
    end = date(2025, 6, 30)
    ledger = fold_ledger(
        RULES,
        [
            YearInput(2024, F(5), F(2)),
            YearInput(2025, F(5), F(2), end, reason),
            YearInput(2026, F(5), F(0)),
        ],
    )
    left = ledger[1]
    assert (left.balance, left.carried_out, left.expiring) == (F(6), F(0), F(expiring))
    assert (left.departure, left.expires_on) == (outcome, end)
    assert left.derivation["departure"] == outcome.value
    assert left.derivation["end_reason"] == (None if reason is None else reason.value)
    assert ledger[2].carried_in == 0
    assert ledger[0].departure is None
    if outcome is DepartureOutcome.NOTICE_OR_INDEMNITY:
        assert left.derivation["open_credit_at_departure"] == {"exact": "6", "2dp": "6.00"}
        assert "notice" in left.derivation["carried_out_reason"]


def test_ledger_departure_in_the_last_year_of_a_window() -> None:
    ledger = fold_ledger(
        RULES, [YearInput(2028, F(5), F(1), date(2028, 3, 31), EndReason.DISMISSAL)]
    )
    assert (ledger[0].expiring, ledger[0].expires_on) == (F(0), date(2028, 3, 31))


def test_ledger_end_reason_without_end_is_ignored() -> None:
    (only,) = fold_ledger(RULES, [YearInput(2024, F(5), F(1), None, EndReason.RESIGNATION)])
    assert (only.carried_out, only.departure) == (F(4), None)
    assert only.derivation["end_reason"] is None


def test_ledger_empty() -> None:
    assert fold_ledger(RULES, []) == []


@pytest.mark.parametrize(
    ("rows", "error", "field"),
    [
        ([YearInput(2025, F(1), F(0)), YearInput(2024, F(1), F(0))], InvalidPeriod, "year"),
        ([YearInput(2024, F(1), F(0)), YearInput(2024, F(1), F(0))], InvalidPeriod, "year"),
        ([YearInput(2024, F(-1), F(0))], InvalidDuration, "entitlement"),
        ([YearInput(2024, F(1), F(-1))], InvalidDuration, "used"),
        ([YearInput(2024, F(1), F(0), date(2025, 1, 1))], InvalidPeriod, "employment_end"),
        ([YearInput(2021, F(1), F(0))], RuleNotFound, "year"),
    ],
)
def test_ledger_bad_input(rows: list[YearInput], error: type[DomainError], field: str) -> None:
    with pytest.raises(error) as err:
        fold_ledger(RULES, rows)
    assert err.value.field == field


# ------------------------------------------------------------------------------ units


def test_days_and_minutes() -> None:
    assert days_to_minutes(F(10, 3), 456) == 1520
    assert minutes_to_days(1520, 456) == F(10, 3)
    assert minutes_to_days(F(228), 456) == F(1, 2)


@pytest.mark.parametrize(
    ("days", "minutes", "text"),
    [
        (F(10, 3), 456, "3.33 days (25 h 20 min)"),
        (F(5), 456, "5.00 days (38 h 0 min)"),
        (F(0), 456, "0.00 days (0 h 0 min)"),
        (F(1, 8), 480, "0.13 days (1 h 0 min)"),
        (F(1, 912), 456, "0.00 days (0 h 1 min)"),  # half a minute rounds up
        (F(1, 1000), 456, "0.00 days (0 h 0 min)"),
        (F(-1, 2), 456, "-0.50 days (-3 h 48 min)"),
        (F(-1, 1000), 456, "0.00 days (0 h 0 min)"),
    ],
)
def test_format_days(days: Fraction, minutes: int, text: str) -> None:
    assert format_days(days, minutes) == text


def test_format_days_default_day() -> None:
    assert format_days(F(1)) == "1.00 days (7 h 36 min)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (F(1, 200), "0.01"),
        (F(-1, 200), "-0.01"),
        (F(1, 201), "0.00"),
        (F(2), "2.00"),
    ],
)
def test_fmt2_half_up(value: Fraction, text: str) -> None:
    assert fmt2(value) == text


@pytest.mark.parametrize(
    "call",
    [
        lambda: days_to_minutes(F(1), 0),
        lambda: minutes_to_days(10, -456),
        lambda: minutes_to_days(-1, 456),
        lambda: format_days(F(1), 0),
    ],
)
def test_units_bad_input(call: Any) -> None:
    with pytest.raises(InvalidDuration) as err:
        call()
    assert_code(err, "invalid_duration")
