"""Pure employment facts as the rights engine sees them, with their validation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from ila.errors import InvalidPeriod, InvalidWorkFraction, UnknownCode


class EndReason(StrEnum):
    """Why an employment ended; decides what happens to the remaining training days."""

    RESIGNATION = "resignation"
    DISMISSAL_SERIOUS_CAUSE = "dismissal_serious_cause"
    DISMISSAL = "dismissal"  # dismissal other than for serious cause (notice or indemnity)
    END_OF_CONTRACT = "end_of_contract"  # fixed-term or specific-work contract reaching its end
    MUTUAL_AGREEMENT = "mutual_agreement"
    RETIREMENT = "retirement"
    DEATH = "death"
    OTHER = "other"

    @classmethod
    def parse(cls, raw: object, *, field: str = "end_reason") -> EndReason:
        try:
            return cls(str(raw))
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise UnknownCode(
                f"unknown end reason {raw!r}; expected one of {allowed}", field=field
            ) from None


def parse_fraction(raw: object, *, field: str = "work_fraction") -> Fraction:
    """A work fraction in (0, 1]: accepts 0.8, "0.8", "4/5", Decimal, Fraction."""
    try:
        value = Fraction(raw) if isinstance(raw, Fraction | int) else Fraction(Decimal(str(raw)))
    except (InvalidOperation, ValueError, ZeroDivisionError):
        try:
            value = Fraction(str(raw))
        except (ValueError, ZeroDivisionError):
            raise InvalidWorkFraction(f"{raw!r} is not a number", field=field) from None
    if not 0 < value <= 1:
        raise InvalidWorkFraction(
            f"work fraction must be greater than 0 and at most 1, got {raw}", field=field
        )
    return value


def check_period(start: date, end: date | None, *, field: str = "end_date") -> None:
    if end is not None and end < start:
        raise InvalidPeriod(
            f"end date {end.isoformat()} is before start date {start.isoformat()}", field=field
        )


@dataclass(frozen=True, slots=True)
class FractionPeriod:
    """The work fraction that applies from ``valid_from`` until the next change."""

    valid_from: date
    fraction: Fraction


@dataclass(frozen=True, slots=True)
class Suspension:
    """A suspension of the contract (illness, leave...). It does NOT reduce the right."""

    start: date
    end: date
    reason: str


@dataclass(frozen=True, slots=True)
class EmploymentFacts:
    """One employment of one person with one employer, as the engine needs it.

    ``fractions`` is sorted by ``valid_from``; the first entry starts on or before ``start``.
    """

    start: date
    end: date | None
    joint_committee: str
    fractions: tuple[FractionPeriod, ...]
    end_reason: EndReason | None = None
    suspensions: tuple[Suspension, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_period(self.start, self.end)
        if not self.fractions:
            raise InvalidWorkFraction(
                "an employment needs at least one work fraction", field="fractions"
            )
        for fp in self.fractions:
            if not 0 < fp.fraction <= 1:
                raise InvalidWorkFraction(
                    f"work fraction must be greater than 0 and at most 1, got {fp.fraction}",
                    field="fractions",
                )

    @classmethod
    def build(
        cls,
        *,
        start: date,
        end: date | None,
        joint_committee: str,
        fractions: Sequence[tuple[date, object]],
        end_reason: EndReason | None = None,
        suspensions: Sequence[Suspension] = (),
    ) -> EmploymentFacts:
        periods = sorted(
            (FractionPeriod(d, parse_fraction(f)) for d, f in fractions), key=lambda p: p.valid_from
        )
        if periods and periods[0].valid_from > start:
            periods[0] = FractionPeriod(start, periods[0].fraction)
        return cls(start, end, joint_committee, tuple(periods), end_reason, tuple(suspensions))
