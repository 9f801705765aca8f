"""Career-break possibilities, pure rules (deliberation 24/012): the preconditions and the
presentation of ONEM's counters per reason and regime, in the person's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ila.errors import UnknownCode
from ila.flows.career_break import (
    PreconditionFailure,
    age_on,
    birth_date_of,
    check_age,
    check_sectors,
    parse_language,
    present,
    sectors_of,
)
from ila.flows.rules import LANGUAGES, career_break_rules
from ila.identity.domain import NationalNumber
from ila.sources.employment import DeclaredEmployment, Sector
from ila.sources.onem import (
    BreakCounter,
    BreakReason,
    BreakRegime,
    CareerBreakCounters,
    WhyNone,
)
from tests.builders import fake_enterprise, fake_niss

RULES = career_break_rules()


def test_age_in_completed_years() -> None:
    born = date(2008, 11, 24)
    assert age_on(born, date(2026, 11, 23)) == 17
    assert age_on(born, date(2026, 11, 24)) == 18


def test_age_precondition() -> None:
    assert check_age(RULES, None, date(2026, 1, 1)) is PreconditionFailure.BIRTH_DATE_UNKNOWN
    assert check_age(RULES, date(2008, 1, 2), date(2026, 1, 1)) is PreconditionFailure.TOO_YOUNG
    assert check_age(RULES, date(2008, 1, 1), date(2026, 1, 1)) is None


def test_birth_date_recorded_first_then_from_the_number() -> None:
    number = NationalNumber.parse(fake_niss(3, birth="080315"))
    assert birth_date_of(number, None) == date(2008, 3, 15)
    assert birth_date_of(number, date(2008, 3, 16)) == date(2008, 3, 16)


def _employment(sector: Sector, start: date, end: date | None = None) -> DeclaredEmployment:
    return DeclaredEmployment(
        line_id=f"{sector}-{start}",
        enterprise_number=fake_enterprise(1),
        national_number=fake_niss(1),
        given_name="A",
        family_name="B",
        start_date=start,
        joint_committee="200",
        fractions=((start, Decimal(1)),),
        end_date=end,
        sector=sector,
    )


def test_sectors_from_the_career() -> None:
    day = date(2026, 6, 1)
    public_now = _employment(Sector.PUBLIC, date(2020, 1, 1))
    private_now = _employment(Sector.PRIVATE, date(2025, 1, 1))
    private_past = _employment(Sector.PRIVATE, date(2010, 1, 1), date(2015, 1, 1))
    public_past = _employment(Sector.PUBLIC, date(2016, 1, 1), date(2019, 1, 1))
    future = _employment(Sector.PRIVATE, date(2027, 1, 1))
    assert sectors_of([public_now, private_now, private_past], day) == {"public", "private"}
    assert sectors_of([private_past, public_past], day) == {"public"}  # the latest one
    assert sectors_of([future], day) == frozenset()
    assert sectors_of([], day) == frozenset()
    assert check_sectors(RULES, frozenset({"public"})) is None
    assert check_sectors(RULES, frozenset()) is PreconditionFailure.NO_SECTOR


def test_counters_grouped_by_reason_and_regime_in_each_language() -> None:
    counters = CareerBreakCounters(
        fake_niss(1),
        (
            BreakCounter(BreakReason.TRAINING, BreakRegime.ONE_FIFTH, Decimal(12)),
            BreakCounter(BreakReason.TRAINING, BreakRegime.FULL_TIME, None, WhyNone.EXHAUSTED),
            BreakCounter(BreakReason.SICK_MINOR_CHILD, BreakRegime.HALF_TIME, Decimal(0)),
            BreakCounter(BreakReason.SICK_MINOR_CHILD, BreakRegime.FULL_TIME, Decimal("1.5")),
            BreakCounter(
                BreakReason.OTHER, BreakRegime.ONE_TENTH, None, WhyNone.REGIME_NOT_ALLOWED
            ),
        ),
    )
    reasons = present(RULES, counters, "nl")
    # the order of the deliberation, whatever ONEM's order
    assert [r.reason for r in reasons] == [
        BreakReason.SICK_MINOR_CHILD,
        BreakReason.TRAINING,
        BreakReason.OTHER,
    ]
    sick, training, other = reasons
    assert [g.regime for g in sick.regimes] == [BreakRegime.FULL_TIME, BreakRegime.HALF_TIME]
    assert sick.regimes[0].remaining_months == Decimal("1.5")
    assert (sick.regimes[1].remaining_months, sick.regimes[1].why_none) == (
        None,
        WhyNone.EXHAUSTED,  # zero months left reads as exhausted
    )
    assert training.label == "Een opleiding volgen"
    assert training.available
    assert [g.remaining_months for g in training.regimes] == [None, Decimal(12)]
    assert training.regimes[0].why_none_label == "Maximumduur bereikt"
    assert not other.available
    assert other.regimes[0].why_none is WhyNone.REGIME_NOT_ALLOWED


def test_every_text_exists_in_every_language() -> None:
    for kind, codes in {
        "reason": list(BreakReason),
        "regime": list(BreakRegime),
        "why_none": list(WhyNone),
        "precondition": list(PreconditionFailure),
    }.items():
        for code in codes:
            texts = {RULES.label(kind, code.value, lang) for lang in LANGUAGES}
            assert all(texts), (kind, code)
    assert RULES.label("precondition", "too_young", "de") == "Sie müssen älter als 18 Jahre sein"


def test_language_must_be_known() -> None:
    assert parse_language("de") == "de"
    with pytest.raises(UnknownCode):
        parse_language("es")
