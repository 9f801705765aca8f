from __future__ import annotations

from datetime import date
from decimal import Decimal

from ila.employment.domain import EmploymentFacts
from ila.rights.derivation import for_reading, for_storage
from ila.rights.domain import QuarterFTE
from ila.rights.engine import annual_right, compute_headcount
from ila.rights.rules import load_rules


def _derivation(start: date, jc: str = "200") -> dict[str, object]:
    rules = load_rules()
    hc = compute_headcount(
        rules,
        2024,
        [QuarterFTE(2023, q, Decimal(40)) for q in (1, 2, 3)] + [QuarterFTE(2022, 4, Decimal(40))],
    )
    facts = EmploymentFacts.build(
        start=start, end=None, joint_committee=jc, fractions=[(start, "0.8")]
    )
    return annual_right(rules, 2024, facts, hc).derivation


def test_stored_form_drops_repeated_texts_and_reading_restores_them() -> None:
    rules = load_rules()
    full = _derivation(date(2024, 3, 29))
    stored = for_storage(full)
    assert "regime" not in stored
    assert "rule" not in stored
    assert stored["regime_id"] == "pc200.ge20.2024"
    assert len(str(stored)) < len(str(full))
    assert for_reading(stored, rules) == full


def test_several_employments_round_trip() -> None:
    rules = load_rules()
    full = {
        "total": "1",
        "employments": [_derivation(date(2024, 1, 1)), _derivation(date(2024, 6, 1), "124")],
    }
    assert for_reading(for_storage(full), rules) == full


def test_unknown_regime_and_old_full_form() -> None:
    rules = load_rules()
    restored = for_reading({"regime_id": "gone.regime", "total": "0"}, rules)
    assert restored["regime"]["id"] == "gone.regime"
    assert "not in the loaded rule set" in restored["regime"]["note"]
    legacy = {"regime": {"id": "x"}, "total": "1"}
    assert for_reading(legacy, rules) == legacy
