"""The stored form of a right's derivation.

A derivation repeats, for every worker of an employer, the same regime description (its legal
source, CCT number, notes) and the text of the proration rule. Stored as is, that is most of a
million-row computation's bytes. The stored form keeps what varies (inputs and factors) and the
regime id; :func:`for_reading` puts the texts back from the versioned rule data.
"""

from __future__ import annotations

from functools import lru_cache

from ila.rights.domain import Derivation, Regime
from ila.rights.engine import RIGHT_RULE, regime_view
from ila.rights.rules import RuleSet


def for_storage(derivation: Derivation) -> Derivation:
    if "employments" in derivation:
        return {**derivation, "employments": [for_storage(d) for d in derivation["employments"]]}
    stored = {k: v for k, v in derivation.items() if k not in ("regime", "rule")}
    if "regime" in derivation:
        stored["regime_id"] = derivation["regime"]["id"]
    return stored


@lru_cache(maxsize=8)
def _regimes(rules: RuleSet) -> dict[str, Regime]:
    return {r.id: r for r in rules.regimes}


def for_reading(stored: Derivation, rules: RuleSet) -> Derivation:
    if "employments" in stored:
        return {**stored, "employments": [for_reading(d, rules) for d in stored["employments"]]}
    if "regime_id" not in stored:
        return dict(stored)
    derivation = {k: v for k, v in stored.items() if k != "regime_id"}
    regime = _regimes(rules).get(stored["regime_id"])
    derivation["regime"] = (
        regime_view(regime)
        if regime is not None
        else {"id": stored["regime_id"], "note": f"not in the loaded rule set {rules.version}"}
    )
    if stored.get("periods"):
        derivation["rule"] = RIGHT_RULE
    return derivation
