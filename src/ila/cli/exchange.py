"""``ila authorisations`` (versioned authorisations of the exchanges) and ``ila directory``
(the person directory of the institutions)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ila.cli.common import fail, open_container, out, parse_date

authorisations_app = typer.Typer(
    no_args_is_help=True, help="Authorisations of the data exchanges (versioned data)."
)
directory_app = typer.Typer(no_args_is_help=True, help="The person directory of institutions.")


@authorisations_app.command("load")
def authorisations_load(
    file: Annotated[
        Path | None,
        typer.Option(help="A TOML file of authorisations (default: the one shipped)."),
    ] = None,
    actor: Annotated[str, typer.Option(help="Who loads them.")] = "cli",
) -> None:
    """Load the authorisations (idempotent; a changed one becomes a new version)."""
    from ila.exchange.service import load_authorisations

    text = None
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"error [unreadable_file] (file) {exc.strerror}: {file}")
    with open_container() as c:
        results = load_authorisations(c.uow(), actor=f"cli:{actor}", text=text)
    for r in results:
        out.print(f"{escape(r.id)} v{r.version}: {r.status.replace('_', ' ')}")


@authorisations_app.command("list")
def authorisations_list(
    history: Annotated[bool, typer.Option(help="Every version, superseded ones too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the stored authorisations (current versions)."""
    from ila.exchange.service import list_authorisations

    with open_container() as c:
        rows = list_authorisations(c, history=history)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str, ensure_ascii=False) + "\n")
        return
    for row in rows:
        status = (
            f"superseded {row['superseded_at']:%Y-%m-%d}" if row["superseded_at"] else "current"
        )
        out.print(
            f"[bold]{escape(row['id'])}[/bold] v{row['version']} ({status}) — "
            f"{row['operation']}, valid {row['valid_from']} → {row['valid_to'] or 'open'}"
        )
        for label, value in (
            ("legal reference", row["legal_reference"]),
            ("legal basis", row["legal_basis"]),
            ("purpose", row["purpose"]),
            ("providing", ", ".join(p["name"] for p in row["providing"])),
            ("receiving", ", ".join(p["name"] for p in row["receiving"])),
            ("items", ", ".join(row["items"])),
            ("roles", ", ".join(row["roles"])),
            ("capacities", ", ".join(row["capacities"]) or "— (the person's own data)"),
            ("retention", ", ".join(f"{k} {v}" for k, v in row["retention"].items())),
        ):
            out.print(f"  {label}: {escape(value)}", highlight=False)


@directory_app.command("register")
def directory_register(
    institution: Annotated[str, typer.Option(help="Enterprise number of the institution.")],
    national_number: Annotated[str, typer.Argument(help="NISS or BIS number of the person.")],
    capacity: Annotated[str, typer.Option(help="Capacity code (e.g. jobseeker_guidance).")],
    valid_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    valid_to: Annotated[str | None, typer.Option("--to", help="Last day; omit if open.")] = None,
    actor: Annotated[str, typer.Option(help="Who registers.")] = "cli",
) -> None:
    """Register a person in an institution's directory (an already covered period is
    unchanged; an overlapping one is refused)."""
    from ila.exchange.directory import register_entry

    start = parse_date(valid_from, "valid_from")
    end = parse_date(valid_to, "valid_to") if valid_to else None
    with open_container() as c:
        entry, created = register_entry(
            c.uow(),
            institution=institution,
            national_number=national_number,
            capacity=capacity,
            valid_from=start,
            valid_to=end,
            actor=f"cli:{actor}",
        )
    what = "registered" if created else "already covered by"
    out.print(
        f"{what} entry {entry.id}: {entry.national_number} {entry.capacity} "
        f"{entry.valid_from} → {entry.valid_to or 'open'}"
    )


@directory_app.command("unregister")
def directory_unregister(
    institution: Annotated[str, typer.Option(help="Enterprise number of the institution.")],
    entry_id: Annotated[int, typer.Argument(help="Id of the entry.")],
    end_date: Annotated[
        str | None, typer.Option("--end", help="Last day covered (default: today).")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who unregisters.")] = "cli",
) -> None:
    """End an entry (kept, with its end date)."""
    from ila.exchange.directory import unregister_entry

    end = parse_date(end_date, "end_date") if end_date else None
    with open_container() as c:
        entry = unregister_entry(
            c.uow(), institution=institution, entry_id=entry_id, end_date=end, actor=f"cli:{actor}"
        )
    out.print(f"entry {entry.id} ends on {entry.valid_to}")


@directory_app.command("list")
def directory_list(
    institution: Annotated[str, typer.Option(help="Enterprise number of the institution.")],
    national_number: Annotated[str | None, typer.Option(help="Only this person.")] = None,
    active_on: Annotated[str | None, typer.Option(help="Only entries covering this day.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 500,
) -> None:
    """List an institution's directory entries."""
    from ila.exchange.directory import list_entries

    day = parse_date(active_on, "active_on") if active_on else None
    with open_container() as c:
        page = list_entries(
            c, institution=institution, national_number=national_number, active_on=day, limit=limit
        )
    table = Table()
    for name in ("id", "national_number", "capacity", "from", "to", "status"):
        table.add_column(name, no_wrap=True)
    for e in page.items:
        table.add_row(
            str(e.id),
            e.national_number,
            e.capacity,
            str(e.valid_from),
            str(e.valid_to or "open"),
            f"unregistered {e.unregistered_at:%Y-%m-%d}" if e.unregistered_at else "active",
        )
    out.print(table)
    if page.next_cursor:
        out.print(f"more entries: raise --limit (shown {len(page.items)})")
