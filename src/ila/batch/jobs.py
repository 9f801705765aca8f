"""The job queue of the batch channel: procrastinate on PostgreSQL (ADR 0017).

- :func:`defer` queues the job ``ila.batch.process`` of a batch **in the transaction that
  inserts the batch row** (procrastinate's external-connection defer on the session's psycopg
  connection): the batch and its job commit or roll back together. A queueing lock per batch
  keeps a batch from being queued twice.
- :func:`run_worker` runs a procrastinate worker (``ila batch work`` on PostgreSQL; start as
  many processes, on as many machines, as you like). The job is :func:`ila.batch.service.
  run_batch`: claim with a lease, then process from the checkpoint.
- Crash safety: a worker that dies (``SIGKILL``) stops sending procrastinate heartbeats. The
  sweeper — at every worker start, then every lease period with ``--forever`` — retries the
  jobs procrastinate reports as stalled (``JobManager.get_stalled_jobs``: ``doing`` jobs whose
  worker's heartbeat is older than ``ILA_BATCH_LEASE_SECONDS``) and queues a job for any
  unfinished batch that has none (``todo`` or ``doing``). Exactly-once stays in our tables.
- SQLite has no queue: the same claim and processing run in-process
  (:func:`ila.batch.service.work`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ila.batch.config import BatchSettings
from ila.batch.models import Batch
from ila.batch.service import BatchBusy, release, run_batch, unfinished, worker_name
from ila.bootstrap import Container
from ila.db.base import utcnow

TASK = "ila.batch.process"
QUEUE = "ila.batch"


def queueing_lock(batch_id: int) -> str:
    return f"ila.batch:{batch_id}"


class Requeue(Exception):
    """Give the job back to the queue at once (this worker is stopping)."""


DATABASE_RETRIES = 5


class _Retry(BaseRetryStrategy):
    """A batch held by a live worker is tried again when that worker's lease would run out; a
    worker stopping gives its next job back; a database error (two batches writing the same
    right at once, a lost connection) is retried after 2, 4, 8… seconds, five times. Other
    errors fail the job (the batch keeps its checkpoint; the sweeper queues it again)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, BatchBusy):
            return RetryDecision(retry_at=utcnow() + timedelta(seconds=exception.wait))
        if isinstance(exception, Requeue):
            return RetryDecision(retry_at=utcnow())
        if isinstance(exception, DBAPIError) and job.attempts < DATABASE_RETRIES:
            return RetryDecision(retry_at=utcnow() + timedelta(seconds=2 ** (job.attempts + 1)))
        return None


@dataclass
class _Worker:
    """What a job of this worker process needs (procrastinate's ``additional_context``)."""

    container: Container
    settings: BatchSettings
    name: str
    max_batches: int | None = None
    on_batch: Callable[[str], None] | None = None
    tickets: list[str] = field(default_factory=list)
    reached: Callable[[], object] | None = None

    def run(self, batch_id: int) -> str:
        if self.max_batches is not None and len(self.tickets) >= self.max_batches:
            raise Requeue(batch_id)
        try:
            status = run_batch(self.container, self.settings, batch_id, self.name)
        except BatchBusy:
            raise
        except Exception:
            with contextlib.suppress(Exception):  # the error that matters is the first one
                release(self.container, batch_id, self.name)
            raise
        with self.container.uow() as uow:
            ticket = uow.session.get_one(Batch, batch_id).ticket
        self.tickets.append(ticket)
        if self.on_batch is not None:
            self.on_batch(ticket)
        limit = self.max_batches
        if limit is not None and len(self.tickets) >= limit and self.reached is not None:
            self.reached()
        return status


def process_batch(context: JobContext, batch_id: int) -> str:
    """The job ``ila.batch.process``: run the batch in the worker that fetched it."""
    worker: _Worker = context.additional_context["ila"]
    return worker.run(batch_id)


def make_app(conninfo: str | None = None) -> App:
    """A procrastinate app with the batch task; without ``conninfo`` it can only defer on a
    connection it is given (:func:`defer`)."""
    connector = PsycopgConnector() if conninfo is None else PsycopgConnector(conninfo=conninfo)
    app = App(connector=connector)
    app.task(name=TASK, queue=QUEUE, pass_context=True, retry=_Retry())(process_batch)
    return app


_DEFERRER = make_app()


def defer(session: Session, batch_id: int) -> None:
    """Queue the batch's job in the session's transaction (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    raw = session.connection().connection.dbapi_connection
    if not isinstance(raw, psycopg.Connection):  # pragma: no cover - psycopg 3 is the driver
        raise TypeError("the batch queue needs the psycopg (3) driver")
    _DEFERRER.configure_task(TASK, connection=raw, queueing_lock=queueing_lock(batch_id)).defer(
        batch_id=batch_id
    )


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def sweep(app: App, container: Container, settings: BatchSettings) -> int:
    """Give back to the queue what dead workers left: retry the stalled jobs, and queue a job
    for every unfinished batch that has none. Returns how many jobs it (re)queued."""
    manager = app.job_manager
    count = 0
    for job in await manager.get_stalled_jobs(
        task_name=TASK, seconds_since_heartbeat=settings.lease_seconds
    ):
        await manager.retry_job(job)
        count += 1
    queued = {
        job.queueing_lock
        for status in ("todo", "doing")
        for job in await manager.list_jobs_async(task=TASK, status=status)
    }
    for batch_id in await asyncio.to_thread(unfinished, container):
        if queueing_lock(batch_id) in queued:
            continue
        with contextlib.suppress(AlreadyEnqueued):
            await app.configure_task(TASK, queueing_lock=queueing_lock(batch_id)).defer_async(
                batch_id=batch_id
            )
            count += 1
    return count


def run_worker(
    container: Container,
    settings: BatchSettings,
    *,
    forever: bool = False,
    concurrency: int = 1,
    poll: float = 2.0,
    max_batches: int | None = None,
    on_batch: Callable[[str], None] | None = None,
) -> list[str]:
    """Run a procrastinate worker in this process: until the queue is empty (or forever, or
    ``max_batches``); the tickets of the batches it ran. Called where an event loop already
    runs in this thread (an embedding program — the browser tests' Playwright), the worker
    runs in a thread of its own, without signal handlers."""
    args = (container, settings, forever, concurrency, poll, max_batches, on_batch)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: the CLI's own thread, no loop
        return asyncio.run(_run_worker(*args, signals=True))
    outcome: dict[str, Any] = {}

    def own_loop() -> None:
        try:
            outcome["tickets"] = asyncio.run(_run_worker(*args, signals=False))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=own_loop, name="ila-batch-worker")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    tickets: list[str] = outcome["tickets"]
    return tickets


async def _run_worker(
    container: Container,
    settings: BatchSettings,
    forever: bool,
    concurrency: int,
    poll: float,
    max_batches: int | None,
    on_batch: Callable[[str], None] | None,
    *,
    signals: bool,
) -> list[str]:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    worker = _Worker(
        container,
        settings,
        worker_name(),
        max_batches,
        on_batch,
        reached=lambda: loop.call_soon_threadsafe(stop.set),
    )
    lease = float(settings.lease_seconds)
    app = make_app(conninfo(container.settings.database_url))
    async with app.open_async():
        await sweep(app, container, settings)
        options: dict[str, Any] = {
            "queues": [QUEUE],
            "name": worker.name,
            "concurrency": concurrency,
            "wait": forever,
            "fetch_job_polling_interval": poll,
            "additional_context": {"ila": worker},
            "delete_jobs": "successful",
            "update_heartbeat_interval": max(0.2, min(10.0, lease / 4)),
            "stalled_worker_timeout": lease,
            "install_signal_handlers": signals,
        }
        runner = asyncio.create_task(app.run_worker_async(**options))
        waiters = {runner, asyncio.create_task(stop.wait())}
        if forever:
            waiters.add(asyncio.create_task(_sweep_forever(app, container, settings)))
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters - {runner}:
            task.cancel()
        if not runner.done():
            runner.cancel()  # a graceful stop: the running jobs end first
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        for task in done - {runner}:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]  # the sweeper failed
    return worker.tickets


async def _sweep_forever(app: App, container: Container, settings: BatchSettings) -> None:
    while True:
        await asyncio.sleep(max(1.0, float(settings.lease_seconds)))
        await sweep(app, container, settings)
