"""``ila``: administration commands. User errors print one line and exit non-zero."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from ila.bootstrap import Container, bootstrap
from ila.config import Settings
from ila.errors import ConfigurationError, DomainError

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="ila — Individual Learning Account platform."
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
demo_app = typer.Typer(no_args_is_help=True, help="Synthetic demo dataset.")
rights_app = typer.Typer(no_args_is_help=True, help="Training rights.")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(rights_app, name="rights")
clients_app = typer.Typer(no_args_is_help=True, help="API clients (machine authentication).")
mandates_app = typer.Typer(no_args_is_help=True, help="Mandates of service providers.")
api_app = typer.Typer(no_args_is_help=True, help="The REST API contract.")
app.add_typer(clients_app, name="clients")
app.add_typer(mandates_app, name="mandates")
app.add_typer(api_app, name="api")

out = Console()
err = Console(stderr=True)

EXIT_USER_ERROR = 2


@contextmanager
def _container() -> Iterator[Container]:
    """Build the container and turn user-caused failures into one line + exit code 2."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    container: Container | None = None
    try:
        container = bootstrap(Settings())
        yield container
    except DomainError as exc:
        _fail(f"error {exc}")
    except ConfigurationError as exc:
        _fail(f"configuration error: {exc}")
    except (OperationalError, ProgrammingError) as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        _fail(
            f"database error: {first} (is the database reachable and upgraded? "
            "run `ila db upgrade`)"
        )
    finally:
        if container is not None:
            container.close()


def _fail(message: str) -> None:
    err.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USER_ERROR)


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"error [invalid_date] (as_of) {value!r} is not an ISO date or date-time")
        raise  # unreachable: _fail exits
    if len(value) == 10:
        parsed = datetime.combine(parsed.date(), time.max)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    from ila.db.migrate import upgrade

    with _container() as c:
        upgrade(c.engine)
        out.print(f"database at [bold]{c.engine.url.render_as_string()}[/bold] is up to date")


@demo_app.command("load")
def demo_load(seed: Annotated[int, typer.Option(help="Random seed.")] = 2024) -> None:
    """Load the synthetic demo dataset (idempotent)."""
    from ila.demo.generator import load_demo

    with _container() as c:
        report = load_demo(c, seed=seed)
        if report.already_loaded:
            out.print("demo dataset already loaded; nothing added")
        else:
            out.print(
                f"demo dataset loaded: {report.employers} employers, {report.persons} "
                f"persons, {report.employments} employments, {report.trainings} trainings"
            )


@rights_app.command("compute")
def rights_compute(year: Annotated[int, typer.Option(help="Year to compute.")]) -> None:
    """Compute every employer's training rights for a year (new versions only on change)."""
    from ila.rights.service import compute_year

    with (
        _container() as c,
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
        f"({report.created} new, {report.updated} changed, {report.unchanged} unchanged) "
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

    with _container() as c:
        result = explain(c, national_number, employer, year, _as_of(as_of))
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
        _fail("error give a national number or --file")
    with _container() as c:
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


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"error [invalid_date] ({field}) {value!r} is not an ISO date (YYYY-MM-DD)")
        raise  # unreachable: _fail exits


@clients_app.command("add")
def clients_add(
    organisation: Annotated[str, typer.Option(help="Enterprise number of the client's owner.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    public_key: Annotated[
        Path, typer.Option(help="The client's public key: a .pem file or a .jwk (JSON) file.")
    ],
    scope: Annotated[
        list[str], typer.Option(help="A scope the client may ask for (repeat the option).")
    ],
    actor: Annotated[str, typer.Option(help="Who registers the client.")] = "cli",
) -> None:
    """Register an API client; prints its client_id."""
    from ila.access.service import add_client

    try:
        key = public_key.read_bytes()
    except OSError as exc:
        _fail(f"error [unreadable_file] (public_key) {exc.strerror}: {public_key}")
        raise  # unreachable: _fail exits
    with _container() as c:
        client_id = add_client(
            c.uow(),
            organisation=organisation,
            name=name,
            public_key=key,
            key_filename=public_key.name,
            scopes=scope,
            actor=f"cli:{actor}",
        )
    sys.stdout.write(client_id + "\n")


@clients_app.command("list")
def clients_list(
    organisation: Annotated[str | None, typer.Option(help="Only this organisation.")] = None,
) -> None:
    """List API clients, revoked ones included."""
    from ila.access.service import list_clients

    with _container() as c, c.uow() as uow:
        rows = list_clients(uow.session, organisation)
        table = Table()
        for name in ("client_id", "organisation", "status"):
            table.add_column(name, no_wrap=True)
        table.add_column("name", overflow="fold")
        table.add_column("scopes", overflow="fold")
        for client in rows:
            table.add_row(
                client.client_id,
                client.organisation,
                f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active",
                escape(client.name),
                "\n".join(client.scopes.split()),
            )
    out.print(table)


@clients_app.command("revoke")
def clients_revoke(
    client_id: Annotated[str, typer.Argument(help="The client to revoke.")],
    reason: Annotated[str, typer.Option(help="Why.")] = "revoked by an administrator",
    actor: Annotated[str, typer.Option(help="Who revokes.")] = "cli",
) -> None:
    """Revoke an API client: its tokens stop working at once."""
    from ila.access.service import revoke_client

    with _container() as c:
        revoke_client(c.uow(), client_id, actor=f"cli:{actor}", reason=reason)
    out.print(f"client {escape(client_id)} revoked")


@mandates_app.command("grant")
def mandates_grant(
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
    provider: Annotated[str, typer.Option(help="Enterprise number of the provider.")],
    kind: Annotated[
        str, typer.Option(help="social_secretariat, software_vendor or training_provider.")
    ],
    valid_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    valid_to: Annotated[str | None, typer.Option("--to", help="Last day; open-ended.")] = None,
    actor: Annotated[str, typer.Option(help="Who records the mandate.")] = "cli",
) -> None:
    """Record that an employer mandates a service provider; prints the mandate id."""
    from ila.access.service import grant_mandate

    start = _date(valid_from, "valid_from")
    end = _date(valid_to, "valid_to") if valid_to is not None else None
    with _container() as c:
        view = grant_mandate(
            c.uow(),
            employer=employer,
            provider=provider,
            kind=kind,
            valid_from=start,
            valid_to=end,
            actor=f"cli:{actor}",
        )
    sys.stdout.write(f"{view.id}\n")


@mandates_app.command("revoke")
def mandates_revoke(
    mandate_id: Annotated[int, typer.Argument(help="The mandate to revoke.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    actor: Annotated[str, typer.Option(help="Who revokes.")] = "cli",
) -> None:
    """End a mandate now (it stays in the history)."""
    from ila.access.service import revoke_mandate

    with _container() as c:
        revoke_mandate(c.uow(), mandate_id, actor=f"cli:{actor}", reason=reason)
    out.print(f"mandate {mandate_id} revoked")


@mandates_app.command("list")
def mandates_list(
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
) -> None:
    """List an employer's mandates, revoked and expired ones included."""
    from ila.access.service import list_mandates

    with _container() as c, c.uow() as uow:
        views = list_mandates(uow.session, employer)
    table = Table("id", "provider", "kind", "from", "to")
    table.add_column("status", overflow="fold")
    for m in views:
        status = "active" if m.active else "inactive"
        if m.revoked_at:
            status = f"revoked {m.revoked_at:%Y-%m-%d}: {m.revoke_reason}"
        table.add_row(
            str(m.id),
            m.provider,
            m.kind,
            m.valid_from.isoformat(),
            m.valid_to.isoformat() if m.valid_to else "",
            escape(status),
        )
    out.print(table)


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
) -> None:
    """Run the web application."""
    import uvicorn

    from ila.web.app import create_app

    with _container() as c:
        bind_host, bind_port = host or c.settings.host, port or c.settings.port
        out.print(
            f"ila is running at [bold]http://{bind_host}:{bind_port}/[/bold] (Ctrl+C to stop)"
        )
        uvicorn.run(create_app(c), host=bind_host, port=bind_port, log_level="warning")
