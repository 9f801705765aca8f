"""``ila batch``: submit XML batch files, follow them, fetch their result, run workers, and
watch an inbox folder per sender. On SQLite, files are processed in this process; on
PostgreSQL they are queued (procrastinate, ADR 0017) for ``ila batch work`` workers (as many
processes, on as many machines, as you like)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ila.cli.common import err, fail, open_container, out

if TYPE_CHECKING:
    from ila.batch.config import BatchSettings
    from ila.batch.inbox import Sweep
    from ila.bootstrap import Container

batch_app = typer.Typer(no_args_is_help=True, help="XML batch files (docs/batch.md).")


def _inline(database_url: str, wait: bool | None) -> bool:
    return database_url.startswith("sqlite") if wait is None else wait


def _work_now(c: Container, settings: BatchSettings) -> None:
    """Run the waiting batches in this process: in-process on SQLite, a procrastinate worker
    that stops when the queue is empty on PostgreSQL."""
    if c.settings.is_sqlite:
        from ila.batch.service import work

        work(c, settings)
    else:
        from ila.batch.jobs import run_worker

        run_worker(c, settings)


def _show(view: object, as_json: bool) -> None:
    from ila.batch.service import BatchView

    assert isinstance(view, BatchView)  # noqa: S101
    if as_json:
        body = asdict(view) | {"progress": view.progress}
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        return
    total = "?" if view.total is None else str(view.total)
    line = (
        f"{view.ticket}  {view.status}  {view.done}/{total} records: {view.accepted} accepted, "
        f"{view.unchanged} unchanged, {view.rejected} rejected"
    )
    if view.duplicate:
        line += "  (this batch reference was received before: the earlier batch)"
    out.print(escape(line), highlight=False, soft_wrap=True)
    if view.error:
        where = f" line {view.error['line']}" if "line" in view.error else ""
        out.print(
            escape(f"error [{view.error['code']}]{where} {view.error['message']}"),
            highlight=False,
            soft_wrap=True,
        )


@batch_app.command("submit")
def batch_submit(
    file: Annotated[Path, typer.Argument(help="The XML file (docs/xml/).", dir_okay=False)],
    sender: Annotated[str, typer.Option(help="Enterprise number of the sending organisation.")],
    wait: Annotated[
        bool | None,
        typer.Option(
            "--wait/--no-wait",
            help="Process it now, here (default on SQLite), or leave it to the workers.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Submit a file; prints its ticket and status. The sender may send records for its own
    employer and for the employers that gave it a mandate; other records are rejected."""
    from ila.batch.config import BatchSettings
    from ila.batch.service import BATCH_SCOPES, Sender, status, submit

    try:
        source = file.open("rb")
    except OSError as exc:
        fail(f"error [unreadable_file] (file) {exc.strerror}: {file}")
        raise  # unreachable: fail exits
    settings = BatchSettings()
    with source, open_container() as c:
        who = Sender(sender.strip(), f"cli:{sender.strip()}", BATCH_SCOPES, "cli")
        view = submit(c, settings, source, file_name=file.name, sender=who)
        if _inline(c.settings.database_url, wait) and not view.final and not view.duplicate:
            _work_now(c, settings)
            view = status(c, view.ticket)
        _show(view, as_json)


@batch_app.command("status")
def batch_status(
    ticket: Annotated[str, typer.Argument(help="The ticket given at submission.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Status of a batch: received, validating, processing, done or failed, with counts."""
    from ila.batch.service import status

    with open_container() as c:
        _show(status(c, ticket), as_json)


@batch_app.command("result")
def batch_result(
    ticket: Annotated[str, typer.Argument(help="The ticket given at submission.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
) -> None:
    """The result document (docs/xml/ila-batch-result-v1.xsd) of a finished batch."""
    from ila.batch.result import write_result
    from ila.batch.service import find_batch

    with open_container() as c, c.uow() as uow:
        batch = find_batch(uow.session, ticket)
        if output is None:
            write_result(uow.session, batch, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            with output.open("wb") as target:
                write_result(uow.session, batch, target)
            err.print(f"result written to {escape(str(output))}", highlight=False, soft_wrap=True)


@batch_app.command("work")
def batch_work(
    forever: Annotated[
        bool, typer.Option(help="Keep waiting for new batches instead of stopping when idle.")
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks at the queue.")] = 2.0,
    max_batches: Annotated[int | None, typer.Option(help="Stop after this many.")] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            help="Batches this worker runs at once, in threads (PostgreSQL); for CPU-bound "
            "files prefer several worker processes.",
        ),
    ] = 1,
) -> None:
    """Process queued batches (a worker). On PostgreSQL a procrastinate worker: start several,
    on any machines, to work in parallel; the batch of a worker that dies is taken over once
    its lease (ILA_BATCH_LEASE_SECONDS) expires. On SQLite, batches run in this process."""
    from ila.batch.config import BatchSettings
    from ila.batch.service import status, work

    settings = BatchSettings()
    with open_container() as c:
        if not c.settings.is_sqlite:
            from ila.batch.jobs import run_worker

            run_worker(
                c,
                settings,
                forever=forever,
                concurrency=concurrency,
                poll=poll,
                max_batches=max_batches,
                on_batch=lambda ticket: _show(status(c, ticket), as_json=False),
            )
            return
        count = 0
        while True:
            tickets = work(c, settings, max_batches=None if max_batches is None else 1)
            for ticket in tickets:
                _show(status(c, ticket), as_json=False)
            count += len(tickets)
            if (max_batches is not None and count >= max_batches) or (not tickets and not forever):
                break
            if not tickets:
                time.sleep(poll)


@batch_app.command("watch")
def batch_watch(
    inbox: Annotated[
        Path, typer.Argument(help="The inbox: one folder per sender (its enterprise number).")
    ],
    once: Annotated[bool, typer.Option(help="One sweep, then stop.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between sweeps.")] = 5.0,
    wait: Annotated[
        bool | None,
        typer.Option(
            "--work/--no-work",
            help="Process the files here too (default on SQLite; a queue worker on PostgreSQL).",
        ),
    ] = None,
) -> None:
    """Watch an inbox: submit the *.xml files dropped in <inbox>/<sender>/, move them to
    received/ (or refused/ with the reason), write each result to results/."""
    from sqlalchemy.exc import SQLAlchemyError

    from ila.batch.config import BatchSettings
    from ila.batch.inbox import Sweep, submit_new, write_results

    if not inbox.is_dir():
        fail(f"error [not_a_directory] (inbox) {inbox} is not a directory")
    settings = BatchSettings()
    with open_container() as c:
        while True:
            sweep = Sweep()
            try:
                submit_new(c, settings, inbox, sweep)
                if _inline(c.settings.database_url, wait):
                    _work_now(c, settings)
                write_results(c, inbox, sweep)
            except (OSError, SQLAlchemyError) as exc:
                if once:
                    raise
                # a full disk, a database restarting: the next sweep goes on where this one
                # stopped (files not yet moved, markers not yet removed)
                err.print(
                    f"sweep failed: {type(exc).__name__}: {escape(str(exc))}; "
                    f"next sweep in {poll:g} s",
                    highlight=False,
                    soft_wrap=True,
                )
            _report(sweep)
            if once:
                break
            time.sleep(poll)


def _report(sweep: Sweep) -> None:
    for ticket in sweep.submitted:
        out.print(f"submitted {ticket}", highlight=False, soft_wrap=True)
    for name in sweep.refused:
        out.print(f"refused {escape(name)}", highlight=False, soft_wrap=True)
    for path in sweep.results:
        out.print(f"result {escape(str(path))}", highlight=False, soft_wrap=True)
    for marker in sweep.dropped:
        out.print(
            f"dropped results/{escape(marker)}: no such batch of this sender",
            highlight=False,
            soft_wrap=True,
        )
