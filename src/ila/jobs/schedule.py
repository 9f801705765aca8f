"""The periodic jobs and the scheduler that runs them.

:data:`JOBS` are the platform's periodic work: deliver webhooks (every 10 s), sign an audit
checkpoint when enough entries were appended (every minute), apply the retention rules with
their proofs (daily). :func:`run_due` runs, once, every job whose time has come; each run is
**claimed** first with a conditional ``UPDATE`` of its ``scheduled_jobs`` row (next run due, no
live lease), so several schedulers — the one embedded in each ``ila serve``, or
``ila jobs run`` processes on other machines — never run the same job twice at once, and a
scheduler that dies mid-run leaves the job to another once its lease expires. A job that fails
is recorded (outcome, message, count of failures) and tried again after :data:`RETRY`; the
other jobs and the server go on.

The jobs themselves are idempotent (what they do is computed from the database at the moment
they run), so a run repeated after a lost lease changes nothing twice."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ila.audit.checkpoints import create_checkpoint, signing_key
from ila.audit.retention import default_registry, run_retention
from ila.db.base import utcnow
from ila.errors import ValidationError
from ila.exchange.webhooks import load_resolver, run_once
from ila.jobs.models import ScheduledJob

if TYPE_CHECKING:
    from ila.bootstrap import Container

log = logging.getLogger(__name__)

LEASE = timedelta(hours=1)
"""How long a claimed run may last before another scheduler may take the job over."""
RETRY = timedelta(minutes=5)
"""A failed job is tried again after this (or its own period, if shorter)."""


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: timedelta
    description: str
    run: Callable[[Container], str]  # does the work; returns a one-line summary


@dataclass(frozen=True, slots=True)
class JobRun:
    name: str
    outcome: str  # ok, failed
    summary: str


def _webhooks(container: Container) -> str:
    path = container.settings.webhook_resolver
    report = run_once(container, load_resolver(path) if path else None)
    return (
        f"dispatched {report.dispatched}, attempted {report.attempted}, delivered "
        f"{report.delivered}, retrying {report.retrying}, failed {report.failed}"
    )


def _checkpoint(container: Container) -> str:
    with container.uow() as uow:
        result = create_checkpoint(
            uow.session,
            signing_key(container.settings),
            actor="system:scheduler",
            min_entries=container.settings.audit_checkpoint_every,
        )
        uow.commit()
    if result.created:
        return f"checkpoint signed at seq {result.seq}"
    return f"no checkpoint: {result.since_last} new entries since the last one"


def _retention(container: Container) -> str:
    report = run_retention(container, default_registry(), actor="system:retention")
    done = [f"{o.rule} {o.count}" for o in report.outcomes if o.count]
    return f"destroyed {report.destroyed}" + (f" ({', '.join(done)})" if done else "")


JOBS: tuple[Job, ...] = (
    Job(
        "webhooks.deliver",
        timedelta(seconds=10),
        "dispatch new outbox events to the subscribed institutions and deliver what is due",
        _webhooks,
    ),
    Job(
        "audit.checkpoint",
        timedelta(minutes=1),
        "sign the end of the audit chain after ILA_AUDIT_CHECKPOINT_EVERY new entries",
        _checkpoint,
    ),
    Job(
        "retention.run",
        timedelta(days=1),
        "destroy what the retention rules say is due, with a proof entry per rule",
        _retention,
    ),
)


def worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _ensure_rows(container: Container, jobs: Sequence[Job], now: datetime) -> None:
    """A row per job, due at once the first time a scheduler sees it."""
    with container.uow() as uow:
        known = set(uow.session.scalars(select(ScheduledJob.name)))
    for job in jobs:
        if job.name in known:
            continue
        try:
            with container.uow() as uow:
                uow.session.add(ScheduledJob(name=job.name, next_run_at=now, runs=0, failures=0))
                uow.commit()
        except IntegrityError:  # another scheduler created it first
            pass


def _claim(container: Container, job: Job, worker: str, now: datetime) -> bool:
    with container.uow() as uow:
        result = uow.session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.name == job.name,
                ScheduledJob.next_run_at <= now,
                or_(ScheduledJob.lease_until.is_(None), ScheduledJob.lease_until < now),
            )
            .values(running_by=worker, lease_until=now + LEASE, last_started_at=now)
        )
        uow.commit()
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def _finish(container: Container, job: Job, worker: str, started: datetime, run: JobRun) -> None:
    ok = run.outcome == "ok"
    finished = utcnow()
    with container.uow() as uow:
        uow.session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.name == job.name, ScheduledJob.running_by == worker)
            .values(
                running_by=None,
                lease_until=None,
                last_finished_at=finished,
                last_outcome=run.outcome,
                last_summary=run.summary[:500],
                runs=ScheduledJob.runs + 1,
                failures=ScheduledJob.failures + (0 if ok else 1),
                next_run_at=started + job.every if ok else started + min(job.every, RETRY),
            )
        )
        uow.commit()


def select_jobs(names: Sequence[str], jobs: Sequence[Job] = JOBS) -> list[Job]:
    known = {j.name: j for j in jobs}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValidationError(
            f"no scheduled job {unknown[0]!r} (jobs: {', '.join(known)})",
            field="job",
            code="unknown_job",
        )
    return [known[n] for n in names] if names else list(jobs)


def run_due(
    container: Container,
    *,
    jobs: Sequence[Job] = JOBS,
    worker: str | None = None,
    now: datetime | None = None,
) -> list[JobRun]:
    """Run, once, each of ``jobs`` that is due at ``now`` and not running elsewhere; the runs
    made here (a job another scheduler holds, or not due, is skipped)."""
    moment = now or utcnow()
    name = worker or worker_name()
    _ensure_rows(container, jobs, moment)
    runs: list[JobRun] = []
    for job in jobs:
        if not _claim(container, job, name, moment):
            continue
        try:
            run = JobRun(job.name, "ok", job.run(container))
        except Exception as exc:  # a failing job is recorded; the others go on
            log.exception("scheduled job %s failed", job.name)
            run = JobRun(job.name, "failed", f"{type(exc).__name__}: {exc}")
        _finish(container, job, name, moment, run)
        runs.append(run)
    return runs


def run_forever(
    container: Container,
    stop: threading.Event,
    *,
    jobs: Sequence[Job] = JOBS,
    tick: float = 1.0,
) -> None:
    """Run what is due every ``tick`` seconds until ``stop`` is set."""
    name = worker_name()
    while not stop.is_set():
        try:
            run_due(container, jobs=jobs, worker=name)
        except Exception:  # the database may be away for a moment
            log.exception("scheduler round failed")
        stop.wait(tick)


def start_embedded(container: Container) -> tuple[threading.Thread, threading.Event]:
    """The scheduler as a daemon thread of the server process (``ila serve``)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(container, stop), name="ila-scheduler", daemon=True
    )
    thread.start()
    return thread, stop


def job_rows(container: Container) -> list[ScheduledJob]:
    with container.uow() as uow:
        rows = list(uow.session.scalars(select(ScheduledJob).order_by(ScheduledJob.name)))
        uow.session.expunge_all()
        return rows
