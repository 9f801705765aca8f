"""``ila audit``, ``ila retention`` and ``ila webhooks``: the tamper-evident trail, the
retention job and the delivery of notifications to institutions."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ila.cli.common import err, fail, open_container, out

audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail.")
retention_app = typer.Typer(no_args_is_help=True, help="Destroy what is due, with proof.")
webhooks_app = typer.Typer(no_args_is_help=True, help="Notifications to institutions.")

EXIT_TAMPERED = 1


def _moment(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"error [invalid_date] ({field}) {value!r} is not an ISO date or date-time")
        raise  # unreachable: fail exits
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- audit -----------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    public_key: Annotated[
        list[Path] | None,
        typer.Option(help="Another PEM key whose checkpoints to trust (repeat the option)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Walk the whole chain and its signed checkpoints; exit 1 naming the first bad entry."""
    from ila.audit.checkpoints import load_public_key, signing_key, verify_trail

    with open_container() as c, c.uow() as uow:
        keys = [signing_key(c.settings).public_key()]
        keys += [load_public_key(p) for p in public_key or []]
        report = verify_trail(uow.session, keys)
    first = report.first_problem
    if as_json:
        body = {
            "intact": report.intact,
            "entries": report.entries,
            "last_seq": report.last_seq,
            "checkpoints": report.checkpoints,
            "first_problem": None if first is None else first.describe(),
            "problems": [
                {"seq": p.seq, "id": p.entry_id, "kind": p.kind, "message": p.message}
                for p in sorted(report.problems, key=lambda p: p.seq)
            ],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    elif first is None:
        out.print(
            f"audit chain intact: {report.entries} entries (seq 1–{report.last_seq}), "
            f"{report.checkpoints} signed checkpoints verified"
        )
    else:
        err.print(
            f"[red]audit chain BROKEN — first bad {escape(first.describe())}[/red]",
            highlight=False,
            soft_wrap=True,
        )
        if len(report.problems) > 1:
            err.print(f"{len(report.problems) - 1} further problem(s); --json lists them")
    if first is not None:
        raise typer.Exit(EXIT_TAMPERED)


@audit_app.command("checkpoint")
def audit_checkpoint(
    if_due: Annotated[
        bool,
        typer.Option(
            "--if-due", help="Only after ILA_AUDIT_CHECKPOINT_EVERY new entries (for a timer)."
        ),
    ] = False,
    actor: Annotated[str, typer.Option(help="Who signs.")] = "cli",
) -> None:
    """Sign the current end of the chain (a checkpoint row); prints it for safekeeping."""
    from ila.audit.checkpoints import create_checkpoint, signing_key

    with open_container() as c, c.uow() as uow:
        result = create_checkpoint(
            uow.session,
            signing_key(c.settings),
            actor=f"cli:{actor}",
            min_entries=c.settings.audit_checkpoint_every if if_due else 1,
        )
        uow.commit()
    if not result.created:
        out.print(f"no checkpoint: {result.since_last} new entries since the last one")
        return
    sys.stdout.write(
        json.dumps(
            {
                "seq": result.seq,
                "entry_hash": result.entry_hash,
                "key_id": result.key_id,
                "signature": result.signature,
            }
        )
        + "\n"
    )


@audit_app.command("keygen")
def audit_keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the PEM private key (0600).")],
) -> None:
    """Create an Ed25519 checkpoint key (set ILA_AUDIT_SIGNING_KEY_FILE to it); prints the
    public key to hand to auditors."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        fail(f"error [exists] (path) {path} exists; not overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sys.stdout.write(public.decode())


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the public key of the configured checkpoint key (PEM)."""
    from cryptography.hazmat.primitives import serialization

    from ila.audit.checkpoints import signing_key

    with open_container() as c:
        public = signing_key(c.settings).public_key()
    sys.stdout.write(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
    )


# --- retention -------------------------------------------------------------------------------


@retention_app.command("rules")
def retention_rules() -> None:
    """List the registered retention rules."""
    from ila.audit.retention import default_registry

    table = Table()
    for name in ("rule", "category"):
        table.add_column(name, no_wrap=True)
    for name in ("destroys", "kept", "source"):
        table.add_column(name, overflow="fold")
    for rule in default_registry().rules():
        table.add_row(
            rule.name,
            rule.category,
            escape(rule.destroys),
            escape(rule.keep_text),
            escape(rule.legal_source),
        )
    out.print(table)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what is due; destroy nothing.")
    ] = False,
    at: Annotated[
        str | None, typer.Option(help="Run as of this date or date-time (default: now).")
    ] = None,
    rule: Annotated[list[str] | None, typer.Option(help="Only this rule (repeat).")] = None,
) -> None:
    """Destroy what is due under every rule; each destruction writes a proof entry."""
    from ila.audit.retention import default_registry, run_retention

    with open_container() as c:
        report = run_retention(
            c, default_registry(), at=_moment(at, "at"), dry_run=dry_run, only=rule or ()
        )
    for o in report.outcomes:
        if not o.applicable:
            out.print(f"{o.rule}: not yet applicable", highlight=False)
            continue
        proof = "dry run" if dry_run else (f"proof seq {o.proof_seq}" if o.proof_seq else "")
        out.print(
            f"{o.rule}: {o.count} rows before {o.cutoff:%Y-%m-%dT%H:%M:%S}Z, "
            f"digest {o.digest[:16]}… {proof}".rstrip(),
            highlight=False,
            soft_wrap=True,
        )
    verb = "would destroy" if dry_run else "destroyed"
    out.print(f"{verb} {sum(o.count for o in report.outcomes)} rows")


# --- webhooks --------------------------------------------------------------------------------


@webhooks_app.command("subscribe")
def webhooks_subscribe(
    organisation: Annotated[str, typer.Option(help="Enterprise number of the institution.")],
    url: Annotated[str, typer.Option(help="Where to POST notifications.")],
    secret: Annotated[
        str | None, typer.Option(help="A whsec_ secret; default: a new random one.")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who registers it.")] = "cli",
) -> None:
    """Register a webhook endpoint; prints its id and signing secret (shown once)."""
    from ila.config import Environment
    from ila.exchange.webhooks import subscribe

    with open_container() as c, c.uow() as uow:
        sub = subscribe(
            uow.session,
            organisation=organisation,
            url=url,
            secret=secret,
            actor=f"cli:{actor}",
            https_only=c.settings.environment is Environment.PRODUCTION,
        )
        uow.commit()
        sys.stdout.write(f"{sub.id} {sub.secret}\n")


@webhooks_app.command("unsubscribe")
def webhooks_unsubscribe(
    subscription_id: Annotated[int, typer.Argument(help="The subscription to disable.")],
    actor: Annotated[str, typer.Option(help="Who disables it.")] = "cli",
) -> None:
    """Disable a subscription; its pending deliveries are marked failed."""
    from ila.exchange.webhooks import unsubscribe

    with open_container() as c, c.uow() as uow:
        unsubscribe(uow.session, subscription_id, actor=f"cli:{actor}")
        uow.commit()
    out.print(f"subscription {subscription_id} disabled")


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List subscriptions (secrets are not shown)."""
    from sqlalchemy import select

    from ila.exchange.webhooks import WebhookSubscription

    table = Table("id", "organisation", "url", "status")
    with open_container() as c, c.uow() as uow:
        for s in uow.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)):
            status = f"disabled {s.disabled_at:%Y-%m-%d}" if s.disabled_at else "active"
            table.add_row(str(s.id), s.organisation, escape(s.url), status)
    out.print(table)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    status: Annotated[
        str | None, typer.Option(help="pending, delivered or failed (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The delivery state: status, attempts, next attempt, last error."""
    from ila.exchange.webhooks import delivery_rows

    table = Table()
    for name in ("id", "event", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("type", "attempts", "next", "last error"):
        table.add_column(name, overflow="fold")
    with open_container() as c, c.uow() as uow:
        rows = delivery_rows(uow.session, status=status, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, indent=2) + "\n")
        return
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["event_id"],
            r["status"],
            r["type"],
            str(r["attempts"]),
            f"{r['next_attempt_at']:%Y-%m-%d %H:%M:%S}" if r["next_attempt_at"] else "",
            escape(r["last_error"] or ""),
        )
    out.print(table)


@webhooks_app.command("retry")
def webhooks_retry(
    delivery_id: Annotated[int, typer.Argument(help="A failed delivery.")],
) -> None:
    """Put a failed delivery back in the queue."""
    from ila.exchange.webhooks import retry

    with open_container() as c, c.uow() as uow:
        retry(uow.session, delivery_id)
        uow.commit()
    out.print(f"delivery {delivery_id} queued again")


@webhooks_app.command("deliver")
def webhooks_deliver(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes.")] = 2.0,
) -> None:
    """Dispatch new outbox events and deliver what is due, signed (Standard Webhooks)."""
    from ila.exchange.webhooks import load_resolver, run_once

    with open_container() as c:
        path = c.settings.webhook_resolver
        resolver = load_resolver(path) if path else None
        if resolver is None:
            err.print(
                "[yellow]ILA_WEBHOOK_RESOLVER is not set: new events wait in the outbox[/yellow]"
            )
        while True:
            report = run_once(c, resolver)
            if once or report.attempted or report.dispatched:
                out.print(
                    f"{report.dispatched} dispatched, {report.attempted} attempted, "
                    f"{report.delivered} delivered, {report.retrying} to retry, "
                    f"{report.failed} failed, {report.waiting} waiting"
                )
            for line in report.errors:
                err.print(f"[yellow]{escape(line)}[/yellow]")
            if once:
                break
            time.sleep(interval)
