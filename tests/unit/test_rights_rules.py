"""Rule data: shipped content, lookups, loading extra regimes, validation of the files."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ila.employment.domain import EndReason
from ila.errors import ConfigurationError, InvalidJointCommittee, RuleNotFound, ValidationError
from ila.rights.domain import DepartureOutcome, RegimeKind, SizeBand
from ila.rights.rules import RuleSet, load_rules, rules_from_documents, shipped_documents

LT10, MID, GE20 = SizeBand.UNDER_10, SizeBand.FROM_10_TO_19, SizeBand.AT_LEAST_20


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "pc999.ge20.2024",
        "joint_committee": "999",
        "band": "ge20",
        "kind": "individual",
        "valid_from": 2024,
        "individual_days_per_year": 2,
        "source": "test CCT",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def with_rows(*rows: Mapping[str, Any], name: str = "extra.toml") -> RuleSet:
    return rules_from_documents([*shipped_documents(), (name, {"regime": list(rows)})])


def general_with(**changes: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """The shipped documents with top-level tables of general.toml replaced (None = removed)."""
    docs = shipped_documents()
    out: list[tuple[str, Mapping[str, Any]]] = []
    for name, doc in docs:
        if name == "general.toml":
            changed = copy.deepcopy(dict(doc))
            for key, value in changes.items():
                if value is None:
                    del changed[key]
                else:
                    changed[key] = value
            out.append((name, changed))
        else:
            out.append((name, doc))
    return out


# ------------------------------------------------------------------------------ shipped data


def test_shipped_rules_load_and_are_cached() -> None:
    rules = load_rules()
    assert rules is load_rules()
    assert rules.version == "2026.1"
    assert rules.files == ("general.toml", "pc124.toml", "pc200.toml")
    assert all(r.source.strip() for r in rules.regimes)
    assert len({r.id for r in rules.regimes}) == len(rules.regimes)
    assert rules.sources["bands"]
    assert rules.sources["windows"]


@pytest.mark.parametrize(
    ("fte", "band"),
    [
        (Fraction(0), LT10),
        (Fraction(999, 100), LT10),
        (Fraction(10), MID),
        (Fraction(199, 10), MID),
        (Fraction(20), GE20),
        (Fraction(2001, 100), GE20),
    ],
)
def test_band_for_thresholds(fte: Fraction, band: SizeBand) -> None:
    assert load_rules().band_for(fte) is band


def test_band_for_negative_fte() -> None:
    with pytest.raises(ValidationError) as err:
        load_rules().band_for(Fraction(-1))
    assert err.value.code == "invalid_value"


@pytest.mark.parametrize(
    ("year", "band", "jc", "regime_id", "days"),
    [
        (2022, GE20, "226", "statutory.ge20.2022", 4),
        (2023, GE20, "226", "statutory.ge20.2023", 4),
        (2024, GE20, "226", "statutory.ge20.2024", 5),
        (2040, GE20, None, "statutory.ge20.2024", 5),
        (2022, MID, "226", "statutory.10to19.2022", 1),
        (2023, MID, "226", "statutory.10to19.2023", 1),
        (2030, LT10, "226", "statutory.lt10.2022", 0),
        (2022, GE20, "124", "statutory.ge20.2022", 4),
        (2023, GE20, "124", "pc124.ge20.2023", Fraction(5, 2)),
        (2025, GE20, "124", "pc124.ge20.2023", Fraction(5, 2)),
        (2026, GE20, "124", "pc124.ge20.2026", 3),
        (2027, GE20, "124", "pc124.ge20.2027", Fraction(7, 2)),
        (2028, GE20, "124", "pc124.ge20.2028", 4),
        (2029, GE20, "124", "pc124.ge20.2029", Fraction(9, 2)),
        (2035, GE20, "124", "pc124.ge20.2030", 5),
        (2027, MID, "124", "statutory.10to19.2023", 1),
        (2027, LT10, "124", "statutory.lt10.2022", 0),
        (2022, GE20, "200", "pc200.ge20.2022", 1),
        (2023, GE20, "200", "pc200.ge20.2022", 1),
        (2024, GE20, "200", "pc200.ge20.2024", 3),
        (2025, GE20, "200", "pc200.ge20.2024", 3),
        (2026, GE20, "200", "pc200.ge20.2026", 4),
        (2027, GE20, "200", "pc200.ge20.2026", 4),
        (2028, GE20, "200", "pc200.ge20.2028", 5),
        (2024, MID, "200", "pc200.10to19.2024", 1),
        (2028, MID, "200", "pc200.10to19.2024", 1),
        (2029, MID, "200", "statutory.10to19.2023", 1),
        (2023, MID, "200", "statutory.10to19.2023", 1),
        (2024, LT10, "200", "pc200.lt10.2024", 1),
        (2029, LT10, "200", "statutory.lt10.2022", 0),
        (2024, GE20, "305.02.09", "statutory.ge20.2024", 5),
    ],
)
def test_regime_for(
    year: int, band: SizeBand, jc: str | None, regime_id: str, days: int | Fraction
) -> None:
    regime = load_rules().regime_for(year, band, jc)
    assert regime.id == regime_id
    assert regime.individual_days_per_year == days
    assert regime.band is band
    assert regime.covers(year)


def test_pc200_collective_regimes() -> None:
    rules = load_rules()
    mid = rules.regime_for(2024, MID, "200")
    assert mid.kind is RegimeKind.COLLECTIVE
    assert mid.collective_days_per_period_per_fte == Fraction(9, 2)
    assert mid.cct == "181682/CO/200"
    assert rules.regime_for(2024, LT10, "200").collective_days_per_period_per_fte == 4
    early = rules.regime_for(2022, GE20, "200")
    assert early.collective_days_per_period_per_fte == 6
    assert early.note is not None
    assert "Decision" in early.note


def test_statutory_2022_is_a_documented_decision() -> None:
    note = load_rules().regime_for(2022, GE20, None).note
    assert note is not None
    assert "Decision" in note


def test_regime_for_uses_parents_most_specific_first(tmp_path: Path) -> None:
    (tmp_path / "pc305.toml").write_text(
        '[[regime]]\nid = "pc305.ge20.2024"\njoint_committee = "305"\nband = "ge20"\n'
        'kind = "individual"\nvalid_from = 2024\nindividual_days_per_year = 3\nsource = "x"\n\n'
        '[[regime]]\nid = "pc305.02.ge20.2024"\njoint_committee = "305.02"\nband = "ge20"\n'
        'kind = "individual"\nvalid_from = 2024\nindividual_days_per_year = "3.5"\nsource = "y"\n',
        encoding="utf-8",
    )
    rules = load_rules(tmp_path)
    assert rules.version == "2026.1+pc305"
    assert rules.regime_for(2024, GE20, "305.02.09").id == "pc305.02.ge20.2024"
    assert rules.regime_for(2024, GE20, "305.01").id == "pc305.ge20.2024"
    assert rules.regime_for(2024, GE20, "305").id == "pc305.ge20.2024"
    assert rules.regime_for(2023, GE20, "305.02.09").id == "statutory.ge20.2023"
    assert rules.regime_for(2024, MID, "305.02.09").id == "statutory.10to19.2023"


def test_regime_for_rejects_bad_joint_committee() -> None:
    with pytest.raises(InvalidJointCommittee) as err:
        load_rules().regime_for(2024, GE20, "PC200")
    assert err.value.code == "invalid_joint_committee"
    assert err.value.field == "joint_committee"


@pytest.mark.parametrize("year", [2021, 1990])
def test_regime_for_before_the_law(year: int) -> None:
    with pytest.raises(RuleNotFound, match=str(year)) as err:
        load_rules().regime_for(year, GE20, "200")
    assert err.value.code == "rule_not_found"


@pytest.mark.parametrize(
    ("year", "window"),
    [
        (2022, (2022, 2023)),
        (2023, (2022, 2023)),
        (2024, (2024, 2028)),
        (2028, (2024, 2028)),
        (2029, (2029, 2033)),
        (2033, (2029, 2033)),
        (2034, (2034, 2038)),
    ],
)
def test_window_for(year: int, window: tuple[int, int]) -> None:
    assert load_rules().window_for(year) == window


def test_window_for_before_the_first_window() -> None:
    with pytest.raises(RuleNotFound) as err:
        load_rules().window_for(2021)
    assert err.value.code == "rule_not_found"


def test_windows_without_transitional_window() -> None:
    windows = {"anchor": 2024, "length": 5, "source": "s"}
    rules = rules_from_documents(general_with(windows=windows))
    assert rules.transitional_window is None
    assert rules.window_for(2024) == (2024, 2028)
    with pytest.raises(RuleNotFound):
        rules.window_for(2023)


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (EndReason.RESIGNATION, DepartureOutcome.FORFEITED),
        (EndReason.DISMISSAL_SERIOUS_CAUSE, DepartureOutcome.FORFEITED),
        (EndReason.DISMISSAL, DepartureOutcome.NOTICE_OR_INDEMNITY),
        (EndReason.END_OF_CONTRACT, DepartureOutcome.LAPSES),
        (EndReason.MUTUAL_AGREEMENT, DepartureOutcome.LAPSES),
        (EndReason.RETIREMENT, DepartureOutcome.LAPSES),
        (EndReason.DEATH, DepartureOutcome.LAPSES),
        (EndReason.OTHER, DepartureOutcome.LAPSES),
        (None, None),
    ],
)
def test_departure_outcome(reason: EndReason | None, outcome: DepartureOutcome | None) -> None:
    assert load_rules().departure_outcome(reason) is outcome


def test_unspecified_departure_lapses() -> None:
    assert load_rules().unspecified_departure is DepartureOutcome.LAPSES


# ------------------------------------------------------------------------------ extra directory


def test_extra_dir_adds_a_regime(tmp_path: Path) -> None:
    (tmp_path / "pc999.toml").write_text(
        '[[regime]]\nid = "pc999.ge20.2024"\njoint_committee = "999"\nband = "ge20"\n'
        'kind = "individual"\nvalid_from = 2024\nindividual_days_per_year = 2\n'
        'source = "test CCT"\n',
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    rules = load_rules(tmp_path)
    assert rules.regime_for(2024, GE20, "999").individual_days_per_year == 2
    assert rules.files[-1].endswith("pc999.toml")
    assert rules.regime_for(2024, GE20, "200").id == "pc200.ge20.2024"


def test_empty_extra_dir_keeps_the_version(tmp_path: Path) -> None:
    rules = load_rules(tmp_path)
    assert rules.version == load_rules().version
    assert rules is not load_rules()


def test_missing_extra_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_rules(tmp_path / "nope")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[[regime]\nid =", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"broken\.toml"):
        load_rules(tmp_path)


def test_extra_file_cannot_overlap_a_shipped_regime(tmp_path: Path) -> None:
    (tmp_path / "pc200b.toml").write_text(
        '[[regime]]\nid = "pc200.ge20.2030"\njoint_committee = "200"\nband = "ge20"\n'
        'kind = "individual"\nvalid_from = 2030\nindividual_days_per_year = 6\nsource = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"pc200b\.toml: regime row 1 .*overlaps"):
        load_rules(tmp_path)


# ------------------------------------------------------------------------------ validation


def test_days_accept_integers_decimals_ratios_and_floats() -> None:
    rules = with_rows(
        row(id="a", valid_from=2024, valid_to=2024, individual_days_per_year="2.5"),
        row(id="b", valid_from=2025, valid_to=2025, individual_days_per_year="9/2"),
        row(id="c", valid_from=2026, valid_to=2026, individual_days_per_year=0.1),
        row(id="d", valid_from=2027, individual_days_per_year=3),
    )
    days = [rules.regime_for(y, GE20, "999").individual_days_per_year for y in range(2024, 2028)]
    assert days == [Fraction(5, 2), Fraction(9, 2), Fraction(1, 10), Fraction(3)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row(band="ge21"), r"ge21"),
        (row(kind="shared"), r"shared"),
        (row(source=None), r"'source' must be a non-empty string"),
        (row(source="  "), r"'source' must be a non-empty string"),
        (row(individual_days_per_year=-1), r"cannot be negative"),
        (row(individual_days_per_year="-0.5"), r"cannot be negative"),
        (row(individual_days_per_year="many"), r"must be a number of days"),
        (row(individual_days_per_year=True), r"must be a number of days"),
        (row(individual_days_per_year=[1]), r"must be a number of days"),
        (row(individual_days_per_year="1/0"), r"must be a number of days"),
        (row(individual_days_per_year=None), r"must be a number of days"),
        (row(valid_from="2024"), r"'valid_from' must be an integer"),
        (row(valid_from=True), r"'valid_from' must be an integer"),
        (row(valid_to=2023), r"valid_to 2023 is before valid_from 2024"),
        (row(joint_committee="PC200"), r"not a joint-committee code"),
        (row(kind="collective"), r"collective_days_per_period_per_fte"),
        (row(collective_days_per_period_per_fte=4), r"an individual regime has no"),
        (row(days=3), r"unknown field\(s\) days"),
        (row(id=None), r"regime row 1: 'id' must be a non-empty string"),
        (row(cct=""), r"'cct' must be a non-empty string"),
    ],
)
def test_bad_regime_rows(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^bad\.toml: regime row 1") as err:
        rules_from_documents([*shipped_documents(), ("bad.toml", {"regime": [bad]})])
    assert err.match(message)


def test_overlapping_validity_names_both_rows() -> None:
    with pytest.raises(ConfigurationError) as err:
        with_rows(row(id="a", valid_to=2026), row(id="b", valid_from=2026), name="x.toml")
    assert err.match(
        r"x\.toml: regime row 2 \('b'\): validity overlaps x\.toml row 1 \('a'\) "
        r"for joint committee 999, band ge20"
    )


def test_open_ended_row_overlaps_a_later_one() -> None:
    with pytest.raises(ConfigurationError, match="overlaps"):
        with_rows(row(id="a"), row(id="b", valid_from=2030))


def test_same_committee_other_band_does_not_overlap() -> None:
    rules = with_rows(row(id="a"), row(id="b", band="10to19"))
    assert rules.regime_for(2024, MID, "999").id == "b"


def test_duplicate_id() -> None:
    with pytest.raises(ConfigurationError, match=r"id 'statutory\.ge20\.2024' is already used"):
        with_rows(row(id="statutory.ge20.2024"))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"regime": {"id": "x"}}, r"regime must be an array of tables"),
        ({"regime": [1]}, r"regime must be an array of tables"),
        ({"rules": []}, r"unknown table \[rules\]"),
        ({"ruleset": {"version": "x"}}, r"\[ruleset\] is already defined in general\.toml"),
        ({"bands": 3}, r"\[bands\] must be a table"),
    ],
)
def test_bad_documents(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^bad\.toml: " + message):
        rules_from_documents([*shipped_documents(), ("bad.toml", doc)])


REASONS = [
    {"reason": r, "outcome": "lapses", "source": "s"}
    for r in [*(str(e) for e in EndReason), "unspecified"]
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ruleset": None}, r"rule data has no \[ruleset\] table"),
        ({"ruleset": {"version": ""}}, r"\[ruleset\]: 'version' must be a non-empty string"),
        ({"bands": {"from_10_to_19": 20, "at_least_20": 10, "source": "s"}}, r"thresholds"),
        ({"bands": {"from_10_to_19": 0, "at_least_20": 10, "source": "s"}}, r"thresholds"),
        ({"bands": {"from_10_to_19": 10, "at_least_20": 20}}, r"'source' must be"),
        ({"windows": {"anchor": 2024, "length": 0, "source": "s"}}, r"length must be at least 1"),
        ({"windows": {"anchor": 2024, "length": 5}}, r"\[windows\]: 'source' must be"),
        (
            {
                "windows": {
                    "anchor": 2024,
                    "length": 5,
                    "source": "s",
                    "transitional_first": 2022,
                    "transitional_last": 2022,
                }
            },
            r"transitional window must end",
        ),
        (
            {
                "windows": {
                    "anchor": 2024,
                    "length": 5,
                    "source": "s",
                    "transitional_first": 2024,
                    "transitional_last": 2023,
                }
            },
            r"transitional window must end",
        ),
        (
            {"windows": {"anchor": 2024, "length": 5, "source": "s", "transitional_first": 2022}},
            r"'transitional_last' must be an integer",
        ),
        ({"departure": REASONS[:-1]}, r"\[\[departure\]\] has no row for unspecified"),
        (
            {"departure": [*REASONS, {"reason": "fired", "outcome": "lapses", "source": "s"}]},
            r"departure row 10: unknown reason 'fired'",
        ),
        ({"departure": [*REASONS, REASONS[0]]}, r"departure row 10: reason 'resignation' appears"),
        ({"departure": [{**REASONS[0], "outcome": "kept"}]}, r"departure row 1: unknown outcome"),
        (
            {"departure": [{"reason": "resignation", "outcome": "lapses"}]},
            r"departure row 1: 'source' must be",
        ),
    ],
)
def test_bad_general_tables(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        rules_from_documents(general_with(**changes))


def test_general_tables_with_all_reasons_load() -> None:
    rules = rules_from_documents(general_with(departure=REASONS))
    assert rules.departure_outcome(EndReason.RESIGNATION) is DepartureOutcome.LAPSES
