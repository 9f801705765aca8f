"""The carry-over ledger of one person-employer account (rules.md 1.6). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from ila.employment.domain import EndReason
from ila.errors import InvalidDuration, InvalidPeriod
from ila.rights.domain import DepartureOutcome, Derivation, LedgerYear
from ila.rights.rules import RuleSet
from ila.rights.units import exact_text, fmt2

_ZERO = Fraction(0)


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
            "balance_formula": (
                f"{exact_text(entitlement)} + {exact_text(carried_in)} - {exact_text(used)}"
                f" = {fmt2(balance)}"
            ),
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
