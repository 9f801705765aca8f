"""ONEM (national employment office) as an authentic source: unemployment data (the situation
of a person's right to allowances, and the amounts paid over a period) and career-break /
time-credit counters. Adapter interfaces, value types and deterministic simulators.

The items are those deliberation 22/086 (§7-8) and 24/012 (§14) let ONEM communicate; nothing
else is modelled."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from ila.identity.domain import NationalNumber

# --- unemployment ---------------------------------------------------------------------------


class SituationKind(StrEnum):
    RIGHT = "right"
    NO_RIGHT = "no_right"
    UNKNOWN_PERSON = "unknown_person"  # not known by the unemployment sector


class UnemploymentNature(StrEnum):
    """The nature of unemployment for which the right was granted."""

    FULL_TIME = "full_time_unemployed"
    PART_TIME = "part_time_unemployed"  # part-time worker keeping their rights: half-allowances


class AllowanceType(StrEnum):
    UNEMPLOYMENT = "unemployment"
    INSERTION = "insertion"  # insertion allowances (after studies), with a theoretical end


class NoRightReason(StrEnum):
    SANCTION = "sanction"
    EXCLUSION = "exclusion"
    INSERTION_ENDED = "insertion_ended"


class DossierProgress(StrEnum):
    """How far the payment of a month has gone."""

    PAID = "paid"  # the payment body paid: ``amount_paid`` is final
    APPROVED = "approved"  # ONEM approved ``amount_approved``; not paid yet
    IN_VERIFICATION = "in_verification"  # ONEM is still checking the dossier


@dataclass(frozen=True, slots=True)
class UnemploymentRight:
    start_date: date
    nature: UnemploymentNature
    allowance_type: AllowanceType
    daily_amount: Decimal  # one full daily allowance, euros
    half_allowances_per_month: int | None = None  # the allowance regime of a part-time worker
    insertion_end: date | None = None  # theoretical end of insertion allowances


@dataclass(frozen=True, slots=True)
class Sanction:
    start: date
    end: date
    weeks: int


@dataclass(frozen=True, slots=True)
class NoRight:
    reason: NoRightReason
    sanction: Sanction | None = None
    exclusion_start: date | None = None
    insertion_end: date | None = None  # no insertion allowances from this day


@dataclass(frozen=True, slots=True)
class UnemploymentSituation:
    national_number: str
    kind: SituationKind
    right: UnemploymentRight | None = None
    no_right: NoRight | None = None


@dataclass(frozen=True, slots=True)
class AllowancePayment:
    """The amounts of one month: paid by the payment body, approved by ONEM."""

    month: date  # first day of the month
    amount_paid: Decimal | None
    amount_approved: Decimal | None
    progress: DossierProgress


class UnemploymentSource(Protocol):
    def situation(self, national_number: str, on: date | None = None) -> UnemploymentSituation:
        """The right to allowances on ``on``, or the last known situation when ``None``."""
        ...

    def payments(
        self, national_number: str, first_month: date, last_month: date
    ) -> Sequence[AllowancePayment]:
        """The months of ``first_month``..``last_month`` ONEM has amounts for, in order."""
        ...


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _digest(seed: int, kind: str, national_number: str) -> bytes:
    return hashlib.sha256(f"{seed}:{kind}:{national_number}".encode()).digest()


@dataclass
class SimulatedUnemployment:
    """ONEM unemployment data in memory. Persons given with :meth:`set_situation` answer what
    they were given; any other valid national number gets a situation derived from a hash of
    the seed and the number (so the same question always gets the same answer). Months before
    ``paid_until`` have amounts (the last one approved, not yet paid). A person's situation
    does not change over time here: the day asked (``on``) gives the same answer. ``calls``
    logs every question."""

    seed: int = 2024
    paid_until: date = date(2026, 11, 1)
    situations: dict[str, UnemploymentSituation] = field(default_factory=dict)
    records: dict[str, dict[date, AllowancePayment]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def set_situation(
        self, situation: UnemploymentSituation, payments: Sequence[AllowancePayment] = ()
    ) -> None:
        nn = NationalNumber.parse(situation.national_number).value
        self.situations[nn] = situation
        self.records[nn] = {month_start(p.month): p for p in payments}

    def situation(self, national_number: str, on: date | None = None) -> UnemploymentSituation:
        nn = NationalNumber.parse(national_number).value
        self.calls.append(("situation", nn))
        if nn not in self.situations:
            self._derive(nn)
        return self.situations[nn]

    def payments(
        self, national_number: str, first_month: date, last_month: date
    ) -> Sequence[AllowancePayment]:
        nn = NationalNumber.parse(national_number).value
        self.calls.append(("payments", nn))
        if nn not in self.situations:
            self._derive(nn)
        first, last = month_start(first_month), month_start(last_month)
        return [p for m, p in sorted(self.records[nn].items()) if first <= m <= last]

    def _derive(self, nn: str) -> None:
        h = _digest(self.seed, "unemployment", nn)
        case = h[0] % 7
        daily = Decimal(4000 + int.from_bytes(h[1:3]) % 3000) / 100  # 40.00 to 69.99 a day
        start = date(2020 + h[3] % 5, 1 + h[4] % 12, 1)
        right: UnemploymentRight | None = None
        situation: UnemploymentSituation
        if case in (0, 1, 2):
            nature = UnemploymentNature.PART_TIME if case == 1 else UnemploymentNature.FULL_TIME
            insertion = case == 2
            right = UnemploymentRight(
                start_date=start,
                nature=nature,
                allowance_type=AllowanceType.INSERTION if insertion else AllowanceType.UNEMPLOYMENT,
                daily_amount=daily,
                half_allowances_per_month=8 + 2 * (h[5] % 5) if case == 1 else None,
                insertion_end=date(2027, 1 + h[6] % 12, 1) - timedelta(days=1)
                if insertion
                else None,
            )
            situation = UnemploymentSituation(nn, SituationKind.RIGHT, right=right)
        elif case == 3:
            s = date(2026, 1 + h[5] % 12, 1 + h[6] % 28)
            weeks = 4 + h[7] % 22
            situation = UnemploymentSituation(
                nn,
                SituationKind.NO_RIGHT,
                no_right=NoRight(
                    NoRightReason.SANCTION,
                    sanction=Sanction(s, s + timedelta(weeks=weeks, days=-1), weeks),
                ),
            )
        elif case == 4:
            situation = UnemploymentSituation(
                nn,
                SituationKind.NO_RIGHT,
                no_right=NoRight(NoRightReason.EXCLUSION, exclusion_start=start),
            )
        elif case == 5:
            situation = UnemploymentSituation(
                nn,
                SituationKind.NO_RIGHT,
                no_right=NoRight(NoRightReason.INSERTION_ENDED, insertion_end=start),
            )
        else:
            situation = UnemploymentSituation(nn, SituationKind.UNKNOWN_PERSON)
        records: dict[date, AllowancePayment] = {}
        if right is not None:
            last = month_start(self.paid_until)
            month = max(month_start(right.start_date), date(last.year - 2, last.month, 1))
            while month < last:
                if right.nature is UnemploymentNature.PART_TIME:
                    amount = right.daily_amount * (right.half_allowances_per_month or 0) / 2
                else:
                    amount = right.daily_amount * 26
                latest = next_month(month) == last
                records[month] = AllowancePayment(
                    month,
                    None if latest else amount,
                    amount,
                    DossierProgress.APPROVED if latest else DossierProgress.PAID,
                )
                month = next_month(month)
        self.situations[nn] = situation
        self.records[nn] = records


# --- career break and time credit ------------------------------------------------------------


class BreakReason(StrEnum):
    """Reasons of career break / time credit (deliberation 24/012 §7)."""

    SICK_MINOR_CHILD = "sick_minor_child"
    CHILD_UNDER_8 = "child_under_8"
    DISABLED_CHILD_UNDER_21 = "disabled_child_under_21"
    SERIOUSLY_ILL_RELATIVE = "seriously_ill_relative"
    PALLIATIVE_CARE = "palliative_care"
    TRAINING = "training"
    OTHER = "other"


class BreakRegime(StrEnum):
    FULL_TIME = "full_time"
    HALF_TIME = "half_time"
    ONE_FIFTH = "one_fifth"
    ONE_TENTH = "one_tenth"


class WhyNone(StrEnum):
    """Why ONEM reports no month left for a reason and regime."""

    EXHAUSTED = "exhausted"  # the maximum duration has been used
    NOT_IN_SECTOR = "not_in_sector"  # this reason or regime does not exist in the sector
    CONDITIONS_NOT_MET = "conditions_not_met"  # seniority or employment conditions
    REGIME_NOT_ALLOWED = "regime_not_allowed"  # e.g. 1/10 only for some reasons


@dataclass(frozen=True, slots=True)
class BreakCounter:
    reason: BreakReason
    regime: BreakRegime
    remaining_months: Decimal | None  # None: no month left, see ``why_none``
    why_none: WhyNone | None = None


@dataclass(frozen=True, slots=True)
class CareerBreakCounters:
    """ONEM's answer: every reason and every regime, in one call (deliberation 24/012 §8)."""

    national_number: str
    counters: tuple[BreakCounter, ...]


class CareerBreakSource(Protocol):
    def counters(self, national_number: str) -> CareerBreakCounters: ...


_MAXIMUM_MONTHS: dict[BreakRegime, int] = {
    BreakRegime.FULL_TIME: 12,
    BreakRegime.HALF_TIME: 24,
    BreakRegime.ONE_FIFTH: 60,
    BreakRegime.ONE_TENTH: 48,
}
"""Maxima the *simulator* draws remaining months under; not rules of the platform."""


@dataclass
class SimulatedCareerBreaks:
    """ONEM career-break counters in memory: explicit answers for the persons given with
    :meth:`set_counters`, a hash-derived answer (every reason x regime) for any other valid
    number. ``calls`` logs every question, so a test can prove no call was made."""

    seed: int = 2024
    answers: dict[str, CareerBreakCounters] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def set_counters(self, counters: CareerBreakCounters) -> None:
        self.answers[NationalNumber.parse(counters.national_number).value] = counters

    def counters(self, national_number: str) -> CareerBreakCounters:
        nn = NationalNumber.parse(national_number).value
        self.calls.append(("counters", nn))
        answer = self.answers.get(nn)
        if answer is None:
            answer = self._derive(nn)
        return answer

    def _derive(self, nn: str) -> CareerBreakCounters:
        h = _digest(self.seed, "career-break", nn)
        items: list[BreakCounter] = []
        for i, reason in enumerate(BreakReason):
            for j, regime in enumerate(BreakRegime):
                byte = h[(i * len(BreakRegime) + j) % len(h)]
                if (
                    regime is BreakRegime.ONE_TENTH
                    and reason is not BreakReason.SERIOUSLY_ILL_RELATIVE
                ):
                    items.append(BreakCounter(reason, regime, None, WhyNone.REGIME_NOT_ALLOWED))
                elif byte % 5 == 0:
                    why = (WhyNone.EXHAUSTED, WhyNone.CONDITIONS_NOT_MET)[byte % 2]
                    items.append(BreakCounter(reason, regime, None, why))
                else:
                    months = 1 + byte % _MAXIMUM_MONTHS[regime]
                    items.append(BreakCounter(reason, regime, Decimal(months)))
        return CareerBreakCounters(nn, tuple(items))
