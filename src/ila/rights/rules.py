"""Rule data of the training-right engine: loading, validation and lookup.

The law and the sector regimes live in versioned TOML files (``rights/rules/*.toml``), each row with
its source; a change of law is a data change. ``load_rules()`` reads the shipped files (cached) and,
optionally, every ``*.toml`` of an extra directory (see ``docs/adding-a-regime.md``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import pathlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from typing import Any

from ila.employment.domain import EndReason
from ila.errors import ConfigurationError, InvalidJointCommittee, RuleNotFound, ValidationError
from ila.identity.domain import JointCommittee
from ila.rights.domain import DepartureOutcome, Regime, RegimeKind, SizeBand

UNSPECIFIED_REASON = "unspecified"
"""Departure row used when an employment ends without a reason."""

_REGIME_FIELDS = frozenset(
    {
        "id",
        "joint_committee",
        "band",
        "kind",
        "valid_from",
        "valid_to",
        "individual_days_per_year",
        "collective_days_per_period_per_fte",
        "source",
        "cct",
        "note",
    }
)
_GENERAL_TABLES = ("ruleset", "bands", "windows", "departure")

Document = tuple[str, Mapping[str, Any]]
"""A parsed rule file: its name (for error messages) and its TOML content."""

_Key = tuple[str | None, SizeBand]


@dataclass(frozen=True, eq=False)
class RuleSet:
    """Every rule the engine applies, loaded from versioned data; lookups are memoised."""

    version: str
    regimes: tuple[Regime, ...]
    band_thresholds: tuple[Fraction, Fraction]  # lower bounds of "10to19" and "ge20" (inclusive)
    window_anchor: int  # first year of the first regular 5-year window
    window_length: int
    transitional_window: tuple[int, int] | None  # a window of its own before the anchor
    departures: Mapping[EndReason, DepartureOutcome]
    unspecified_departure: DepartureOutcome  # an end date given without a reason
    sources: Mapping[str, str] = field(default_factory=dict)  # bands/windows: their legal source
    files: tuple[str, ...] = ()
    _index: dict[_Key, tuple[Regime, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _memo: dict[tuple[int, SizeBand, str | None], Regime] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        index: dict[_Key, list[Regime]] = {}
        for regime in self.regimes:
            index.setdefault((regime.joint_committee, regime.band), []).append(regime)
        for key, rows in index.items():
            self._index[key] = tuple(sorted(rows, key=lambda r: r.valid_from))

    def band_for(self, fte: Fraction) -> SizeBand:
        """The size band of an average FTE; exactly 20 is in the top band ("at least 20")."""
        if fte < 0:
            raise ValidationError(f"an FTE cannot be negative, got {fte}", field="fte")
        low, high = self.band_thresholds
        if fte < low:
            return SizeBand.UNDER_10
        if fte < high:
            return SizeBand.FROM_10_TO_19
        return SizeBand.AT_LEAST_20

    def regime_for(self, year: int, band: SizeBand, joint_committee: str | None) -> Regime:
        """The regime of a year: the joint committee, then its parents, then the statutory one."""
        key = (year, band, joint_committee)
        found = self._memo.get(key)
        if found is not None:
            return found
        codes: tuple[str | None, ...] = (None,)
        if joint_committee is not None:
            try:
                parents = JointCommittee.parse(joint_committee).parents()
            except InvalidJointCommittee:
                raise InvalidJointCommittee(
                    f"{joint_committee!r} is not a joint-committee code (formats: 200, 225.01, "
                    "305.02.09)",
                    field="joint_committee",
                ) from None
            codes = (*parents, None)
        for code in codes:
            for regime in self._index.get((code, band), ()):
                if regime.covers(year):
                    self._memo[key] = regime
                    return regime
        raise RuleNotFound(
            f"no training-right rule covers {year} for band {band.value} (joint committee "
            f"{joint_committee or 'none'}); rule set {self.version}",
            field="year",
            year=year,
            band=band.value,
            joint_committee=joint_committee,
        )

    def window_for(self, year: int) -> tuple[int, int]:
        """The carry-over window of a year, first and last year inclusive."""
        tw = self.transitional_window
        if tw is not None and tw[0] <= year <= tw[1]:
            return tw
        if year < self.window_anchor:
            raise RuleNotFound(
                f"no carry-over window covers {year} (rule set {self.version})",
                field="year",
                year=year,
            )
        first = year - (year - self.window_anchor) % self.window_length
        return first, first + self.window_length - 1

    def departure_outcome(self, reason: EndReason | None) -> DepartureOutcome | None:
        """What happens to the remaining days for an end reason; ``None`` for no reason."""
        if reason is None:
            return None
        return self.departures[reason]


def load_rules(extra_dir: pathlib.Path | None = None) -> RuleSet:
    """The shipped rule data plus, optionally, every ``*.toml`` file of ``extra_dir``."""
    if extra_dir is None:
        return _shipped_rules()
    if not extra_dir.is_dir():
        raise ConfigurationError(f"rule directory {extra_dir} does not exist or is not a directory")
    paths = sorted(extra_dir.glob("*.toml"))
    rules = rules_from_documents(
        [*shipped_documents(), *(_read(str(p), p.read_bytes()) for p in paths)]
    )
    if not paths:
        return rules
    return dataclasses.replace(rules, version=f"{rules.version}+{'.'.join(p.stem for p in paths)}")


@functools.cache
def _shipped_rules() -> RuleSet:
    return rules_from_documents(shipped_documents())


def shipped_documents() -> list[Document]:
    """The rule files shipped with the package, parsed, in name order."""
    folder = resources.files("ila.rights").joinpath("rules")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    return [_read(f.name, f.read_bytes()) for f in files]


def _read(name: str, data: bytes) -> Document:
    try:
        return name, tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{name}: not a valid UTF-8 TOML file: {exc}") from None


def rules_from_documents(documents: Iterable[Document]) -> RuleSet:
    """Validate parsed rule files and build the rule set. Exactly one file holds the general
    tables (``[ruleset]``, ``[bands]``, ``[windows]``, ``[[departure]]``); any file may add
    ``[[regime]]`` rows. Raises ``ConfigurationError`` naming the file and the row."""
    general: dict[str, tuple[str, Any]] = {}
    regimes: list[tuple[str, int, Regime]] = []
    names: list[str] = []
    for name, doc in documents:
        names.append(name)
        for key, value in doc.items():
            if key == "regime":
                rows = _as_list_of_tables(name, key, value)
                regimes.extend(
                    (name, i, _parse_regime(name, i, row)) for i, row in enumerate(rows, start=1)
                )
            elif key in _GENERAL_TABLES:
                if key != "departure" and not isinstance(value, dict):
                    raise ConfigurationError(f"{name}: [{key}] must be a table")
                if key in general:
                    raise ConfigurationError(
                        f"{name}: [{key}] is already defined in {general[key][0]}"
                    )
                general[key] = (name, value)
            else:
                raise ConfigurationError(
                    f"{name}: unknown table [{key}]; expected regime or "
                    f"{', '.join(_GENERAL_TABLES)}"
                )
    for key in _GENERAL_TABLES:
        if key not in general:
            raise ConfigurationError(f"rule data has no [{key}] table (files: {', '.join(names)})")
    _check_overlaps(regimes)
    version = _text(general["ruleset"][0], "[ruleset]", general["ruleset"][1], "version")
    bands_file, bands = general["bands"]
    low = _days(bands_file, "[bands]", bands, "from_10_to_19")
    high = _days(bands_file, "[bands]", bands, "at_least_20")
    if not 0 < low < high:
        raise ConfigurationError(
            f"{bands_file}: [bands]: thresholds must satisfy 0 < from_10_to_19 < at_least_20"
        )
    anchor, length, transitional = _parse_windows(*general["windows"])
    departures, unspecified = _parse_departures(*general["departure"])
    return RuleSet(
        version=version,
        regimes=tuple(r for _, _, r in regimes),
        band_thresholds=(low, high),
        window_anchor=anchor,
        window_length=length,
        transitional_window=transitional,
        departures=departures,
        unspecified_departure=unspecified,
        sources={
            "bands": _text(bands_file, "[bands]", bands, "source"),
            "windows": _text(general["windows"][0], "[windows]", general["windows"][1], "source"),
        },
        files=tuple(names),
    )


def _as_list_of_tables(name: str, key: str, value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise ConfigurationError(f"{name}: {key} must be an array of tables ([[{key}]])")
    return value


def _text(name: str, where: str, row: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name}: {where}: '{key}' must be a non-empty string")
    return value


def _int(name: str, where: str, row: Mapping[str, Any], key: str) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigurationError(f"{name}: {where}: '{key}' must be an integer, got {value!r}")
    return value


def _days(name: str, where: str, row: Mapping[str, Any], key: str) -> Fraction:
    """An exact non-negative number: integer, decimal string ("2.5"), ratio ("9/2") or float."""
    value = row.get(key)
    result: Fraction | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = Fraction(value)
    elif isinstance(value, float | str):
        try:
            result = Fraction(str(value))  # a float's repr is the decimal written in the file
        except (ValueError, ZeroDivisionError):
            result = None
    if result is None:
        raise ConfigurationError(
            f"{name}: {where}: '{key}' must be a number of days "
            f'(e.g. 5, "2.5", "9/2"), got {value!r}'
        )
    if result < 0:
        raise ConfigurationError(f"{name}: {where}: '{key}' cannot be negative, got {value!r}")
    return result


def _parse_regime(name: str, index: int, row: Mapping[str, Any]) -> Regime:
    where = f"regime row {index}" + (
        f" (id {row['id']!r})" if isinstance(row.get("id"), str) else ""
    )
    unknown = sorted(set(row) - _REGIME_FIELDS)
    if unknown:
        raise ConfigurationError(f"{name}: {where}: unknown field(s) {', '.join(unknown)}")
    regime_id = _text(name, where, row, "id")
    jc = row.get("joint_committee")
    if jc is not None:
        try:
            jc = JointCommittee.parse(jc).code
        except InvalidJointCommittee as exc:
            raise ConfigurationError(f"{name}: {where}: {exc.message}") from None
    try:
        band = SizeBand(str(row.get("band")))
        kind = RegimeKind(str(row.get("kind")))
    except ValueError as exc:
        raise ConfigurationError(
            f"{name}: {where}: {exc} (bands: {', '.join(SizeBand)}; kinds: {', '.join(RegimeKind)})"
        ) from None
    valid_from = _int(name, where, row, "valid_from")
    valid_to = _int(name, where, row, "valid_to") if "valid_to" in row else None
    if valid_to is not None and valid_to < valid_from:
        raise ConfigurationError(
            f"{name}: {where}: valid_to {valid_to} is before valid_from {valid_from}"
        )
    collective = None
    if kind is RegimeKind.COLLECTIVE:
        collective = _days(name, where, row, "collective_days_per_period_per_fte")
    elif "collective_days_per_period_per_fte" in row:
        raise ConfigurationError(
            f"{name}: {where}: an individual regime has no collective_days_per_period_per_fte"
        )
    return Regime(
        id=regime_id,
        joint_committee=jc,
        band=band,
        kind=kind,
        valid_from=valid_from,
        valid_to=valid_to,
        individual_days_per_year=_days(name, where, row, "individual_days_per_year"),
        collective_days_per_period_per_fte=collective,
        source=_text(name, where, row, "source"),
        cct=_text(name, where, row, "cct", required=False) or None,
        note=_text(name, where, row, "note", required=False) or None,
    )


def _check_overlaps(rows: list[tuple[str, int, Regime]]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    groups: dict[_Key, list[tuple[str, int, Regime]]] = {}
    for name, index, regime in rows:
        if regime.id in seen:
            first = seen[regime.id]
            raise ConfigurationError(
                f"{name}: regime row {index}: id {regime.id!r} is already "
                f"used in {first[0]} row {first[1]}"
            )
        seen[regime.id] = (name, index)
        groups.setdefault((regime.joint_committee, regime.band), []).append((name, index, regime))
    for (jc, band), group in groups.items():
        group.sort(key=lambda item: item[2].valid_from)
        for (n1, i1, r1), (n2, i2, r2) in itertools.pairwise(group):
            if r1.valid_to is None or r2.valid_from <= r1.valid_to:
                raise ConfigurationError(
                    f"{n2}: regime row {i2} ({r2.id!r}): validity overlaps {n1} row {i1} "
                    f"({r1.id!r}) for joint committee {jc or 'statutory'}, band {band.value}"
                )


def _parse_windows(name: str, table: Any) -> tuple[int, int, tuple[int, int] | None]:
    _text(name, "[windows]", table, "source")
    anchor = _int(name, "[windows]", table, "anchor")
    length = _int(name, "[windows]", table, "length")
    if length < 1:
        raise ConfigurationError(f"{name}: [windows]: length must be at least 1")
    if "transitional_first" not in table and "transitional_last" not in table:
        return anchor, length, None
    first = _int(name, "[windows]", table, "transitional_first")
    last = _int(name, "[windows]", table, "transitional_last")
    if not first <= last == anchor - 1:
        raise ConfigurationError(
            f"{name}: [windows]: the transitional window must end the year before the anchor"
        )
    return anchor, length, (first, last)


def _parse_departures(
    name: str, value: Any
) -> tuple[dict[EndReason, DepartureOutcome], DepartureOutcome]:
    outcomes: dict[str, DepartureOutcome] = {}
    for index, row in enumerate(_as_list_of_tables(name, "departure", value), start=1):
        where = f"departure row {index}"
        reason = _text(name, where, row, "reason")
        _text(name, where, row, "source")
        if reason != UNSPECIFIED_REASON and reason not in set(EndReason):
            raise ConfigurationError(f"{name}: {where}: unknown reason {reason!r}")
        if reason in outcomes:
            raise ConfigurationError(f"{name}: {where}: reason {reason!r} appears twice")
        try:
            outcomes[reason] = DepartureOutcome(str(row.get("outcome")))
        except ValueError:
            raise ConfigurationError(
                f"{name}: {where}: unknown outcome {row.get('outcome')!r} "
                f"(expected {', '.join(DepartureOutcome)})"
            ) from None
    missing = [r for r in (*EndReason, UNSPECIFIED_REASON) if r not in outcomes]
    if missing:
        raise ConfigurationError(f"{name}: [[departure]] has no row for {', '.join(missing)}")
    return ({r: outcomes[r] for r in EndReason}, outcomes[UNSPECIFIED_REASON])
