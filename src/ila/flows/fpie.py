"""The FPIE training allowance, a pure rule (deliberation 22/086 §4-5; rules.md §4.1):

    allowance of a month = gross salary − 13.07 % ONSS − the candidate's social income

The social income of a month comes from ONEM: the amount paid by the payment body for that
month, or the amount ONEM approved while the dossier is being checked; a month ONEM has no
amount for yet (the training usually lies ahead) is projected from the situation: with a right,
the allowances of a month × the daily amount × the share of the month covered by the right
(a part-time unemployed: always the theoretical half-allowances of their regime × half the
daily amount); without a right (sanction, exclusion, end of insertion allowances) or for a
person ONEM does not know: nothing. Social integration income, which ONEM does not provide, is
given by the adviser as ``other_social_income``. Every constant is in ``rules/fpie.toml``."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any

from ila.errors import InvalidPeriod, SourceDataInvalid, ValidationError
from ila.flows.rules import FpieRules
from ila.identity.domain import NationalNumber
from ila.sources.onem import (
    AllowancePayment,
    DossierProgress,
    NoRightReason,
    SituationKind,
    UnemploymentNature,
    UnemploymentSituation,
    month_start,
    next_month,
)

MAX_AMOUNT = Decimal(100_000)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class FpieCase(StrEnum):
    FULL_TIME_UNEMPLOYED = "full_time_unemployed"
    PART_TIME_UNEMPLOYED = "part_time_unemployed"
    SANCTION = "sanction"
    EXCLUSION = "exclusion"
    INSERTION_ENDED = "insertion_ended"
    UNKNOWN_PERSON = "unknown_person"


class IncomeBasis(StrEnum):
    """Where a month's social income comes from."""

    PAID = "paid"  # amount paid by the payment body
    APPROVED = "approved"  # amount approved by ONEM, not paid yet
    THEORETICAL_FULL = "theoretical_full"  # projected: full allowances x daily amount
    THEORETICAL_HALF = "theoretical_half"  # part-time: half-allowances x half daily amount
    NONE = "none"  # no right, or unknown to ONEM: no unemployment income


def parse_amount(raw: object, field: str, *, positive: bool) -> Decimal:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValidationError(f"{raw!r} is not an amount", field=field) from None
    low_ok = value > 0 if positive else value >= 0
    if not value.is_finite() or not low_ok or value > MAX_AMOUNT:
        bound = "more than 0" if positive else "0 or more"
        raise ValidationError(
            f"{field.replace('_', ' ')} must be {bound} and at most {MAX_AMOUNT}",
            field=field,
            code="out_of_range",
        )
    if value != value.quantize(CENT):
        raise ValidationError(f"{field.replace('_', ' ')} has more than two decimals", field=field)
    return value.quantize(CENT)


def parse_month(raw: object, field: str) -> date:
    """``YYYY-MM`` (or a date: its month) as the first day of that month."""
    text = str(raw)
    try:
        return month_start(date.fromisoformat(text if len(text) > 7 else f"{text}-01"))
    except ValueError:
        raise ValidationError(
            f"{raw!r} is not a month (YYYY-MM)", field=field, code="invalid_date"
        ) from None


@dataclass(frozen=True, slots=True)
class FpieRequest:
    """What the pedagogical adviser asks: the trainee, the months of the training contract,
    the gross monthly salary of the function, and any social income ONEM does not know."""

    national_number: str
    first_month: date
    last_month: date
    gross_monthly_salary: Decimal
    other_social_income: Decimal = ZERO
    situation_date: date | None = None  # ONEM's situation on this day; None: the last known

    @classmethod
    def parse(
        cls,
        rules: FpieRules,
        *,
        national_number: str,
        first_month: object,
        last_month: object,
        gross_monthly_salary: object,
        other_social_income: object = "0",
        situation_date: date | None = None,
    ) -> FpieRequest:
        nn = NationalNumber.parse(national_number)
        first = parse_month(first_month, "first_month")
        last = parse_month(last_month, "last_month")
        if last < first:
            raise InvalidPeriod("the last month is before the first month", field="last_month")
        if months_between(first, last) > rules.max_months:
            raise InvalidPeriod(
                f"at most {rules.max_months} months in one computation", field="last_month"
            )
        return cls(
            nn.value,
            first,
            last,
            parse_amount(gross_monthly_salary, "gross_monthly_salary", positive=True),
            parse_amount(other_social_income, "other_social_income", positive=False),
            situation_date,
        )


def months_between(first: date, last: date) -> int:
    """Number of calendar months from ``first`` to ``last``, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


@dataclass(frozen=True, slots=True)
class FpieMonth:
    month: date
    gross: Decimal
    onss: Decimal
    social_income: Decimal
    basis: IncomeBasis
    other_social_income: Decimal
    allowance: Decimal


@dataclass(frozen=True, slots=True)
class FpieResult:
    rule_version: str
    case: FpieCase
    onss_rate: Decimal
    months: tuple[FpieMonth, ...]
    total_allowance: Decimal
    total_social_income: Decimal
    review_from: date | None  # the situation may change then (end of a sanction): recompute


def to_cents(value: Fraction) -> Decimal:
    """Exact value rounded to the cent, half up (values here are never negative)."""
    hundredths = value * 100
    rounded = (hundredths.numerator * 2 + hundredths.denominator) // (2 * hundredths.denominator)
    return Decimal(rounded).scaleb(-2)


def share_of_month(month: date, start: date, end: date | None) -> Fraction:
    """Part of ``month``'s calendar days within ``start``..``end`` (``None``: open)."""
    days = calendar.monthrange(month.year, month.month)[1]
    first = max(month, start)
    last = month.replace(day=days)
    if end is not None:
        last = min(last, end)
    return Fraction(max(0, (last - first).days + 1), days)


def case_of(situation: UnemploymentSituation) -> FpieCase:
    if situation.kind is SituationKind.RIGHT:
        if situation.right is None:
            raise SourceDataInvalid("ONEM reported a right without its data", field="situation")
        if situation.right.nature is UnemploymentNature.PART_TIME:
            return FpieCase.PART_TIME_UNEMPLOYED
        return FpieCase.FULL_TIME_UNEMPLOYED
    if situation.kind is SituationKind.NO_RIGHT:
        if situation.no_right is None:
            raise SourceDataInvalid("ONEM reported no right without a reason", field="situation")
        return {
            NoRightReason.SANCTION: FpieCase.SANCTION,
            NoRightReason.EXCLUSION: FpieCase.EXCLUSION,
            NoRightReason.INSERTION_ENDED: FpieCase.INSERTION_ENDED,
        }[situation.no_right.reason]
    return FpieCase.UNKNOWN_PERSON


def _social_income(
    rules: FpieRules,
    case: FpieCase,
    situation: UnemploymentSituation,
    month: date,
    record: AllowancePayment | None,
) -> tuple[Fraction, IncomeBasis]:
    right = situation.right
    if case is FpieCase.PART_TIME_UNEMPLOYED and right is not None:
        if right.half_allowances_per_month is None:
            raise SourceDataInvalid(
                "ONEM reported a part-time unemployed without an allowance regime",
                field="situation",
            )
        share = share_of_month(month, right.start_date, right.insertion_end)
        amount = (
            right.half_allowances_per_month
            * Fraction(right.daily_amount)
            * rules.half_allowance_share
            * share
        )
        return amount, IncomeBasis.THEORETICAL_HALF
    if record is not None:
        if record.progress is DossierProgress.PAID and record.amount_paid is not None:
            return Fraction(record.amount_paid), IncomeBasis.PAID
        if record.amount_approved is not None:
            return Fraction(record.amount_approved), IncomeBasis.APPROVED
    if case is FpieCase.FULL_TIME_UNEMPLOYED and right is not None:
        share = share_of_month(month, right.start_date, right.insertion_end)
        amount = rules.full_allowances_per_month * Fraction(right.daily_amount) * share
        return amount, IncomeBasis.THEORETICAL_FULL
    return Fraction(0), IncomeBasis.NONE


def compute_allowance(
    rules: FpieRules,
    request: FpieRequest,
    situation: UnemploymentSituation,
    payments: Sequence[AllowancePayment],
) -> FpieResult:
    """The allowance of every month of the request, with how each figure was found."""
    case = case_of(situation)
    by_month = {month_start(p.month): p for p in payments}
    gross = request.gross_monthly_salary
    onss = to_cents(Fraction(gross) * Fraction(rules.onss_rate))
    months: list[FpieMonth] = []
    month = request.first_month
    while month <= request.last_month:
        exact, basis = _social_income(rules, case, situation, month, by_month.get(month))
        social = to_cents(exact)
        allowance = max(ZERO, gross - onss - social - request.other_social_income)
        months.append(
            FpieMonth(month, gross, onss, social, basis, request.other_social_income, allowance)
        )
        month = next_month(month)
    review_from = None
    if case is FpieCase.SANCTION and situation.no_right and situation.no_right.sanction:
        review_from = situation.no_right.sanction.end + timedelta(days=1)
    return FpieResult(
        rule_version=rules.version,
        case=case,
        onss_rate=rules.onss_rate,
        months=tuple(months),
        total_allowance=sum((m.allowance for m in months), ZERO),
        total_social_income=sum((m.social_income for m in months), ZERO),
        review_from=review_from,
    )


# --- JSON forms (stored, returned by the API and the CLI) ----------------------------------


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def situation_view(situation: UnemploymentSituation) -> dict[str, Any]:
    """The ONEM items the deliberation lets the adviser see, as received."""
    view: dict[str, Any] = {"kind": situation.kind.value}
    if situation.right is not None:
        r = situation.right
        view["right"] = {
            "start_date": r.start_date.isoformat(),
            "nature": r.nature.value,
            "allowance_type": r.allowance_type.value,
            "daily_amount": str(r.daily_amount),
            "half_allowances_per_month": r.half_allowances_per_month,
            "insertion_end": _iso(r.insertion_end),
        }
    if situation.no_right is not None:
        n = situation.no_right
        view["no_right"] = {
            "reason": n.reason.value,
            "sanction": {
                "start": n.sanction.start.isoformat(),
                "end": n.sanction.end.isoformat(),
                "weeks": n.sanction.weeks,
            }
            if n.sanction
            else None,
            "exclusion_start": _iso(n.exclusion_start),
            "insertion_end": _iso(n.insertion_end),
        }
    return view


def payments_view(payments: Sequence[AllowancePayment]) -> list[dict[str, Any]]:
    return [
        {
            "month": p.month.strftime("%Y-%m"),
            "amount_paid": str(p.amount_paid) if p.amount_paid is not None else None,
            "amount_approved": str(p.amount_approved) if p.amount_approved is not None else None,
            "progress": p.progress.value,
        }
        for p in payments
    ]


def request_view(request: FpieRequest) -> dict[str, Any]:
    return {
        "national_number": request.national_number,
        "first_month": request.first_month.strftime("%Y-%m"),
        "last_month": request.last_month.strftime("%Y-%m"),
        "gross_monthly_salary": str(request.gross_monthly_salary),
        "other_social_income": str(request.other_social_income),
        "situation_date": _iso(request.situation_date),
    }


def result_view(result: FpieResult) -> dict[str, Any]:
    return {
        "rule_version": result.rule_version,
        "case": result.case.value,
        "onss_rate": str(result.onss_rate),
        "months": [
            {
                "month": m.month.strftime("%Y-%m"),
                "gross_salary": str(m.gross),
                "onss": str(m.onss),
                "social_income": str(m.social_income),
                "social_income_basis": m.basis.value,
                "other_social_income": str(m.other_social_income),
                "allowance": str(m.allowance),
            }
            for m in result.months
        ],
        "total_allowance": str(result.total_allowance),
        "total_social_income": str(result.total_social_income),
        "review_from": _iso(result.review_from),
    }
