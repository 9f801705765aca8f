"""``ila``: administration commands. User errors print one line and exit non-zero.

Each feature's commands live in their own module (``ila.cli.<feature>``) and are registered here.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from ila.cli.access import clients_app, mandates_app, staff_app
from ila.cli.audit import audit_app, retention_app, webhooks_app
from ila.cli.batch import batch_app
from ila.cli.common import err, fail, open_container, out, parse_as_of, whole_writes
from ila.cli.exchange import authorisations_app, directory_app
from ila.cli.flows import flows_app, sources_app
from ila.cli.jobs import jobs_app

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="ila — Individual Learning Account platform."
)


@app.callback()
def _every_command() -> None:
    whole_writes()


db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
demo_app = typer.Typer(no_args_is_help=True, help="Synthetic demo dataset.")
rights_app = typer.Typer(no_args_is_help=True, help="Training rights.")
api_app = typer.Typer(no_args_is_help=True, help="The REST API contract.")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(rights_app, name="rights")
app.add_typer(clients_app, name="clients")
app.add_typer(mandates_app, name="mandates")
app.add_typer(api_app, name="api")
app.add_typer(batch_app, name="batch")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(authorisations_app, name="authorisations")
app.add_typer(directory_app, name="directory")
app.add_typer(sources_app, name="sources")
app.add_typer(flows_app, name="flows")
app.add_typer(jobs_app, name="jobs")
app.add_typer(staff_app, name="staff")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    from ila.db.migrate import upgrade

    with open_container() as c:
        upgrade(c.engine)
        out.print(f"database at [bold]{c.engine.url.render_as_string()}[/bold] is up to date")


@demo_app.command("load")
def demo_load(seed: Annotated[int, typer.Option(help="Random seed.")] = 2024) -> None:
    """Load the synthetic demo dataset (idempotent)."""
    from ila.demo import DEMO_MULTI_EMPLOYER_NISS, DEMO_REHIRED_NISS, DEMO_WORKER_NISS
    from ila.demo.generator import load_demo
    from ila.exchange.demo import load_exchange_demo
    from ila.sources.registry import seed_demo_sources
    from ila.web.provider import load_demo_mandates

    with open_container() as c:
        report = load_demo(c, seed=seed)
        if report.already_loaded:
            out.print("demo dataset already loaded; nothing added")
        else:
            out.print(
                f"demo dataset loaded: {report.employers} employers, {report.persons} "
                f"persons, {report.employments} employments, {report.trainings} trainings"
            )
        # both idempotent: the regions' authorisations and directories, and the employers of
        # the simulated employment declarations (an authentic source)
        exchange = load_exchange_demo(
            c,
            guided=DEMO_REHIRED_NISS,
            trainee=DEMO_MULTI_EMPLOYER_NISS,
            fpie_candidate=DEMO_WORKER_NISS,
        )
        sources = seed_demo_sources(c, seed)
        mandates = load_demo_mandates(c)  # the demo service provider persona's mandates
        out.print(
            f"exchange demo: {exchange.authorisations} authorisations loaded or changed, "
            f"{exchange.entries} directory entries, {exchange.trainings} regional trainings; "
            f"employment declarations of {sources.employers} employers imported "
            f"({sources.created} new, {sources.updated} changed, {sources.unchanged} unchanged "
            f"employments); {mandates} mandates granted to the demo service provider"
        )


@rights_app.command("compute")
def rights_compute(year: Annotated[int, typer.Option(help="Year to compute.")]) -> None:
    """Compute every employer's training rights for a year (new versions only on change)."""
    from ila.rights.service import compute_year

    with (
        open_container() as c,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        ) as bar,
    ):
        task = bar.add_task(f"rights {year}", total=None)
        report = compute_year(
            c, year, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    out.print(
        f"{year}: {report.employers} employers, {report.worker_years} worker-years "
        f"({report.created} new, {report.updated} changed, {report.unchanged} unchanged, "
        f"{report.opted_out} opted out) "
        f"in {report.seconds:.1f} s"
    )
    for line in report.errors:
        err.print(f"[yellow]{escape(line)}[/yellow]")
    if report.errors:
        raise typer.Exit(1)


@rights_app.command("explain")
def rights_explain(
    national_number: Annotated[str, typer.Argument(help="NISS or BIS number of the worker.")],
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
    year: Annotated[int, typer.Option(help="Year of the right.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_of: Annotated[str | None, typer.Option(help="The account as recorded on this date.")] = None,
) -> None:
    """Explain a worker's right with an employer for a year: every factor and its source."""
    from ila.cli.render import render_explanation
    from ila.rights.service import explain

    with open_container() as c:
        result = explain(c, national_number, employer, year, parse_as_of(as_of))
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        render_explanation(out, result)


@rights_app.command("set")
def rights_set(
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
    year: Annotated[int, typer.Option(help="Year of the right.")],
    reason: Annotated[str, typer.Option(help="Why the employer sets this value.")],
    national_number: Annotated[str | None, typer.Argument(help="One worker.")] = None,
    days: Annotated[
        str | None, typer.Option(help="Days; omit to go back to the computed value.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="CSV with national_number,days[,reason] for many workers.")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who records this.")] = "cli",
) -> None:
    """Register or change training rights for one worker or many (CSV)."""
    from ila.rights.service import SetRight, set_rights

    items: list[SetRight] = []
    if file is not None:
        with file.open(newline="", encoding="utf-8") as fh:
            items = [
                SetRight(
                    row.get("national_number", ""),
                    year,
                    row.get("days") or None,
                    row.get("reason") or reason,
                )
                for row in csv.DictReader(fh)
            ]
    elif national_number is not None:
        items.append(SetRight(national_number, year, days, reason))
    else:
        fail("error give a national number or --file")
    with open_container() as c:
        results = set_rights(c, enterprise_number=employer, items=items, actor=f"cli:{actor}")
    table = Table("item", "status", "version", "error")
    for r in results:
        table.add_row(
            str(r.index),
            r.status,
            str(r.version or ""),
            escape(f"{r.error['code']} {r.error['path']}: {r.error['message']}") if r.error else "",
        )
    out.print(table)
    if any(r.status == "rejected" for r in results):
        raise typer.Exit(1)


@rights_app.command("verify")
def rights_verify(
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
    year: Annotated[int, typer.Option(help="Year of the rights.")],
    national_numbers: Annotated[
        list[str] | None, typer.Argument(help="Workers to verify; none with --all.")
    ] = None,
    all_workers: Annotated[
        bool, typer.Option("--all", help="Every worker with a recorded right.")
    ] = False,
    actor: Annotated[str, typer.Option(help="Who verifies.")] = "cli",
) -> None:
    """Verify the computed rights of a year (a newer version is to verify again)."""
    from ila.rights.review import verify_rights

    if bool(national_numbers) == all_workers:
        fail("error give national numbers or --all (not both)")
    with open_container() as c:
        results, _ = verify_rights(
            c,
            enterprise_number=employer,
            year=year,
            national_numbers=None if all_workers else national_numbers,
            actor=f"cli:{actor}",
        )
    table = Table("item", "status", "version", "error")
    for r in results:
        table.add_row(
            str(r.index),
            r.status,
            str(r.version or ""),
            escape(f"{r.error['code']} {r.error['path']}: {r.error['message']}") if r.error else "",
        )
    out.print(table)
    if any(r.status == "rejected" for r in results):
        raise typer.Exit(1)


@rights_app.command("opt-out")
def rights_opt_out(
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
    year: Annotated[int, typer.Option(help="Year.")],
    reason: Annotated[str, typer.Option(help="Why the employer opts out.")],
    worker: Annotated[
        str | None, typer.Option(help="One worker's national number; omit for the company.")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who records this.")] = "cli",
) -> None:
    """Opt out of the yearly computation for a year (company or one worker); prints its id."""
    from ila.rights.review import opt_out

    with open_container() as c:
        view = opt_out(
            c,
            enterprise_number=employer,
            year=year,
            national_number=worker,
            reason=reason,
            actor=f"cli:{actor}",
        )
    sys.stdout.write(f"{view.id}\n")


@rights_app.command("opt-out-withdraw")
def rights_opt_out_withdraw(
    opt_out_id: Annotated[int, typer.Argument(help="The opt-out to withdraw.")],
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    actor: Annotated[str, typer.Option(help="Who records this.")] = "cli",
) -> None:
    """Withdraw an opt-out: the next computation covers its scope again."""
    from ila.rights.review import withdraw_opt_out

    with open_container() as c:
        withdraw_opt_out(
            c,
            enterprise_number=employer,
            opt_out_id=opt_out_id,
            reason=reason,
            actor=f"cli:{actor}",
        )
    out.print(f"opt-out {opt_out_id} withdrawn")


@api_app.command("openapi")
def api_openapi(
    output: Annotated[
        Path, typer.Option(help="Where to write the document; - for standard output.")
    ] = Path("docs/openapi.json"),
) -> None:
    """Write the OpenAPI 3.1 document of /api/v1 (commit docs/openapi.json with the code)."""
    from ila.api.app import openapi_text

    text = openapi_text()
    if str(output) == "-":
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    out.print(f"OpenAPI document written to [bold]{escape(str(output))}[/bold]")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port; new connections go to the least busy.",
        ),
    ] = 1,
) -> None:
    """Run the web application."""
    import uvicorn

    from ila.web.app import create_app
    from ila.web.serve import settle_heap

    with open_container() as c:
        bind_host, bind_port = host or c.settings.host, port or c.settings.port
        out.print(
            f"ila is running at [bold]http://{bind_host}:{bind_port}/[/bold] (Ctrl+C to stop)"
        )
        if processes > 1:
            c.close()  # each process opens its own connections (ila.web.serve forks them)
            raise typer.Exit(_serve_processes(bind_host, bind_port, processes))
        scheduler = None
        if c.settings.scheduler_embedded:
            from ila.jobs.schedule import start_embedded

            scheduler = start_embedded(c)
        web = create_app(c)
        settle_heap()
        try:
            uvicorn.run(web, host=bind_host, port=bind_port, log_level="warning")
        finally:
            if scheduler is not None:
                thread, stop = scheduler
                stop.set()
                thread.join(timeout=30)


def _serve_processes(host: str, port: int, processes: int) -> int:
    """``ila serve --processes N``: one socket, N forked server processes (``ila.web.serve``);
    the embedded scheduler runs in the first of them only."""
    from ila.bootstrap import bootstrap
    from ila.config import Settings
    from ila.web.app import create_app
    from ila.web.serve import listen, serve_processes, settle_heap

    try:
        listener = listen(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    stops: list[Callable[[], None]] = []

    def application(slot: int) -> object:
        container = bootstrap(Settings())
        if slot == 0 and container.settings.scheduler_embedded:
            from ila.jobs.schedule import start_embedded

            thread, stop = start_embedded(container)

            def stop_scheduler() -> None:
                stop.set()
                thread.join(timeout=30)

            stops.append(stop_scheduler)
        web = create_app(container)
        settle_heap()
        return web

    def stopped(_slot: int) -> None:
        for stop in stops:
            stop()

    return serve_processes(application, listener, processes, on_stop=stopped)
