"""``ila sources`` (authentic sources: import employment declarations) and ``ila flows`` (the
seed flows: FPIE allowance, career-break possibilities). Every source is the deterministic
simulator of ``ila.sources.registry`` (``--seed``)."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ila.cli.common import err, fail, open_container, out, parse_date

if TYPE_CHECKING:
    from ila.access.domain import Caller
    from ila.bootstrap import Container
    from ila.flows.fpie import FpieRequest
    from ila.flows.service import FpieOutcome

sources_app = typer.Typer(no_args_is_help=True, help="Authentic sources (simulated).")
flows_app = typer.Typer(no_args_is_help=True, help="The authorised flows of the seeds.")

SeedOption = Annotated[int, typer.Option(help="Seed of the simulated sources.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@sources_app.command("import-employment")
def import_employment_command(
    employer: Annotated[
        str | None, typer.Option(help="Enterprise number of one employer to import.")
    ] = None,
    all_employers: Annotated[
        bool, typer.Option("--all", help="Import every employer of the source.")
    ] = False,
    compute_year: Annotated[
        list[int] | None,
        typer.Option(help="Recompute the imported employers' rights for this year (repeat)."),
    ] = None,
    seed: SeedOption = 2024,
) -> None:
    """Import employment declarations (employments, work fractions, quarterly FTE) into the
    platform; idempotent: a second import changes nothing, a corrected line updates its
    employment."""
    from ila.sources.registry import simulated_sources
    from ila.sources.service import import_employment

    if (employer is None) == (not all_employers):
        fail("error [required] (employer) give --employer ENTERPRISE_NUMBER or --all")
    with open_container() as c:
        report = import_employment(
            c,
            simulated_sources(seed).employment,
            employer=employer,
            compute_years=compute_year or (),
        )
    out.print(
        f"{report.employers} employers: {report.created} employments new, {report.updated} "
        f"updated, {report.unchanged} unchanged, {report.withdrawn} withdrawn; "
        f"{report.quarters_changed} quarterly FTE changed"
    )
    for en in report.skipped:
        out.print(f"skipped {en}: public sector (no individual training right)")
    for computed in report.computed:
        out.print(
            f"rights {computed.year}: {computed.created} new, {computed.updated} changed, "
            f"{computed.unchanged} unchanged"
        )
    for line in report.errors:
        err.print(f"[yellow]{escape(line)}[/yellow]")
    if report.errors:
        raise typer.Exit(1)


@flows_app.command("fpie")
def fpie_command(
    national_number: Annotated[str, typer.Argument(help="NISS or BIS number of the trainee.")],
    first_month: Annotated[str, typer.Option(help="First month of the contract, YYYY-MM.")],
    last_month: Annotated[str, typer.Option(help="Last month of the contract, YYYY-MM.")],
    gross: Annotated[str, typer.Option(help="Gross monthly salary of the function, euros.")],
    organisation: Annotated[
        str, typer.Option(help="Enterprise number of the institution (Bruxelles Formation).")
    ],
    role: Annotated[str, typer.Option(help="Role of the user: fpie_pedagogical_adviser.")],
    legal_context: Annotated[str, typer.Option(help="Authorisation id: csi-22-086-fpie.")],
    actor: Annotated[str, typer.Option(help="Who computes (the adviser's user id).")] = "cli",
    other_income: Annotated[
        str, typer.Option(help="Monthly social income ONEM does not know (integration income).")
    ] = "0",
    situation_date: Annotated[
        str | None, typer.Option(help="ONEM's situation on this day (default: last known).")
    ] = None,
    seed: SeedOption = 2024,
    as_json: JsonOption = False,
) -> None:
    """Compute an FPIE training allowance (deliberation 22/086): stored 10 years, audited; a
    refusal is logged."""
    import uuid

    from ila.access.domain import Caller
    from ila.errors import Forbidden
    from ila.exchange.domain import Operation
    from ila.exchange.service import record_refusal
    from ila.flows.fpie import FpieRequest
    from ila.flows.rules import fpie_rules
    from ila.identity.domain import EnterpriseNumber

    on = parse_date(situation_date, "situation_date") if situation_date else None
    request_id = f"cli-{uuid.uuid4().hex}"
    with open_container() as c:
        institution = EnterpriseNumber.parse(organisation, field="organisation").value
        request = FpieRequest.parse(
            fpie_rules(),
            national_number=national_number,
            first_month=first_month,
            last_month=last_month,
            gross_monthly_salary=gross,
            other_social_income=other_income,
            situation_date=on,
        )
        caller = Caller(0, f"cli:{actor}"[:64], institution, frozenset())
        try:
            outcome = _fpie_transaction(c, caller, request, role, legal_context, request_id, seed)
        except Forbidden as exc:  # refused: logged in its own transaction, then reported
            record_refusal(
                c,
                caller=caller,
                error=exc,
                operation=Operation.FPIE_ALLOWANCE,
                legal_context=legal_context,
                role=role,
                national_number=request.national_number,
                request_id=request_id,
            )
            raise
    data = outcome.as_dict()
    if as_json:
        _dump(data)
        return
    result = data["result"]
    out.print(
        f"FPIE allowance of [bold]{request.national_number}[/bold]: case "
        f"[bold]{result['case']}[/bold], rules {result['rule_version']}, kept until "
        f"{data['retain_until']} (computation {data['id']})"
    )
    table = Table("month", "gross", "ONSS 13.07 %", "social income", "basis", "other", "allowance")
    for m in result["months"]:
        table.add_row(
            m["month"],
            m["gross_salary"],
            m["onss"],
            m["social_income"],
            m["social_income_basis"],
            m["other_social_income"],
            f"[bold]{m['allowance']}[/bold]",
        )
    table.add_row("total", "", "", result["total_social_income"], "", "", result["total_allowance"])
    out.print(table)
    if result["review_from"]:
        out.print(f"the situation may change on {result['review_from']}: compute again then")


def _fpie_transaction(
    c: Container,
    caller: Caller,
    request: FpieRequest,
    role: str,
    legal_context: str,
    request_id: str,
    seed: int,
) -> FpieOutcome:
    """Compute, store and audit in one transaction, as the API does."""
    from ila.api.transaction import request_transaction
    from ila.exchange.service import fpie_authorisation
    from ila.flows.service import audit_fpie, compute_fpie
    from ila.sources.registry import simulated_sources

    with request_transaction(c) as tx:
        outcome = compute_fpie(
            tx.container,
            request=request,
            actor=caller.client_id,
            role=role,
            legal_context=legal_context,
            request_id=request_id,
            organisation=caller.organisation,
            authorise=fpie_authorisation,
            onem=simulated_sources(seed).unemployment,
        )
        audit_fpie(
            tx.session,
            caller=caller,
            outcome=outcome,
            role=role,
            legal_context=legal_context,
            request_id=request_id,
        )
    return outcome


@flows_app.command("career-break")
def career_break_command(
    national_number: Annotated[str, typer.Argument(help="NISS or BIS number of the person.")],
    language: Annotated[
        str | None, typer.Option(help="fr, nl, de or en (default: the person's).")
    ] = None,
    on: Annotated[str | None, typer.Option(help="Day of the lookup (default: today).")] = None,
    seed: SeedOption = 2024,
    as_json: JsonOption = False,
) -> None:
    """The person's career-break / time-credit possibilities (deliberation 24/012): shown,
    never stored."""
    from ila.flows.career_break import view_dict
    from ila.flows.service import career_break_possibilities
    from ila.sources.registry import simulated_sources

    day: date | None = parse_date(on, "on") if on else None
    sources = simulated_sources(seed)
    with open_container() as c:
        view = career_break_possibilities(
            c,
            national_number,
            employment=sources.employment,
            career_breaks=sources.career_breaks,
            today=day,
            language=language,
        )
    if as_json:
        _dump(view_dict(view))
        return
    if not view.shown:
        out.print(f"[yellow]{escape(view.message or '')}[/yellow] ({view.precondition})")
        return
    regimes = [g.label for g in view.reasons[0].regimes] if view.reasons else []
    table = Table("", *regimes, title=f"{view.national_number} ({', '.join(view.sectors)})")
    for reason in view.reasons:
        table.add_row(
            f"[bold]{escape(reason.label)}[/bold]" if reason.available else escape(reason.label),
            *(
                f"{g.remaining_months}"
                if g.remaining_months is not None
                else f"[dim]— {escape(g.why_none_label or '')}[/dim]"
                for g in reason.regimes
            ),
        )
    out.print(table)
