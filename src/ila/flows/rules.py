"""The flows' rule data (``rules/fpie.toml``, ``rules/career_break.toml``), read once and
validated: a change of the law is a change of these files, not of the code."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from typing import Any

from ila.errors import ConfigurationError

LANGUAGES = ("fr", "nl", "de", "en")


@dataclass(frozen=True)
class FpieRules:
    version: str
    onss_rate: Decimal
    full_allowances_per_month: int
    half_allowance_share: Fraction
    max_months: int
    cents: Decimal
    retention_category: str
    retention_years: int
    legal_context: str
    role: str


@dataclass(frozen=True)
class CareerBreakRules:
    version: str
    minimum_age: int
    sectors: frozenset[str]
    legal_context: str
    labels: dict[str, dict[str, dict[str, str]]]  # kind -> code -> language -> text

    def label(self, kind: str, code: str, language: str) -> str:
        return self.labels[kind][code][language]


def _document(name: str) -> dict[str, Any]:
    data = resources.files("ila.flows").joinpath("rules", name).read_bytes()
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:  # pragma: no cover - shipped
        raise ConfigurationError(f"{name}: not a valid UTF-8 TOML file: {exc}") from None


@functools.cache
def fpie_rules() -> FpieRules:
    doc = _document("fpie.toml")
    try:
        rules = FpieRules(
            version=str(doc["ruleset"]["version"]),
            onss_rate=Decimal(doc["onss"]["rate"]),
            full_allowances_per_month=int(doc["allowances"]["full_allowances_per_month"]),
            half_allowance_share=Fraction(doc["allowances"]["half_allowance_share"]),
            max_months=int(doc["period"]["max_months"]),
            cents=Decimal(doc["rounding"]["cents"]),
            retention_category=str(doc["retention"]["category"]),
            retention_years=int(doc["retention"]["years"]),
            legal_context=str(doc["access"]["legal_context"]),
            role=str(doc["access"]["role"]),
        )
    except (KeyError, ValueError, ArithmeticError) as exc:  # pragma: no cover - shipped data
        raise ConfigurationError(f"fpie.toml: missing or invalid value: {exc}") from None
    if not Decimal(0) < rules.onss_rate < 1 or doc["rounding"]["mode"] != "half_up":
        raise ConfigurationError("fpie.toml: rate or rounding out of range")  # pragma: no cover
    return rules


@functools.cache
def career_break_rules() -> CareerBreakRules:
    doc = _document("career_break.toml")
    try:
        labels = {
            kind: {
                code: {lang: str(texts[lang]) for lang in LANGUAGES} for code, texts in v.items()
            }
            for kind, v in doc["labels"].items()
        }
        return CareerBreakRules(
            version=str(doc["ruleset"]["version"]),
            minimum_age=int(doc["preconditions"]["minimum_age"]),
            sectors=frozenset(str(s) for s in doc["preconditions"]["sectors"]),
            legal_context=str(doc["legal"]["legal_context"]),
            labels=labels,
        )
    except (KeyError, ValueError) as exc:  # pragma: no cover - shipped data
        raise ConfigurationError(f"career_break.toml: missing or invalid value: {exc}") from None


def retention_until(computed_on: date, years: int) -> date:
    """The day after which a record kept ``years`` years may be destroyed (29 Feb → 28 Feb)."""
    try:
        return computed_on.replace(year=computed_on.year + years)
    except ValueError:
        return computed_on.replace(year=computed_on.year + years, day=28)
