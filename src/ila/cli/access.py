"""``ila clients`` and ``ila mandates``: API clients and the mandates of service providers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ila.cli.common import fail, open_container, out, parse_date

clients_app = typer.Typer(no_args_is_help=True, help="API clients (machine authentication).")
mandates_app = typer.Typer(no_args_is_help=True, help="Mandates of service providers.")


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
        fail(f"error [unreadable_file] (public_key) {exc.strerror}: {public_key}")
        raise  # unreachable: fail exits
    with open_container() as c:
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

    with open_container() as c, c.uow() as uow:
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

    with open_container() as c:
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

    start = parse_date(valid_from, "valid_from")
    end = parse_date(valid_to, "valid_to") if valid_to is not None else None
    with open_container() as c:
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

    with open_container() as c:
        revoke_mandate(c.uow(), mandate_id, actor=f"cli:{actor}", reason=reason)
    out.print(f"mandate {mandate_id} revoked")


@mandates_app.command("list")
def mandates_list(
    employer: Annotated[str, typer.Option(help="Enterprise number of the employer.")],
) -> None:
    """List an employer's mandates, revoked and expired ones included."""
    from ila.access.service import list_mandates

    with open_container() as c, c.uow() as uow:
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


staff_app = typer.Typer(
    no_args_is_help=True,
    help="Web staff: counsellors of regional services, providers' employees, the operator.",
)


@staff_app.command("grant")
def staff_grant(
    national_number: Annotated[str, typer.Argument(help="NISS or BIS number of the person.")],
    kind: Annotated[str, typer.Option(help="counsellor, provider or operator.")],
    organisation: Annotated[str, typer.Option(help="Enterprise number they work for.")],
    function: Annotated[
        str | None,
        typer.Option(help="Their function there (a counsellor's, e.g. guidance_counsellor)."),
    ] = None,
    actor: Annotated[str, typer.Option(help="Who grants.")] = "cli",
) -> None:
    """Record what a person logging in with OpenID Connect works as (replaces any earlier
    assignment; audited)."""
    from ila.web.staff import grant_staff

    with open_container() as c:
        staff_id = grant_staff(
            c.uow(),
            national_number=national_number,
            kind=kind,
            organisation=organisation,
            function=function,
            actor=f"cli:{actor}",
        )
    out.print(f"staff assignment {staff_id}: {escape(national_number)} is {kind} of {organisation}")


@staff_app.command("revoke")
def staff_revoke(
    staff_id: Annotated[int, typer.Argument(help="The assignment to end.")],
    actor: Annotated[str, typer.Option(help="Who revokes.")] = "cli",
) -> None:
    """End a staff assignment now (it stays in the history)."""
    from ila.web.staff import revoke_staff

    with open_container() as c:
        revoke_staff(c.uow(), staff_id, actor=f"cli:{actor}")
    out.print(f"staff assignment {staff_id} revoked")


@staff_app.command("list")
def staff_list() -> None:
    """The active staff assignments."""
    from ila.web.staff import list_staff

    with open_container() as c, c.uow() as uow:
        rows = list_staff(uow.session)
        lines = [
            f"{r.id}  {r.national_number}  {r.kind}  {r.organisation}  {r.function or '–'}  "
            f"since {r.granted_at.date().isoformat()}"
            for r in rows
        ]
    for line in lines:
        out.print(line, soft_wrap=True)
    if not lines:
        out.print("no staff assignment")
