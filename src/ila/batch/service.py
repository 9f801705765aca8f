"""Use cases of the batch channel: submit a file (a ticket), claim and process batches, read a
batch's status and its result. On PostgreSQL, submitting defers a procrastinate job in the same
transaction as the batch row and workers run them (:mod:`ila.batch.jobs`, ADR 0017); on SQLite
the same job, :func:`run_batch`, runs in-process. Either way the claim with a lease and the
chunk checkpoints in the ``batches`` table keep every record applied exactly once.

Lifecycle: received → validating (a full first pass: well-formed, no DOCTYPE, valid header,
records counted; a file failing it is ``failed`` with nothing applied) → processing (records
applied chunk by chunk; each chunk's effects, results and the checkpoint commit together) →
done. A worker that dies leaves the batch to be taken over once its lease expires; it resumes
after the checkpoint, so every record is applied exactly once."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import CursorResult, Engine, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ila.access.domain import Caller, Scope, parse_scopes, scopes_text
from ila.audit.chain import PENDING, append_entries, defer_appends
from ila.batch.apply import Applier, Outcome, Prepared, write_results
from ila.batch.config import BatchSettings
from ila.batch.models import Batch, BatchRecord
from ila.batch.xmlfile import Header, Record, read_header, records, scan
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import BatchReferenceReused, DomainError, InvalidBatchFile, NotFound
from ila.identity.domain import EnterpriseNumber


class BatchStatus(StrEnum):
    RECEIVED = "received"
    VALIDATING = "validating"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


FINAL = frozenset({BatchStatus.DONE, BatchStatus.FAILED})
BATCH_SCOPES = frozenset({Scope.EMPLOYER_TRAININGS_WRITE, Scope.EMPLOYER_RIGHTS_WRITE})
"""What a file may contain: trainings and rights. A sender's file is held to what the sender
may do for each employer (own employer, or a mandate whose kind allows it)."""


@dataclass(frozen=True, slots=True)
class Sender:
    """Who submits: the organisation (enterprise number), how it is recorded, what it may do."""

    organisation: str
    actor: str
    scopes: frozenset[Scope]
    channel: str  # api | cli | inbox


@dataclass(frozen=True, slots=True)
class BatchView:
    ticket: str
    sender: str
    reference: str | None
    channel: str
    file_name: str
    status: str
    total: int | None
    done: int
    accepted: int
    unchanged: int
    rejected: int
    error: dict[str, object] | None
    received_at: str
    started_at: str | None
    finished_at: str | None
    duplicate: bool = False  # a resubmission answered with the earlier batch

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def progress(self) -> float | None:
        if self.total is None:
            return None
        return 1.0 if self.total == 0 else round(self.done / self.total, 4)


def view(b: Batch, *, duplicate: bool = False) -> BatchView:
    error: dict[str, object] | None = None
    if b.error_code is not None:
        error = {"code": b.error_code, "message": b.error_message or ""}
        if b.error_line is not None:
            error["line"] = b.error_line
    return BatchView(
        ticket=b.ticket,
        sender=b.sender,
        reference=b.reference,
        channel=b.channel,
        file_name=b.file_name,
        status=b.status,
        total=b.total,
        done=b.done,
        accepted=b.accepted,
        unchanged=b.unchanged,
        rejected=b.rejected,
        error=error,
        received_at=b.received_at.isoformat(),
        started_at=b.started_at.isoformat() if b.started_at else None,
        finished_at=b.finished_at.isoformat() if b.finished_at else None,
        duplicate=duplicate,
    )


# --- submitting ------------------------------------------------------------------------------


def _spool(source: IO[bytes], target: Path, limit: int) -> tuple[int, str, bool]:
    """Copy ``source`` to ``target`` in blocks: (bytes, sha256, within the limit)."""
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while block := source.read(1 << 20):
            size += len(block)
            if size > limit:
                return size, digest.hexdigest(), False
            digest.update(block)
            out.write(block)
    return size, digest.hexdigest(), True


def submit(
    container: Container,
    settings: BatchSettings,
    source: IO[bytes],
    *,
    file_name: str,
    sender: Sender,
) -> BatchView:
    """Receive a file: store it, read its header, and queue it (``received``). The same batch
    reference sent again by the same sender returns the earlier batch (``duplicate``); with a
    different file it is refused. A file whose header cannot be read is a ``failed`` batch at
    once, with the reason."""
    organisation = EnterpriseNumber.parse(sender.organisation, field="sender").value
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    ticket = uuid.uuid4().hex
    path = settings.spool_dir / f"{ticket}.xml"
    size, sha, within = _spool(source, path, settings.max_file_bytes)
    error: InvalidBatchFile | None = None
    header: Header | None = None
    if not within:
        error = InvalidBatchFile(
            f"the file is larger than the limit of {settings.max_file_bytes} bytes",
            code="file_too_large",
        )
    else:
        try:
            header = read_header(path, settings.max_file_bytes)
        except InvalidBatchFile as exc:
            error = exc
    if header is not None and header.sender != organisation:
        error = InvalidBatchFile(
            f"the header names sender {header.sender}, but the file was sent by {organisation}",
            code="sender_mismatch",
        )
    now = utcnow()
    batch = Batch(
        ticket=ticket,
        sender=organisation,
        reference=header.reference if header is not None and error is None else None,
        channel=sender.channel,
        actor=sender.actor[:200],
        scopes=scopes_text(sender.scopes),
        status=BatchStatus.RECEIVED.value,
        file_name=Path(file_name).name[:255] or "batch.xml",
        file_path=str(path.resolve()),
        file_bytes=size,
        file_sha256=sha,
        done=0,
        accepted=0,
        unchanged=0,
        rejected=0,
        received_at=now,
        attempts=0,
    )
    if error is not None:
        _mark_failed(batch, error)
        path.unlink(missing_ok=True)
    with container.uow() as uow:
        if batch.reference is not None:
            earlier = _by_reference(uow.session, organisation, batch.reference)
            if earlier is not None:
                path.unlink(missing_ok=True)
                return _earlier(earlier, sha)
        uow.session.add(batch)
        try:
            uow.session.flush()
        except IntegrityError:  # the same reference, received at the same moment
            uow.rollback()
            earlier = _by_reference(uow.session, organisation, str(batch.reference))
            path.unlink(missing_ok=True)
            if earlier is None:  # pragma: no cover - the constraint names one
                raise
            return _earlier(earlier, sha)
        if error is None:
            from ila.batch.jobs import defer  # noqa: PLC0415 - jobs builds on this module

            defer(uow.session, batch.id)  # its job, in this transaction (PostgreSQL only)
        result = view(batch)
        uow.commit()
    return result


def _by_reference(session: Session, sender: str, reference: str) -> Batch | None:
    return session.scalar(select(Batch).where(Batch.sender == sender, Batch.reference == reference))


def _earlier(earlier: Batch, sha: str) -> BatchView:
    if earlier.file_sha256 != sha:
        raise BatchReferenceReused(
            f"batch reference {earlier.reference!r} was already used for another file "
            f"(ticket {earlier.ticket}); give this file a new reference",
            field="reference",
            ticket=earlier.ticket,
        )
    return view(earlier, duplicate=True)


def _mark_failed(batch: Batch, error: DomainError) -> None:
    batch.status = BatchStatus.FAILED.value
    batch.error_code = error.code
    batch.error_message = error.message[:1000]
    line = error.details.get("line")
    batch.error_line = line if isinstance(line, int) else None
    batch.finished_at = utcnow()


# --- reading ---------------------------------------------------------------------------------


def find_batch(session: Session, ticket: str, sender: str | None = None) -> Batch:
    """The batch of this ticket; with ``sender``, another sender's batch is not found."""
    batch = session.scalar(select(Batch).where(Batch.ticket == ticket.strip().lower()))
    if batch is None or (sender is not None and batch.sender != sender):
        raise NotFound("no batch with this ticket", field="ticket")
    return batch


def status(container: Container, ticket: str, sender: str | None = None) -> BatchView:
    with container.uow() as uow:
        return view(find_batch(uow.session, ticket, sender))


ResultRow = tuple[
    int, str | None, int, str, str, int | None, int | None, str | None, str | None, str | None
]


def result_rows(session: Session, batch_id: int, chunk: int = 5000) -> Iterator[ResultRow]:
    """The results of a batch in file order, read in slices (keyset on ``seq``): (seq,
    record_id, line, kind, status, training_id, version, code, field, message)."""
    r = BatchRecord
    columns = (r.seq, r.record_id, r.line, r.kind, r.status, r.training_id, r.version)
    after = 0
    while True:
        rows = session.execute(
            select(*columns, r.code, r.field, r.message)
            .where(r.batch_id == batch_id, r.seq > after)
            .order_by(r.seq)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield from cast("list[ResultRow]", rows)
        after = rows[-1][0]


# --- claiming and processing ----------------------------------------------------------------


def claim(
    container: Container, settings: BatchSettings, worker: str, batch_id: int | None = None
) -> int | None:
    """Take a batch (``batch_id``, or the oldest one) that is waiting, or whose worker stopped
    giving signs of life (heartbeat older than the lease). The claim is a conditional update,
    so two workers never hold the same batch; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets
    parallel workers pass each other by."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.lease_seconds)
    with container.uow() as uow:
        s = uow.session
        waiting = or_(
            Batch.status == BatchStatus.RECEIVED.value,
            and_(
                Batch.status.in_([BatchStatus.VALIDATING.value, BatchStatus.PROCESSING.value]),
                or_(Batch.heartbeat_at.is_(None), Batch.heartbeat_at < stale),
            ),
        )
        query = select(Batch.id, Batch.status, Batch.attempts).where(waiting).order_by(Batch.id)
        if batch_id is not None:
            query = query.where(Batch.id == batch_id)
        if s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = s.execute(query.limit(1)).first()
        if row is None:
            return None
        batch_id, current, attempts = row
        taken = s.execute(
            update(Batch)
            .where(Batch.id == batch_id, Batch.attempts == attempts, waiting)
            .values(
                status=(
                    BatchStatus.VALIDATING.value
                    if current == BatchStatus.RECEIVED.value
                    else current
                ),
                worker=worker[:100],
                heartbeat_at=now,
                attempts=attempts + 1,
                started_at=func.coalesce(Batch.started_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        uow.commit()
        return int(batch_id) if cast("CursorResult[Any]", taken).rowcount == 1 else None


class LeaseLost(Exception):
    """Another worker took the batch over; this one stops without writing."""


@dataclass
class _Run:
    container: Container
    settings: BatchSettings
    batch_id: int
    worker: str
    on_chunk: Callable[[int], None] | None = None

    def load(self) -> Batch:
        with self.container.uow() as uow:
            return uow.session.get_one(Batch, self.batch_id)

    def _owned(self, s: Session, checkpoint: int, **values: object) -> None:
        """Update the batch if this worker still holds it at ``checkpoint``."""
        result = s.execute(
            update(Batch)
            .where(Batch.id == self.batch_id, Batch.worker == self.worker, Batch.done == checkpoint)
            .values(heartbeat_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            raise LeaseLost(self.batch_id)

    def fail(self, done: int, error: DomainError) -> None:
        line = error.details.get("line")
        with self.container.uow() as uow:
            self._owned(
                uow.session,
                done,
                status=BatchStatus.FAILED.value,
                error_code=error.code,
                error_message=error.message[:1000],
                error_line=line if isinstance(line, int) else None,
                finished_at=utcnow(),
            )
            uow.commit()

    def run(self) -> str:
        batch = self.load()
        path = Path(str(batch.file_path))
        limit = self.settings.max_file_bytes
        if batch.status == BatchStatus.VALIDATING.value:
            try:
                header, total = scan(path, limit)
            except (InvalidBatchFile, OSError) as exc:
                error = (
                    exc
                    if isinstance(exc, InvalidBatchFile)
                    else InvalidBatchFile("the received file is gone", code="file_missing")
                )
                self.fail(batch.done, error)
                path.unlink(missing_ok=True)
                return BatchStatus.FAILED.value
            with self.container.uow() as uow:
                self._owned(uow.session, 0, status=BatchStatus.PROCESSING.value, total=total)
                uow.commit()
        header = read_header(path, limit)
        caller = Caller(
            0, f"batch:{batch.ticket}", batch.sender, parse_scopes(batch.scopes.split())
        )
        applier = Applier(self.container, caller, header, batch.id, batch.actor)
        done = batch.done
        with ThreadPoolExecutor(1, thread_name_prefix="ila-batch-writer") as writer:
            pipeline = _Pipeline(self, applier, writer, enabled=self._pipelined())
            try:
                chunk: list[Record] = []
                for record in records(path, limit, after=done):
                    chunk.append(record)
                    if len(chunk) >= self.settings.chunk_size:
                        done = pipeline.send(chunk, done)
                        chunk = []
                done = pipeline.send(chunk, done)
                pipeline.settle()
            finally:
                pipeline.settle(quiet=True)  # never leave a chunk being written behind
        with self.container.uow() as uow:
            self._owned(uow.session, done, status=BatchStatus.DONE.value, finished_at=utcnow())
            uow.commit()
        path.unlink(missing_ok=True)
        return BatchStatus.DONE.value

    def _pipelined(self) -> bool:
        """Whether chunks are checked while the one before is written (:class:`_Pipeline`):
        on PostgreSQL, whose server then works while Python checks, when each unit of work
        has a connection of its own (not so when sessions share one connection, as in tests
        inside a transaction). Not on SQLite: its writes run in this process, and a writer
        thread there only added contention (measured: 5.0 s without, 5.5-6.5 s with, for
        50,000 records)."""
        with self.container.uow() as uow:
            bind = uow.session.get_bind()
            return isinstance(bind, Engine) and bind.dialect.name == "postgresql"

    def commit_chunk(self, applier: Applier, chunk: list[Record], done: int) -> int:
        """Apply a chunk, store its results and move the checkpoint: one transaction."""
        if not chunk:
            return done
        with self.container.uow() as uow:
            s = uow.session
            defer_appends(s)  # the chunk's audit entries wait for the end of the transaction
            sender = applier.caller.organisation
            return self.finish_chunk(s, sender, applier.apply(s, chunk), done, chunk[-1].seq)

    def write_chunk(self, prepared: Prepared, done: int, last: int) -> int:
        """The writes of a chunk checked by :meth:`Applier.prepare`, its results and the
        checkpoint: one transaction (in the writer thread)."""
        with self.container.uow() as uow:
            s = uow.session
            defer_appends(s)
            return self.finish_chunk(s, prepared.sender, prepared.write(s), done, last)

    def finish_chunk(
        self, s: Session, sender: str, outcomes: list[Outcome], done: int, last: int
    ) -> int:
        """Store a chunk's results (those accepted: the record ids ``sender`` applied), move
        the checkpoint, append its audit entries and commit.
        The audit entries come last, just before the commit: the chain's head stays locked
        only for their insert and the commit."""
        write_results(s, self.batch_id, sender, outcomes)
        self._owned(
            s,
            done,
            done=last,
            accepted=Batch.accepted + _count(outcomes, "accepted"),
            unchanged=Batch.unchanged + _count(outcomes, "unchanged"),
            rejected=Batch.rejected + _count(outcomes, "rejected"),
        )
        # appended by append_entries (hashes in Python, one multi-row insert), not by the
        # single pipelined statement of append_deferred: that statement's cost grows with the
        # square of the entries (1,000 entries, one per worker of a chunk: ~0.2 s against
        # ~0.06 s; 10,000: ~21 s against ~0.6 s), with the head locked meanwhile (ADR 0020)
        entries: list[Mapping[str, Any]] = s.info.pop(PENDING, None) or []
        s.flush()
        append_entries(s, entries)
        s.commit()
        if self.on_chunk is not None:
            self.on_chunk(last)
        return last


@dataclass
class _Pipeline:
    """Chunks of new trainings are checked (reads only) while the chunk before them is
    written and committed in the writer thread, so that the database works while Python
    checks; one chunk at most is being written, and each still commits its effects, results
    and checkpoint together, in file order. A chunk that cannot be checked ahead
    (:meth:`Applier.prepare` says None) waits for the writes before it and is applied in
    one transaction as before."""

    run: _Run
    applier: Applier
    writer: ThreadPoolExecutor
    enabled: bool = True
    writing: Future[int] | None = None
    written: Prepared | None = None

    def send(self, chunk: list[Record], done: int) -> int:
        """Hand a chunk over; the checkpoint it moves to (once written)."""
        if not chunk:
            return done
        if not self.enabled:
            return self.run.commit_chunk(self.applier, chunk, done)
        with self.run.container.uow() as uow:  # reads only: rolled back at once
            prepared = self.applier.prepare(uow.session, chunk, self.written)
        self.settle()  # the chunk before is committed before this one is written
        if prepared is None:
            return self.run.commit_chunk(self.applier, chunk, done)
        last = chunk[-1].seq
        self.writing = self.writer.submit(self.run.write_chunk, prepared, done, last)
        self.written = prepared
        return last

    def settle(self, *, quiet: bool = False) -> None:
        """Wait for the chunk being written; its error is raised here (unless ``quiet``:
        already leaving on another error)."""
        writing, self.writing, self.written = self.writing, None, None
        if writing is None:
            return
        if quiet:
            wait([writing])
            return
        writing.result()


def _count(outcomes: list[Outcome], status: str) -> int:
    return sum(o.status == status for o in outcomes)


def process(
    container: Container,
    settings: BatchSettings,
    batch_id: int,
    worker: str,
    *,
    on_chunk: Callable[[int], None] | None = None,
) -> str:
    """Process a claimed batch to its end; returns the final status (or the status it had
    when another worker took it over)."""
    run = _Run(container, settings, batch_id, worker, on_chunk)
    try:
        return run.run()
    except LeaseLost:
        return run.load().status
    except InvalidBatchFile as exc:  # the file changed on disk after validation
        batch = run.load()
        run.fail(batch.done, exc)
        return BatchStatus.FAILED.value


def worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class BatchBusy(Exception):
    """The batch is held by a worker that is alive (fresh heartbeat): try again in ``wait``
    seconds, when its lease would have run out."""

    def __init__(self, batch_id: int, wait: float) -> None:
        super().__init__(f"batch {batch_id} is being processed by a live worker")
        self.batch_id = batch_id
        self.wait = wait


def run_batch(
    container: Container,
    settings: BatchSettings,
    batch_id: int,
    worker: str,
    *,
    on_chunk: Callable[[int], None] | None = None,
) -> str:
    """The job of a batch: claim it with a lease, then process it to its end from its
    checkpoint; returns its status. A batch already finished is left as it is; one held by a
    live worker raises :class:`BatchBusy` (the queue retries the job later)."""
    if claim(container, settings, worker, batch_id) is None:
        with container.uow() as uow:
            batch = uow.session.get(Batch, batch_id)
            if batch is None:
                raise NotFound("no batch with this id", field="batch_id")
            if batch.status in FINAL:
                return batch.status
            beat = batch.heartbeat_at
        left = settings.lease_seconds
        if beat is not None:
            left = settings.lease_seconds - (utcnow() - beat).total_seconds()
        raise BatchBusy(batch_id, max(0.5, left + 0.5))
    return process(container, settings, batch_id, worker, on_chunk=on_chunk)


def release(container: Container, batch_id: int, worker: str) -> None:
    """End this worker's lease on an unfinished batch now (its job failed on an unexpected
    error): the job retried need not wait for the lease to run out. The checkpoint stays."""
    with container.uow() as uow:
        uow.session.execute(
            update(Batch)
            .where(
                Batch.id == batch_id,
                Batch.worker == worker[:100],
                Batch.status.not_in([s.value for s in FINAL]),
            )
            .values(heartbeat_at=None)
            .execution_options(synchronize_session=False)
        )
        uow.commit()


def unfinished(container: Container) -> list[int]:
    """Batches not yet done or failed, oldest first (the queue sweeper's candidates)."""
    with container.uow() as uow:
        return list(
            uow.session.scalars(
                select(Batch.id)
                .where(Batch.status.not_in([s.value for s in FINAL]))
                .order_by(Batch.id)
            )
        )


def work(
    container: Container,
    settings: BatchSettings,
    *,
    worker: str | None = None,
    max_batches: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> list[str]:
    """Process waiting batches in this process until none is left (or ``max_batches``); their
    tickets. The embedded mode (SQLite): the same claim and processing as the queue's job."""
    name = worker or worker_name()
    tickets: list[str] = []
    while max_batches is None or len(tickets) < max_batches:
        batch_id = claim(container, settings, name)
        if batch_id is None:
            break
        process(container, settings, batch_id, name, on_chunk=on_chunk)
        with container.uow() as uow:
            tickets.append(uow.session.get_one(Batch, batch_id).ticket)
    return tickets
