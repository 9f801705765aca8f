"""The dashboard's integer fold (``fold_units``) and the ledger's ``Fraction`` fold
(``fold_ledger``) give the same ledger year for any account: carry-over within the window,
gaps, window ends, departures with every outcome, more days used than due."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ila.accounts.dashboard import LedgerFigures, fold_units
from ila.employment.domain import EndReason
from ila.errors import InvalidDuration
from ila.rights.domain import DepartureOutcome
from ila.rights.ledger import YearInput, fold_ledger
from ila.rights.rules import load_rules

RULES = load_rules()
DAY_MINUTES = 456
PER_DAY = 10**4
SCALE = DAY_MINUTES * PER_DAY

year_data = st.fixed_dictionaries(
    {
        "entitlement": st.one_of(st.none(), st.integers(0, 30 * PER_DAY)),  # 4-decimal days
        "used": st.one_of(st.none(), st.integers(0, 40 * DAY_MINUTES)),  # minutes
        "end": st.one_of(st.none(), st.sampled_from([None, *EndReason])),
    }
)


def _outcome(reason: EndReason | None) -> DepartureOutcome:
    return RULES.departure_outcome(reason) or RULES.unspecified_departure


@settings(max_examples=60, deadline=None)
@given(
    year=st.integers(2022, 2030),
    data=st.lists(year_data, min_size=9, max_size=9),
    with_end=st.lists(st.booleans(), min_size=9, max_size=9),
)
def test_same_ledger_year_as_fold_ledger(
    year: int, data: list[dict[str, object]], with_end: list[bool]
) -> None:
    first, _ = RULES.window_for(year)
    entitlements: dict[int, int] = {}
    used: dict[int, int] = {}
    ends: dict[int, tuple[date, DepartureOutcome]] = {}
    inputs = []
    for offset, y in enumerate(range(first, year + 1)):
        item = data[offset]
        ent, minutes = item["entitlement"], item["used"]
        if ent is None and minutes is None:
            continue
        assert ent is None or isinstance(ent, int)
        assert minutes is None or isinstance(minutes, int)
        if ent is not None:
            entitlements[y] = ent * DAY_MINUTES
        if minutes is not None:
            used[y] = minutes * PER_DAY
        end_day = date(y, 6, 30) if with_end[offset] else None
        reason = item["end"] if end_day else None
        assert reason is None or isinstance(reason, EndReason)
        if end_day is not None:
            ends[y] = (end_day, _outcome(reason))
        inputs.append(
            YearInput(
                year=y,
                entitlement=Fraction(ent or 0, PER_DAY),
                used=Fraction(minutes or 0, DAY_MINUTES),
                employment_end=end_day,
                end_reason=reason,
            )
        )
    expected = next((e for e in fold_ledger(RULES, inputs) if e.year == year), None)
    got = fold_units(RULES, year, entitlements, used, ends)
    if expected is None:
        assert got is None
        return
    assert isinstance(got, LedgerFigures)
    for name in ("entitlement", "carried_in", "used", "balance", "expiring"):
        assert Fraction(getattr(got, name), SCALE) == getattr(expected, name), name
    assert (got.expires_on, got.departure) == (expected.expires_on, expected.departure)


def test_carry_over_and_a_departure_by_hand() -> None:
    """2024: 5 days, 1 used → 4 carried into 2025; 2025: 5 more, 2 used, dismissed on
    30 June: 7 days open for the notice, nothing lost on the end date."""
    day = SCALE
    got = fold_units(
        RULES,
        2025,
        {2024: 5 * day, 2025: 5 * day},
        {2024: 1 * day, 2025: 2 * day},
        {2025: (date(2025, 6, 30), _outcome(EndReason.DISMISSAL))},
    )
    assert got is not None
    assert (got.carried_in, got.balance, got.expiring) == (4 * day, 7 * day, 0)
    assert (got.expires_on, got.departure.value if got.departure else None) == (
        date(2025, 6, 30),
        "notice_or_indemnity",
    )


def test_negative_amounts_are_refused_like_the_ledger() -> None:
    with pytest.raises(InvalidDuration) as refused:
        fold_units(RULES, 2025, {2025: -1}, {}, {})
    assert refused.value.field == "entitlement"
