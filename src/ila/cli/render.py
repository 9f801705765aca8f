"""Human-readable rendering of a right's explanation for the terminal."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _two_decimals(exact: str) -> str:
    value = Fraction(exact)
    return f"{Decimal(value.numerator) / Decimal(value.denominator):.2f}"


def _d(view: dict[str, str] | None) -> str:
    return "—" if view is None else view["text"]


def _employment_lines(derivation: dict[str, Any]) -> list[dict[str, Any]]:
    return list(derivation.get("employments", [derivation]))


def render_explanation(console: Console, e: dict[str, Any]) -> None:
    person, employer, ent = e["person"], e["employer"], e["entitlement"]
    console.print(
        f"[bold]{escape(person['name'])}[/bold] ({person['national_number']}) at "
        f"[bold]{escape(employer['name'])}[/bold] ({employer['enterprise_number']}), "
        f"year {e['year']}" + (f", as recorded on {e['as_of']}" if e["as_of"] else "")
    )
    hc = e["headcount"]
    console.print(
        f"Headcount {hc['period'][0]}–{hc['period'][1]}: {hc['average_2dp']} FTE "
        f"({hc['method']}; {escape(hc.get('explanation', ''))}) "
        f"→ band {hc['band']}"
    )
    for q in hc.get("reference_quarters", []):
        mark = "used" if q["used"] else "not counted"
        console.print(f"  {q['year']} Q{q['quarter']}: {_two_decimals(q['fte'])} FTE ({mark})")
    for d in _employment_lines(e["derivation"]):
        if "regime" not in d:
            console.print(escape(d.get("note", "")))
            continue
        regime = d["regime"]
        console.print(
            f"Regime [bold]{regime['id']}[/bold] ({regime['kind']}): A = {d['A']} "
            f"days — {escape(regime['source'])}"
        )
        table = Table("from", "to", "B (fraction)", "months", "days")
        for p in d["periods"]:
            table.add_row(p["start"], p["end"], p["B"], p["months"], p["days_2dp"])
        console.print(table)
        console.print(f"Right = {d['formula']}")
    console.print(
        f"Entitlement: computed {_d(ent['computed'])}; set by employer "
        f"{_d(ent['set'])}"
        + (f" ({ent['set_reason']})" if ent["set_reason"] else "")
        + f"; effective [bold]{_d(ent['effective'])}[/bold] ({ent['status']})"
    )
    if e.get("collective_pool"):
        console.print(
            f"Collective pool of the employer for the two-year period: {_d(e['collective_pool'])}"
        )
    ledger = Table(
        "year",
        "entitlement",
        "carried in",
        "used",
        "balance",
        "carried out",
        "expiring",
        "expires on",
        title="Ledger (5-year window)",
    )
    for y in e["ledger"]:
        ledger.add_row(
            str(y["year"]),
            y["entitlement"]["days"],
            y["carried_in"]["days"],
            y["used"]["days"],
            y["balance"]["days"],
            y["carried_out"]["days"],
            y["expiring"]["days"],
            y["expires_on"] + (f" ({y['departure']})" if y["departure"] else ""),
        )
    console.print(ledger)
