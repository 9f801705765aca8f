"""Career-break / time-credit possibilities, pure rules (deliberation 24/012; rules.md §4.2):
the preconditions checked before ONEM is asked anything (older than 18; public or private
sector according to the career), and the presentation of ONEM's counters per reason and
regime. Nothing here stores or interprets the counters: they are shown as ONEM gives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from stdnum.be import bis, nn
from stdnum.exceptions import ValidationError as StdnumError

from ila.errors import UnknownCode
from ila.flows.rules import LANGUAGES, CareerBreakRules
from ila.identity.domain import NationalNumber, NumberKind
from ila.sources.employment import DeclaredEmployment
from ila.sources.onem import BreakReason, BreakRegime, CareerBreakCounters, WhyNone


class PreconditionFailure(StrEnum):
    TOO_YOUNG = "too_young"
    BIRTH_DATE_UNKNOWN = "birth_date_unknown"
    NO_SECTOR = "no_sector"


def parse_language(raw: str) -> str:
    if raw not in LANGUAGES:
        raise UnknownCode(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    return raw


def birth_date_of(number: NationalNumber, recorded: date | None) -> date | None:
    """The birth date the platform recorded, else the one the NISS or BIS number encodes
    (``None`` when the number was issued without a full birth date)."""
    if recorded is not None:
        return recorded
    module = nn if number.kind is NumberKind.NISS else bis
    try:
        born: date | None = module.get_birth_date(number.value)
    except StdnumError:  # pragma: no cover - the number was validated by the same module
        born = None
    return born


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def sectors_of(employments: Sequence[DeclaredEmployment], on: date) -> frozenset[str]:
    """The sectors of the employments in force on ``on``; with none in force, the sector of
    the latest employment; with no employment at all, none."""
    current = [
        e for e in employments if e.start_date <= on and (e.end_date is None or e.end_date >= on)
    ]
    if current:
        return frozenset(e.sector.value for e in current)
    past = sorted((e for e in employments if e.start_date <= on), key=lambda e: e.start_date)
    return frozenset({past[-1].sector.value}) if past else frozenset()


def check_age(
    rules: CareerBreakRules, birth_date: date | None, today: date
) -> PreconditionFailure | None:
    """The first precondition, checked before any source is asked (``None``: met)."""
    if birth_date is None:
        return PreconditionFailure.BIRTH_DATE_UNKNOWN
    if age_on(birth_date, today) < rules.minimum_age:
        return PreconditionFailure.TOO_YOUNG
    return None


def check_sectors(rules: CareerBreakRules, sectors: frozenset[str]) -> PreconditionFailure | None:
    """The second precondition: a career in the public or the private sector (``None``: met)."""
    return None if sectors & rules.sectors else PreconditionFailure.NO_SECTOR


@dataclass(frozen=True, slots=True)
class RegimeView:
    regime: BreakRegime
    label: str
    remaining_months: Decimal | None
    why_none: WhyNone | None
    why_none_label: str | None


@dataclass(frozen=True, slots=True)
class ReasonView:
    reason: BreakReason
    label: str
    available: bool  # at least one regime has months left
    regimes: tuple[RegimeView, ...]


@dataclass(frozen=True, slots=True)
class CareerBreakView:
    """What the person sees. Built for the session; never stored."""

    national_number: str
    language: str
    shown: bool
    precondition: PreconditionFailure | None
    message: str | None
    sectors: tuple[str, ...]
    reasons: tuple[ReasonView, ...]


def present(
    rules: CareerBreakRules, counters: CareerBreakCounters, language: str
) -> tuple[ReasonView, ...]:
    """ONEM's counters grouped by reason (the blocks) and regime (the detail), in the order
    of the deliberation, with texts in the person's language."""
    by_key = {(c.reason, c.regime): c for c in counters.counters}
    reasons: list[ReasonView] = []
    for reason in BreakReason:
        regimes: list[RegimeView] = []
        for regime in BreakRegime:
            c = by_key.get((reason, regime))
            if c is None:
                continue
            months = c.remaining_months if c.remaining_months and c.remaining_months > 0 else None
            why = c.why_none if months is None else None
            if months is None and why is None:
                why = WhyNone.EXHAUSTED
            regimes.append(
                RegimeView(
                    regime,
                    rules.label("regime", regime.value, language),
                    months,
                    why,
                    rules.label("why_none", why.value, language) if why else None,
                )
            )
        if regimes:
            reasons.append(
                ReasonView(
                    reason,
                    rules.label("reason", reason.value, language),
                    any(r.remaining_months is not None for r in regimes),
                    tuple(regimes),
                )
            )
    return tuple(reasons)


def view_dict(view: CareerBreakView) -> dict[str, object]:
    """The JSON form (CLI ``--json``; the person-facing route)."""
    return {
        "national_number": view.national_number,
        "language": view.language,
        "shown": view.shown,
        "precondition": view.precondition.value if view.precondition else None,
        "message": view.message,
        "sectors": list(view.sectors),
        "reasons": [
            {
                "reason": r.reason.value,
                "label": r.label,
                "available": r.available,
                "regimes": [
                    {
                        "regime": g.regime.value,
                        "label": g.label,
                        "remaining_months": str(g.remaining_months)
                        if g.remaining_months is not None
                        else None,
                        "why_none": g.why_none.value if g.why_none else None,
                        "why_none_label": g.why_none_label,
                    }
                    for g in r.regimes
                ],
            }
            for r in view.reasons
        ],
    }
