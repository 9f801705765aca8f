"""``ila jobs``: the scheduled jobs (webhook delivery, audit checkpoints, retention)."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.markup import escape

from ila.cli.common import fail, open_container, out
from ila.errors import DomainError

jobs_app = typer.Typer(
    no_args_is_help=True,
    help="Scheduled jobs: webhook delivery, audit checkpoints, retention (docs/operations.md).",
)


@jobs_app.command("list")
def jobs_list() -> None:
    """Every job: its period, next run and last outcome."""
    from ila.jobs.schedule import JOBS, job_rows

    with open_container() as c:
        rows = {r.name: r for r in job_rows(c)}
    for job in JOBS:
        row = rows.get(job.name)
        if row is None:
            out.print(f"{job.name}  every {job.every}  next: at the first run", soft_wrap=True)
            continue
        last = (
            f"last: {row.last_outcome} — {escape(row.last_summary or '')}"
            if row.last_outcome
            else "last: –"
        )
        out.print(
            f"{job.name}  every {job.every}  next: {row.next_run_at.isoformat(timespec='seconds')}"
            f"  runs {row.runs}, failures {row.failures}  {last}",
            soft_wrap=True,
        )


@jobs_app.command("run")
def jobs_run(
    once: Annotated[
        bool, typer.Option("--once", help="Run what is due now, then exit (for cron).")
    ] = False,
    job: Annotated[
        list[str] | None, typer.Option("--job", help="Only this job (repeatable).")
    ] = None,
) -> None:
    """Run the scheduler: every due job, claimed so that other schedulers skip it. Without
    --once it runs until interrupted (``ila serve`` embeds one unless ILA_SCHEDULER_EMBEDDED
    is false)."""
    from ila.jobs.schedule import run_due, run_forever, select_jobs

    try:
        selected = select_jobs(job or [])
    except DomainError as exc:
        fail(f"error [{exc.code}] ({exc.field}) {exc}")
        raise  # pragma: no cover - fail() exits
    with open_container() as c:
        if once:
            runs = run_due(c, jobs=selected)
            for run in runs:
                out.print(f"{run.name}: {run.outcome} — {escape(run.summary)}")
            if not runs:
                out.print("nothing due")
            if any(r.outcome != "ok" for r in runs):
                raise typer.Exit(1)
            return
        out.print("scheduler running (Ctrl+C to stop)")
        stop = threading.Event()
        try:
            run_forever(c, stop, jobs=selected)
        except KeyboardInterrupt:
            stop.set()
