"""The FPIE allowance rule against hand-computed cases (deliberation 22/086 §4-5, rules.md §4.1):
allowance = gross salary − 13.07 % ONSS − the candidate's social income, per month. The
arithmetic is written out from the seed's rules, not taken from the code's output."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from ila.errors import (
    InvalidPeriod,
    LegalContextRefused,
    RoleNotAllowed,
    SourceDataInvalid,
    ValidationError,
)
from ila.flows.fpie import (
    FpieCase,
    FpieRequest,
    IncomeBasis,
    compute_allowance,
    result_view,
    situation_view,
    to_cents,
)
from ila.flows.rules import fpie_rules, retention_until
from ila.flows.service import FpieAccess, strict_authorisation
from ila.sources.onem import (
    AllowancePayment,
    AllowanceType,
    DossierProgress,
    NoRight,
    NoRightReason,
    Sanction,
    SituationKind,
    UnemploymentNature,
    UnemploymentRight,
    UnemploymentSituation,
)
from tests.builders import fake_niss

RULES = fpie_rules()
NISS = fake_niss(1)
D = Decimal


def request(first: str, last: str, gross: str, other: str = "0") -> FpieRequest:
    return FpieRequest.parse(
        RULES,
        national_number=NISS,
        first_month=first,
        last_month=last,
        gross_monthly_salary=gross,
        other_social_income=other,
    )


def right(
    nature: UnemploymentNature = UnemploymentNature.FULL_TIME,
    *,
    start: date = date(2024, 3, 1),
    daily: str = "55.00",
    halves: int | None = None,
    insertion_end: date | None = None,
) -> UnemploymentSituation:
    return UnemploymentSituation(
        NISS,
        SituationKind.RIGHT,
        right=UnemploymentRight(
            start_date=start,
            nature=nature,
            allowance_type=AllowanceType.INSERTION if insertion_end else AllowanceType.UNEMPLOYMENT,
            daily_amount=D(daily),
            half_allowances_per_month=halves,
            insertion_end=insertion_end,
        ),
    )


def allowances(result: object) -> list[str]:
    return [m["allowance"] for m in result_view(result)["months"]]  # type: ignore[arg-type]


def test_the_rule_data_is_the_seeds() -> None:
    assert RULES.onss_rate == D("0.1307")  # "moins 13,07 % de cotisations ONSS"
    assert RULES.retention_years == 10  # §22 "un délai de dix ans"
    assert RULES.half_allowance_share == Fraction(1, 2)
    assert RULES.role == "fpie_pedagogical_adviser"


def test_full_time_unemployed_paid_approved_then_projected() -> None:
    # gross 2500.00: ONSS = 2500 × 0.1307 = 326.75; gross − ONSS = 2173.25
    # Sep: paid by the payment body 1430.00          → 2173.25 − 1430.00 = 743.25
    # Oct: not paid yet, approved by ONEM 1400.00    → 2173.25 − 1400.00 = 773.25
    # Nov: in verification, no amount: projected 26 allowances × 55.00 = 1430.00 → 743.25
    # Dec: nothing from ONEM yet: projected 1430.00                              → 743.25
    payments = [
        AllowancePayment(date(2026, 9, 1), D("1430.00"), D("1430.00"), DossierProgress.PAID),
        AllowancePayment(date(2026, 10, 1), None, D("1400.00"), DossierProgress.APPROVED),
        AllowancePayment(date(2026, 11, 1), None, None, DossierProgress.IN_VERIFICATION),
    ]
    result = compute_allowance(RULES, request("2026-09", "2026-12", "2500"), right(), payments)
    assert result.case is FpieCase.FULL_TIME_UNEMPLOYED
    assert [m.onss for m in result.months] == [D("326.75")] * 4
    assert [m.social_income for m in result.months] == [
        D("1430.00"),
        D("1400.00"),
        D("1430.00"),
        D("1430.00"),
    ]
    assert [m.basis for m in result.months] == [
        IncomeBasis.PAID,
        IncomeBasis.APPROVED,
        IncomeBasis.THEORETICAL_FULL,
        IncomeBasis.THEORETICAL_FULL,
    ]
    assert allowances(result) == ["743.25", "773.25", "743.25", "743.25"]
    assert result.total_allowance == D("3003.00")  # 3 × 743.25 + 773.25
    assert result.total_social_income == D("5690.00")  # 1430 + 1400 + 1430 + 1430
    assert result.review_from is None


def test_part_time_unemployed_counts_half_allowances_per_month() -> None:
    # regime: 12 half-allowances a month, daily allowance 60.00 → 12 × 60.00 / 2 = 360.00,
    # whatever was paid (§5: the regime gives the theoretical number of half-allowances).
    # The right starts on 15 February: Feb counts 14 of its 28 days → 360.00 × 14/28 = 180.00;
    # January has no right → 0.
    # gross 1800.00: ONSS = 1800 × 0.1307 = 235.26; gross − ONSS = 1564.74
    # Jan 1564.74 − 0 = 1564.74; Feb 1564.74 − 180.00 = 1384.74; Mar 1564.74 − 360.00 = 1204.74
    situation = right(
        UnemploymentNature.PART_TIME, start=date(2026, 2, 15), daily="60.00", halves=12
    )
    paid = [AllowancePayment(date(2026, 3, 1), D("999.99"), D("999.99"), DossierProgress.PAID)]
    result = compute_allowance(RULES, request("2026-01", "2026-03", "1800.00"), situation, paid)
    assert result.case is FpieCase.PART_TIME_UNEMPLOYED
    assert [m.social_income for m in result.months] == [D("0.00"), D("180.00"), D("360.00")]
    assert {m.basis for m in result.months} == {IncomeBasis.THEORETICAL_HALF}
    assert allowances(result) == ["1564.74", "1384.74", "1204.74"]
    assert result.total_allowance == D("4154.22")


def test_insertion_allowances_stop_at_their_theoretical_end() -> None:
    # daily 40.00: a full month = 26 × 40.00 = 1040.00; insertion ends on 10 March:
    # March counts 10 of 31 days → 1040 × 10/31 = 335.4838… → 335.48; April: none.
    # gross 2000.00: ONSS = 261.40; gross − ONSS = 1738.60
    # Feb 1738.60 − 1040.00 = 698.60; Mar 1738.60 − 335.48 = 1403.12; Apr 1738.60
    situation = right(daily="40.00", insertion_end=date(2026, 3, 10))
    result = compute_allowance(RULES, request("2026-02", "2026-04", "2000"), situation, [])
    assert [m.social_income for m in result.months] == [D("1040.00"), D("335.48"), D("0.00")]
    assert allowances(result) == ["698.60", "1403.12", "1738.60"]


def test_sanction_no_income_during_it_and_a_review_date() -> None:
    # no right: sanction from 2 March to 12 April (6 weeks). February was paid 1300.00.
    # gross 2200.00: ONSS = 2200 × 0.1307 = 287.54; gross − ONSS = 1912.46
    # Feb 1912.46 − 1300.00 = 612.46; Mar, Apr, May: no allowance → 1912.46 each
    # total 612.46 + 3 × 1912.46 = 6349.84; recompute from 13 April
    situation = UnemploymentSituation(
        NISS,
        SituationKind.NO_RIGHT,
        no_right=NoRight(
            NoRightReason.SANCTION, sanction=Sanction(date(2026, 3, 2), date(2026, 4, 12), 6)
        ),
    )
    paid = [AllowancePayment(date(2026, 2, 1), D("1300.00"), D("1300.00"), DossierProgress.PAID)]
    result = compute_allowance(RULES, request("2026-02", "2026-05", "2200"), situation, paid)
    assert result.case is FpieCase.SANCTION
    assert allowances(result) == ["612.46", "1912.46", "1912.46", "1912.46"]
    assert result.total_allowance == D("6349.84")
    assert result.review_from == date(2026, 4, 13)
    assert situation_view(situation)["no_right"]["sanction"] == {
        "start": "2026-03-02",
        "end": "2026-04-12",
        "weeks": 6,
    }


@pytest.mark.parametrize(
    ("no_right", "case"),
    [
        (NoRight(NoRightReason.EXCLUSION, exclusion_start=date(2025, 6, 1)), FpieCase.EXCLUSION),
        (
            NoRight(NoRightReason.INSERTION_ENDED, insertion_end=date(2025, 1, 1)),
            FpieCase.INSERTION_ENDED,
        ),
    ],
)
def test_exclusion_and_end_of_insertion_allowances_count_no_income(
    no_right: NoRight, case: FpieCase
) -> None:
    # gross 2000.00 − ONSS 261.40 − nothing = 1738.60 a month
    situation = UnemploymentSituation(NISS, SituationKind.NO_RIGHT, no_right=no_right)
    result = compute_allowance(RULES, request("2026-01", "2026-02", "2000.00"), situation, [])
    assert result.case is case
    assert allowances(result) == ["1738.60", "1738.60"]
    assert {m.basis for m in result.months} == {IncomeBasis.NONE}
    assert result.review_from is None


def test_unknown_person_with_social_integration_income() -> None:
    # ONEM does not know the person; the adviser established 700.00 of integration income:
    # 2000.00 − 261.40 − 0 − 700.00 = 1038.60
    situation = UnemploymentSituation(NISS, SituationKind.UNKNOWN_PERSON)
    result = compute_allowance(
        RULES, request("2026-01", "2026-01", "2000.00", other="700.00"), situation, []
    )
    assert result.case is FpieCase.UNKNOWN_PERSON
    assert allowances(result) == ["1038.60"]
    assert situation_view(situation) == {"kind": "unknown_person"}


def test_the_allowance_is_never_negative() -> None:
    # gross 1500.00 − ONSS 196.05 = 1303.95 < 26 × 60.00 = 1560.00 → 0.00, not −256.05
    result = compute_allowance(
        RULES, request("2026-01", "2026-01", "1500"), right(daily="60.00"), []
    )
    assert allowances(result) == ["0.00"]


def test_onss_is_rounded_half_up_to_the_cent() -> None:
    # 150.00 × 0.1307 = 19.605 → 19.61 (half up; banker's rounding would give 19.60)
    situation = UnemploymentSituation(NISS, SituationKind.UNKNOWN_PERSON)
    result = compute_allowance(RULES, request("2026-01", "2026-01", "150.00"), situation, [])
    assert result.months[0].onss == D("19.61")
    assert result.months[0].allowance == D("130.39")
    assert to_cents(Fraction(1, 200)) == D("0.01")
    assert to_cents(Fraction(1, 300)) == D("0.00")


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"gross_monthly_salary": "0"}, "out_of_range", "gross_monthly_salary"),
        ({"gross_monthly_salary": "abc"}, "invalid_value", "gross_monthly_salary"),
        ({"gross_monthly_salary": "12.345"}, "invalid_value", "gross_monthly_salary"),
        ({"other_social_income": "-1"}, "out_of_range", "other_social_income"),
        ({"first_month": "2026-13"}, "invalid_date", "first_month"),
        ({"last_month": "2025-12"}, "invalid_period", "last_month"),
        ({"last_month": "2028-01"}, "invalid_period", "last_month"),
        ({"national_number": "12345678901"}, "invalid_national_number", "national_number"),
    ],
)
def test_invalid_requests(changes: dict[str, str], code: str, field: str) -> None:
    values = {
        "national_number": NISS,
        "first_month": "2026-01",
        "last_month": "2026-06",
        "gross_monthly_salary": "2000",
        "other_social_income": "0",
    } | changes
    with pytest.raises(ValidationError) as caught:
        FpieRequest.parse(RULES, **values)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_24_months_is_the_limit() -> None:
    ok = request("2026-01", "2027-12", "2000")
    assert len(compute_allowance(RULES, ok, right(), []).months) == 24
    with pytest.raises(InvalidPeriod):
        request("2026-01", "2028-01", "2000")


def test_incomplete_source_data_is_refused() -> None:
    for situation in (
        UnemploymentSituation(NISS, SituationKind.RIGHT),
        UnemploymentSituation(NISS, SituationKind.NO_RIGHT),
        right(UnemploymentNature.PART_TIME, halves=None),
    ):
        with pytest.raises(SourceDataInvalid):
            compute_allowance(RULES, request("2026-01", "2026-01", "2000"), situation, [])


def test_views_are_plain_json() -> None:
    situation = right(UnemploymentNature.PART_TIME, daily="60.00", halves=10)
    view = situation_view(situation)
    assert view["right"]["half_allowances_per_month"] == 10
    assert view["right"]["nature"] == "part_time_unemployed"
    result = result_view(
        compute_allowance(RULES, request("2026-01", "2026-01", "2000"), situation, [])
    )
    assert result["months"][0] == {
        "month": "2026-01",
        "gross_salary": "2000.00",
        "onss": "261.40",
        "social_income": "300.00",  # 10 × 60.00 / 2
        "social_income_basis": "theoretical_half",
        "other_social_income": "0.00",
        "allowance": "1438.60",  # 2000.00 − 261.40 − 300.00
    }


def test_retention_until_ten_years_later() -> None:
    assert retention_until(date(2026, 3, 5), 10) == date(2036, 3, 5)
    assert retention_until(date(2024, 2, 29), 10) == date(2034, 2, 28)


def test_strict_authorisation_checks_role_and_legal_context() -> None:
    access = FpieAccess(
        "fpie.allowance", None, "a", "x", RULES.legal_context, NISS, "r", datetime.now(UTC)
    )
    with pytest.raises(RoleNotAllowed):
        strict_authorisation(None, access)  # type: ignore[arg-type]
    with pytest.raises(LegalContextRefused):
        strict_authorisation(None, replace(access, role=RULES.role, legal_context="22/086"))  # type: ignore[arg-type]
    strict_authorisation(None, replace(access, role=RULES.role))  # type: ignore[arg-type]
