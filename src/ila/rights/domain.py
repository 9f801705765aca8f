"""Types of the training-right engine. Pure: no I/O, no framework.

All quantities of days are exact ``Fraction`` values; rounding happens only at the storage and
display boundaries (see ``docs/adr/0003-exact-days-and-rounding.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

Derivation = dict[str, Any]
"""A JSON-serialisable explanation: which rule, which inputs, each factor."""

STORAGE_QUANTUM = Decimal("0.0001")  # days are stored with 4 decimals (≈ 0.05 minute)


def to_storage(days: Fraction) -> Decimal:
    """Round an exact number of days to the stored precision, half up."""
    return (Decimal(days.numerator) / Decimal(days.denominator)).quantize(
        STORAGE_QUANTUM, rounding=ROUND_HALF_UP
    )


def fraction_str(value: Fraction) -> str:
    """``"10/3"`` or ``"5"``: exact value for derivations."""
    return str(value)


class SizeBand(StrEnum):
    UNDER_10 = "lt10"
    FROM_10_TO_19 = "10to19"
    AT_LEAST_20 = "ge20"


class RegimeKind(StrEnum):
    INDIVIDUAL = "individual"
    COLLECTIVE = "collective"


class DepartureOutcome(StrEnum):
    """What happens to the remaining days when the employment ends."""

    FORFEITED = "forfeited"  # resignation, dismissal for serious cause: lost
    NOTICE_OR_INDEMNITY = "notice_or_indemnity"  # other dismissal: take during notice or valued
    LAPSES = "lapses"  # other ends: no carry-over past the end of the employment


@dataclass(frozen=True, slots=True)
class QuarterFTE:
    """FTE declared to ONSS at the end of one quarter (DmfA)."""

    year: int
    quarter: int  # 1..4
    fte: Decimal
    workers_declared: bool = True


@dataclass(frozen=True, slots=True)
class Headcount:
    """An employer's average FTE for one two-year period, with how it was obtained."""

    period_start: int  # first year of the two-year period (2022, 2024, ...)
    fte: Fraction
    band: SizeBand
    method: str  # "average" | "fallback_first_quarter" | "none"
    reference_quarters: tuple[tuple[int, int], ...]
    quarters_used: tuple[tuple[int, int], ...]
    derivation: Derivation


@dataclass(frozen=True, slots=True)
class Regime:
    """One row of rule data: the days a full-time worker gets under a joint committee or the law."""

    id: str
    joint_committee: str | None  # None = statutory regime (law of 3 Oct 2022, art. 50)
    band: SizeBand
    kind: RegimeKind
    valid_from: int  # first year (inclusive)
    valid_to: int | None  # last year (inclusive); None = open
    individual_days_per_year: Fraction
    collective_days_per_period_per_fte: Fraction | None
    source: str
    cct: str | None = None
    note: str | None = None

    def covers(self, year: int) -> bool:
        return self.valid_from <= year and (self.valid_to is None or year <= self.valid_to)


@dataclass(frozen=True, slots=True)
class PeriodFactor:
    """One slice of the year with a constant work fraction: contributes A × B × months / 12."""

    start: date
    end: date
    fraction: Fraction  # B
    months: Fraction  # started months counted whole; a month split by a change is shared by days
    days: Fraction


@dataclass(frozen=True, slots=True)
class RightResult:
    """The yearly training right of one employment, exact, with its derivation."""

    year: int
    days: Fraction
    a_days: Fraction
    regime: Regime
    periods: tuple[PeriodFactor, ...]
    derivation: Derivation


@dataclass(frozen=True, slots=True)
class LedgerYear:
    """One year of a person × employer account after carry-over (all exact days)."""

    year: int
    entitlement: Fraction
    used: Fraction
    carried_in: Fraction
    balance: Fraction  # entitlement + carried_in - used (may be negative: more training than due)
    carried_out: Fraction  # what moves to next year (0 at a window end or after departure)
    expiring: Fraction  # what is lost at the end of this year (window end or departure)
    window: tuple[int, int]
    expires_on: date  # last day of the window (or of the employment on departure)
    departure: DepartureOutcome | None
    derivation: Derivation
