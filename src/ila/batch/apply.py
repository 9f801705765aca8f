"""Applying the records of one chunk, inside the chunk's transaction, through the same use
cases and rules as the API: :meth:`TrainingData.validate` and the training service for every
training record, ``set_rights`` for every right, ``acting_for`` for authorisation. New
trainings, by far the bulk of a file, are checked per record and then written in multi-row
statements; everything else goes through the one-record use cases, each in a savepoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from ila.access.audit import record_personal_data_access
from ila.access.domain import Acting, Caller, ProviderKind, Scope
from ila.access.models import Mandate
from ila.access.service import acting_for
from ila.batch.bulk import among, insert_rows, is_postgresql, next_ids
from ila.batch.models import SenderRecord
from ila.batch.xmlfile import (
    Header,
    Record,
    RightSet,
    TrainingCancel,
    TrainingCreate,
    TrainingRectify,
)
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.db.uow import SavepointUnitOfWork, UnitOfWork
from ila.db.versioning import Operation
from ila.employment.models import Employment
from ila.errors import DomainError, DuplicateRecord, NotFound, ValidationError
from ila.exchange.outbox import SOURCE as OUTBOX_SOURCE
from ila.exchange.outbox import OutboxEvent, new_event_id
from ila.identity.domain import NationalNumber
from ila.identity.models import Employer, Person
from ila.rights.service import SetRight, set_rights
from ila.trainings.domain import Source, Status
from ila.trainings.models import Training, TrainingVersion
from ila.trainings.service import (
    DEFAULT_DAY_MINUTES,
    cancel_training,
    record_training,
    rectify_training,
    stored_content,
)

_PROVIDER_STATUSES = frozenset({Status.PLANNED, Status.FOLLOWED})
# enum members read once (a member looked up on its class costs a descriptor call per record)
_TRAINING_PROVIDER = ProviderKind.TRAINING_PROVIDER
_BY_PROVIDER, _BY_EMPLOYER = Source.PROVIDER, Source.EMPLOYER
_TRAININGS_WRITE = Scope.EMPLOYER_TRAININGS_WRITE
_CREATE = Operation.CREATE.value
_NO_EMPLOYMENT = "no employment of this worker with this employer"
_REMEMBERED = 200_000  # persons remembered across chunks, at most
_PRIOR_PG = text(
    "SELECT s.record_id, s.digest, s.training_id, s.version "
    "FROM unnest(CAST(:ids AS varchar[])) AS u(rid) CROSS JOIN LATERAL ("
    " SELECT record_id, digest, training_id, version FROM batch_sender_records"
    " WHERE sender = :sender AND record_id = u.rid LIMIT 1) AS s"
)
_EXISTING_PG = text(
    "SELECT t.sender_record_id "
    "FROM unnest(CAST(:ids AS varchar[])) AS u(rid) CROSS JOIN LATERAL ("
    " SELECT sender_record_id FROM trainings"
    " WHERE sender = :sender AND sender_record_id = u.rid LIMIT 1) AS t"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    seq: int
    line: int
    record_id: str | None
    kind: str
    status: str  # accepted | unchanged | rejected
    training_id: int | None = None
    version: int | None = None
    code: str | None = None
    field: str | None = None
    message: str | None = None

    def row(self, batch_id: int) -> dict[str, Any]:
        return {
            "batch_id": batch_id,
            "seq": self.seq,
            "line": self.line,
            "record_id": self.record_id[:100] if self.record_id else None,
            "kind": self.kind,
            "status": self.status,
            "code": self.code[:60] if self.code else None,
            "field": self.field[:60] if self.field else None,
            "message": self.message[:1000] if self.message else None,
            "training_id": self.training_id,
            "version": self.version,
        }


def rejected(record: Record, error: DomainError) -> Outcome:
    details_line = error.details.get("line")
    return Outcome(
        record.seq,
        details_line if isinstance(details_line, int) else record.line,
        record.record_id,
        record.kind,
        "rejected",
        code=error.code,
        field=error.field,
        message=error.message,
    )


@dataclass(frozen=True)
class ChunkContainer(Container):
    """The container the use cases taking a container see inside a chunk: its unit of work
    is a savepoint of the chunk's session."""

    chunk_session: Session | None = None

    def uow(self) -> UnitOfWork:
        assert self.chunk_session is not None  # noqa: S101 - set by the applier
        return SavepointUnitOfWork(self.chunk_session)


@dataclass
class _Create:
    record: Record
    command: TrainingCreate
    person_id: int
    acting: Acting
    number: str
    source: Source
    content: dict[str, object]


@dataclass
class Applier:
    """Applies the records of a batch, chunk after chunk. Lookups that do not change while a
    batch runs (who may act for which employer, an employer's day length) are kept across
    chunks; mandates are judged at the moment the batch started processing."""

    container: Container
    caller: Caller
    header: Header
    batch_id: int
    actor: str
    at: datetime = field(default_factory=utcnow)
    _acting: dict[tuple[str, Scope], Acting | DomainError] = field(default_factory=dict)
    _kinds: dict[int, ProviderKind | None] = field(default_factory=dict)
    _day_minutes: dict[int, int] = field(default_factory=dict)
    _numbers: dict[str, str | DomainError] = field(default_factory=dict)
    _persons: dict[str, int] = field(default_factory=dict)
    _employers_of: dict[int, set[int]] = field(default_factory=dict)
    _not_employed: set[tuple[int, int]] = field(default_factory=set)  # in this chunk

    # --- authorisation -----------------------------------------------------------------------

    def acting(self, session: Session, employer: str, scope: Scope) -> Acting:
        if employer not in self.header.employers:
            raise ValidationError(
                f"employer {employer} is not listed in the batch header",
                field="employer",
                code="employer_not_in_header",
            )
        key = (employer, scope)
        if key not in self._acting:
            try:
                self._acting[key] = acting_for(
                    session, self.caller, employer, at=self.at, scope=scope, field="employer"
                )
            except DomainError as exc:
                self._acting[key] = exc
        found = self._acting[key]
        if isinstance(found, DomainError):
            raise found
        return found

    def mandate_kind(self, session: Session, acting: Acting) -> ProviderKind | None:
        if acting.mandate_id is None:
            return None
        if acting.mandate_id not in self._kinds:
            kind = session.scalar(select(Mandate.kind).where(Mandate.id == acting.mandate_id))
            self._kinds[acting.mandate_id] = ProviderKind(kind) if kind else None
        return self._kinds[acting.mandate_id]

    def employer_side(self, session: Session, employer: str) -> Acting:
        """Rectify and cancel: the employer or a secretariat/vendor, not a training provider."""
        acting = self.acting(session, employer, Scope.EMPLOYER_TRAININGS_WRITE)
        if self.mandate_kind(session, acting) is ProviderKind.TRAINING_PROVIDER:
            raise NotFound("employer not found", field="employer")
        return acting

    def national_number(self, raw: str) -> str:
        """The validated number (``NationalNumber.parse``), remembered: a file names the same
        workers over and over."""
        found = self._numbers.get(raw)
        if found is None:
            if len(self._numbers) > 100_000:
                self._numbers.clear()
            try:
                found = self._numbers[raw] = NationalNumber.parse(raw, field="worker").value
            except DomainError as exc:
                found = self._numbers[raw] = exc
        if isinstance(found, DomainError):
            raise found
        return found

    def find_persons(self, session: Session, numbers: set[str]) -> None:
        """Look up, in one statement, the persons of ``numbers`` not seen yet in this batch
        and the employers they work for. A person found is remembered with its employers for
        the rest of the batch; one not found is looked up again in the next chunk."""
        self._not_employed.clear()
        unknown = sorted(n for n in numbers if n not in self._persons)
        if len(self._persons) + len(unknown) > _REMEMBERED:
            self._persons.clear()
            self._employers_of.clear()
            unknown = sorted(numbers)
        for among_them in among(session, Person.national_number, unknown):
            for person_id, number, employer_id in session.execute(
                select(Person.id, Person.national_number, Employment.employer_id)
                .outerjoin(Employment, Employment.person_id == Person.id)
                .where(among_them)
            ):
                self._persons[number] = person_id
                employers = self._employers_of.setdefault(person_id, set())
                if employer_id is not None:
                    employers.add(employer_id)

    def employed(self, session: Session, number: str, employer_id: int) -> int | None:
        """The person of ``number`` if employed by ``employer_id`` (found by
        :meth:`find_persons`; an employment not seen then is looked up now, once a chunk)."""
        person_id = self._persons.get(number)
        if person_id is None or (person_id, employer_id) in self._not_employed:
            return None
        employers = self._employers_of.setdefault(person_id, set())
        if employer_id not in employers:
            found = session.scalar(
                select(Employment.id)
                .where(Employment.person_id == person_id, Employment.employer_id == employer_id)
                .limit(1)
            )
            if found is None:
                self._not_employed.add((person_id, employer_id))
                return None
            employers.add(employer_id)
        return person_id

    def day_minutes(self, session: Session, employer_id: int) -> int:
        if employer_id not in self._day_minutes:
            minutes = session.scalar(
                select(Employer.full_time_day_minutes).where(Employer.id == employer_id)
            )
            self._day_minutes[employer_id] = minutes or DEFAULT_DAY_MINUTES
        return self._day_minutes[employer_id]

    # --- one chunk ---------------------------------------------------------------------------

    def apply(self, session: Session, chunk: Sequence[Record]) -> list[Outcome]:
        """Apply the chunk in ``session`` (the caller commits) and return one outcome per
        record, in order. Also records the applied record ids of the sender."""
        run = _Chunk(self, session, chunk)
        return run.apply()


class _Chunk:
    def __init__(self, applier: Applier, session: Session, chunk: Sequence[Record]) -> None:
        self.a = applier
        self.s = session
        self.chunk = chunk
        self.sender = applier.caller.organisation
        self.outcomes: dict[int, Outcome] = {}
        self.pending: list[_Create] = []
        self.applied: dict[str, tuple[str, Outcome | None]] = {}  # record id -> digest, outcome
        self.new_ids: list[tuple[Record, Outcome]] = []
        self.audit: dict[tuple[str, str, int | None], tuple[Acting, list[str]]] = {}

    # lookups for the whole chunk, in a few statements

    def _prefetch(self) -> None:
        ids = [r.record_id for r in self.chunk if r.command is not None and r.record_id]
        self.prior: dict[str, tuple[str, int | None, int | None]] = {}
        self.existing: set[str] = set()
        if is_postgresql(self.s):
            # one probe of the unique index (sender, record id) per id, whatever the
            # statistics say: "= ANY(:ids)" under a generic plan filtered every row of the
            # sender against the whole list (seconds per chunk once a sender has 100,000 rows)
            given = {"sender": self.sender, "ids": ids}
            for rid, digest, training_id, version in self.s.execute(_PRIOR_PG, given):
                self.prior[rid] = (digest, training_id, version)
            self.existing.update(self.s.scalars(_EXISTING_PG, given))
        else:
            sr = SenderRecord
            for among_ids in among(self.s, sr.record_id, ids):
                for rid, digest, training_id, version in self.s.execute(
                    select(sr.record_id, sr.digest, sr.training_id, sr.version).where(
                        sr.sender == self.sender, among_ids
                    )
                ):
                    self.prior[rid] = (digest, training_id, version)
            for among_ids in among(self.s, Training.sender_record_id, ids):
                self.existing.update(
                    self.s.scalars(
                        select(Training.sender_record_id).where(
                            Training.sender == self.sender, among_ids
                        )
                    )
                )
        numbers: set[str] = set()
        for r in self.chunk:
            if isinstance(r.command, TrainingCreate):
                try:
                    numbers.add(self.a.national_number(r.command.worker))
                except DomainError:
                    continue  # rejected with the record
        self.a.find_persons(self.s, numbers)

    def apply(self) -> list[Outcome]:
        self._prefetch()
        for record in self.chunk:
            if record.error is not None or record.command is None:
                error = record.error or ValidationError(
                    "unreadable record", code="schema_violation"
                )
                self.outcomes[record.seq] = rejected(record, error)
                continue
            replay = self._replay(record)
            if replay is not None:
                self.outcomes[record.seq] = replay
                continue
            try:
                outcome = self._one(record)
            except DomainError as exc:
                self.outcomes[record.seq] = rejected(record, exc)
                continue
            if outcome is not None:
                self._done(record, outcome)
        self._flush()
        self._remember()
        self._write_audit()
        return [self.outcomes[r.seq] for r in self.chunk]

    def _replay(self, record: Record) -> Outcome | None:
        """A record id this sender applied before (earlier batch or earlier in this file)."""
        rid = str(record.record_id)
        digest = record.digest
        if rid in self.applied:
            earlier_digest, earlier = self.applied[rid]
            training_id = earlier.training_id if earlier else None
            version = earlier.version if earlier else None
        elif rid in self.prior:
            earlier_digest, training_id, version = self.prior[rid]
        else:
            return None
        if earlier_digest != digest:
            return rejected(
                record,
                DuplicateRecord(
                    f"record id {rid!r} was already applied by this sender with other content; "
                    "send a rectification under a new record id",
                    field="recordId",
                ),
            )
        return Outcome(
            record.seq,
            record.line,
            rid,
            record.kind,
            "unchanged",
            training_id=training_id,
            version=version,
        )

    def _done(self, record: Record, outcome: Outcome) -> None:
        self.outcomes[record.seq] = outcome
        if outcome.status == "accepted":
            self.applied[str(record.record_id)] = (record.digest, outcome)
            self.new_ids.append((record, outcome))

    def _one(self, record: Record) -> Outcome | None:
        command = record.command
        if isinstance(command, TrainingCreate):
            return self._create(record, command)
        self._flush()  # records apply in file order: a rectification may follow its creation
        if isinstance(command, TrainingRectify | TrainingCancel):
            return self._change(record, command)
        assert isinstance(command, RightSet)  # noqa: S101 - the four kinds of the schema
        return self._right(record, command)

    # --- trainings ---------------------------------------------------------------------------

    def _create(self, record: Record, c: TrainingCreate) -> Outcome | None:
        acting = self.a.acting(self.s, c.employer, _TRAININGS_WRITE)
        provider = self.a.mandate_kind(self.s, acting) is _TRAINING_PROVIDER
        source = _BY_PROVIDER if provider else _BY_EMPLOYER
        if provider and c.data.status not in _PROVIDER_STATUSES:
            raise ValidationError(
                "a training provider registers planned or followed trainings only",
                field="status",
                code="status_not_allowed",
            )
        c.data.validate()
        number = self.a.national_number(c.worker)
        person_id = self.a.employed(self.s, number, acting.employer_id)
        if person_id is None:
            raise NotFound(_NO_EMPLOYMENT, field="worker")
        rid = str(record.record_id)
        if rid in self.existing:
            # recorded before through another channel: the one-record use case decides
            # (same content: unchanged; other content: refused)
            recorded = record_training(
                SavepointUnitOfWork(self.s),
                actor=self.a.actor,
                source=source,
                sender=self.sender,
                sender_record_id=rid,
                national_number=number,
                enterprise_number=acting.enterprise_number,
                data=c.data,
            )
            status = "accepted" if recorded.created else "unchanged"
            if recorded.created:
                self._audited("trainings.create", acting, number)
            return Outcome(
                record.seq,
                record.line,
                rid,
                record.kind,
                status,
                recorded.training_id,
                recorded.version,
            )
        content = stored_content(c.data, self.a.day_minutes(self.s, acting.employer_id))
        self.pending.append(_Create(record, c, person_id, acting, number, source, content))
        self.existing.add(rid)
        self.applied[rid] = (record.digest, None)
        return None

    def _flush(self) -> None:
        """Write the pending new trainings: two multi-row inserts."""
        if not self.pending:
            return
        now = utcnow()
        rows = [
            {
                "person_id": p.person_id,
                "employer_id": p.acting.employer_id,
                "source": p.source.value,
                "sender": self.sender,
                "sender_record_id": p.record.record_id,
                "created_at": now,
            }
            for p in self.pending
        ]
        trainings: Table = Training.__table__  # type: ignore[assignment]
        if is_postgresql(self.s):
            ids = next_ids(self.s, trainings, len(rows))
            for i, row in zip(ids, rows, strict=True):
                row["id"] = i
            insert_rows(self.s, trainings, rows)
        else:
            insert_rows(self.s, trainings, rows)
            created: dict[str, int] = {}
            for among_ids in among(
                self.s, Training.sender_record_id, [r["sender_record_id"] for r in rows]
            ):
                created.update(
                    (rid, tid)
                    for tid, rid in self.s.execute(
                        select(Training.id, Training.sender_record_id).where(
                            Training.sender == self.sender, among_ids
                        )
                    )
                )
            ids = [created[str(r["sender_record_id"])] for r in rows]
        first = {
            "version": 1,
            "operation": _CREATE,
            "recorded_at": now,
            "superseded_at": None,
            "recorded_by": self.a.actor,
            "reason": None,
            "cancelled": False,
        }
        insert_rows(
            self.s,
            TrainingVersion.__table__,  # type: ignore[arg-type]
            [
                {"training_id": training_id, **first, **p.content}
                for training_id, p in zip(ids, self.pending, strict=True)
            ],
        )
        # the same thin events as record_training, in the chunk's transaction (outbox)
        insert_rows(
            self.s,
            OutboxEvent.__table__,  # type: ignore[arg-type]
            [
                {
                    "event_id": new_event_id(),
                    "type": "ila.account.training.recorded",
                    "source": OUTBOX_SOURCE,
                    "subject": p.number,
                    "occurred_at": now,
                    "data": {"training_id": training_id, "version": 1},
                }
                for training_id, p in zip(ids, self.pending, strict=True)
            ],
        )
        for training_id, p in zip(ids, self.pending, strict=True):
            r = p.record
            self._audited("trainings.create", p.acting, p.number)
            self._done(
                r,
                Outcome(r.seq, r.line, r.record_id, r.kind, "accepted", training_id, 1),
            )
        self.pending = []

    def _target(self, target: str, employer_id: int) -> int:
        training_id = self.s.scalar(
            select(Training.id).where(
                Training.sender == self.sender,
                Training.sender_record_id == target,
                Training.employer_id == employer_id,
            )
        )
        if training_id is None:
            raise NotFound(
                f"no training with record id {target!r} of this sender for this employer",
                field="target",
            )
        return training_id

    def _change(self, record: Record, c: TrainingRectify | TrainingCancel) -> Outcome:
        acting = self.a.employer_side(self.s, c.employer)
        training_id = self._target(c.target, acting.employer_id)
        uow = SavepointUnitOfWork(self.s)
        if isinstance(c, TrainingRectify):
            done = rectify_training(
                uow,
                training_id,
                actor=self.a.actor,
                reason=c.reason,
                data=c.data,
                expected_version=None,
            )
        else:
            done = cancel_training(uow, training_id, actor=self.a.actor, reason=c.reason)
        number = self.s.scalar(
            select(Person.national_number)
            .join(Training, Training.person_id == Person.id)
            .where(Training.id == training_id)
        )
        action = "trainings.rectify" if isinstance(c, TrainingRectify) else "trainings.cancel"
        self._audited(action, acting, str(number))
        return Outcome(
            record.seq,
            record.line,
            record.record_id,
            record.kind,
            "accepted",
            done.training_id,
            done.version,
        )

    # --- rights ------------------------------------------------------------------------------

    def _right(self, record: Record, c: RightSet) -> Outcome:
        acting = self.a.acting(self.s, c.employer, Scope.EMPLOYER_RIGHTS_WRITE)
        inner = ChunkContainer(
            self.a.container.settings,
            self.a.container.engine,
            self.a.container.session_factory,
            self.a.container.rules,
            chunk_session=self.s,
        )
        (result,) = set_rights(
            inner,
            enterprise_number=acting.enterprise_number,
            items=[SetRight(c.worker, c.year, c.days, c.reason)],
            actor=self.a.actor,
        )
        if result.status == "rejected":
            error = result.error or {}
            name = error.get("field")
            return Outcome(
                record.seq,
                record.line,
                record.record_id,
                record.kind,
                "rejected",
                code=str(error.get("code", "invalid_value")),
                field="worker" if name == "national_number" else name,
                message=str(error.get("message", "")),
            )
        if result.status == "accepted":
            self._audited("rights.write", acting, self.a.national_number(c.worker))
        return Outcome(
            record.seq,
            record.line,
            record.record_id,
            record.kind,
            result.status,
            version=result.version,
        )

    # --- audit trail -------------------------------------------------------------------------

    def _audited(self, action: str, acting: Acting, number: str) -> None:
        key = (action, acting.enterprise_number, acting.mandate_id)
        self.audit.setdefault(key, (acting, []))[1].append(number)

    def _write_audit(self) -> None:
        """One audit row per person changed, per action and employer, in the chunk's
        transaction (as an API request does, ADR 0006); the batch ticket is the request id."""
        ticket = self.a.caller.client_id
        for (action, _en, _mandate), (acting, numbers) in self.audit.items():
            record_personal_data_access(
                self.s,
                caller=self.a.caller,
                acting=acting,
                action=action,
                subjects={"national_numbers": numbers},
                request_id=ticket[:128],
            )

    def _remember(self) -> None:
        if not self.new_ids:
            return
        insert_rows(
            self.s,
            SenderRecord.__table__,  # type: ignore[arg-type]
            [
                {
                    "sender": self.sender,
                    "record_id": r.record_id,
                    "digest": r.digest,
                    "batch_id": self.a.batch_id,
                    "training_id": o.training_id,
                    "version": o.version,
                }
                for r, o in self.new_ids
            ],
        )
