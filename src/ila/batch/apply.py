"""Applying the records of one chunk, inside the chunk's transaction, through the same use
cases and rules as the API: :meth:`TrainingData.validate` and the training service for every
training record, ``set_rights`` for every right, ``acting_for`` for authorisation. New
trainings, by far the bulk of a file, are checked per record and then written in multi-row
statements; everything else goes through the one-record use cases, each in a savepoint."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from ila.access.audit import record_personal_data_access
from ila.access.domain import Acting, Caller, ProviderKind, Scope
from ila.access.models import Mandate
from ila.access.service import acting_for
from ila.batch.bulk import (
    NULL,
    among,
    binders,
    copy_field,
    copy_text,
    is_postgresql,
    next_ids,
    write_lines,
    write_tuples,
)
from ila.batch.models import BatchRecord
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
from ila.exchange.outbox import OutboxEvent
from ila.identity.domain import NationalNumber
from ila.identity.models import Employer, Person
from ila.rights.service import SetRight, set_rights
from ila.trainings.domain import Source, Status, TrainingData
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
_CONTENTS_KEPT = 20_000  # stored forms of training contents remembered, at most
_EVENT_TYPE = "ila.account.training.recorded"
_TRAININGS: Table = Training.__table__  # type: ignore[assignment]
_VERSIONS: Table = TrainingVersion.__table__  # type: ignore[assignment]
_EVENTS: Table = OutboxEvent.__table__  # type: ignore[assignment]
_RESULTS: Table = BatchRecord.__table__  # type: ignore[assignment]
_T_COLUMNS = (
    "id",
    "person_id",
    "employer_id",
    "source",
    "sender",
    "sender_record_id",
    "created_at",
)
_V_HEAD = (
    "training_id",
    "version",
    "operation",
    "recorded_at",
    "superseded_at",
    "recorded_by",
    "reason",
    "cancelled",
)
_E_COLUMNS = ("event_id", "type", "source", "subject", "occurred_at", "data")
_R_COLUMNS = (
    "batch_id",
    "seq",
    "line",
    "record_id",
    "kind",
    "status",
    "code",
    "field",
    "message",
    "training_id",
    "version",
    "sender",
    "digest",
)
_V4 = ~(0xF000 << 64) & ~(0xC000 << 48) & ((1 << 128) - 1)
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)


def _event_data(training_id: int) -> str:
    """The event's data as ``json.dumps`` writes it: ``{"training_id": …, "version": 1}``."""
    return f'{{"training_id": {training_id}, "version": 1}}'


def event_ids(count: int) -> Iterator[str]:
    """``count`` new event ids, as :func:`ila.exchange.outbox.new_event_id` makes them
    (``evt_`` and a random UUID 4 in hex), from one read of the system's random source."""
    raw = os.urandom(16 * count)
    for i in range(0, 16 * count, 16):
        yield f"evt_{int.from_bytes(raw[i : i + 16]) & _V4 | _V4_BITS:032x}"


# the record ids applied before: accepted results, found by the partial unique index
_PRIOR_PG = text(
    "SELECT s.record_id, s.digest, s.training_id, s.version "
    "FROM unnest(string_to_array(:ids, chr(10))) AS u(rid) CROSS JOIN LATERAL ("
    " SELECT record_id, digest, training_id, version FROM batch_records"
    " WHERE sender = :sender AND record_id = u.rid AND digest IS NOT NULL LIMIT 1) AS s"
)
_EXISTING_PG = text(
    "SELECT t.sender_record_id "
    "FROM unnest(string_to_array(:ids, chr(10))) AS u(rid) CROSS JOIN LATERAL ("
    " SELECT sender_record_id FROM trainings"
    " WHERE sender = :sender AND sender_record_id = u.rid LIMIT 1) AS t"
)

_PRIOR_SQLITE = text(
    "SELECT record_id, digest, training_id, version FROM batch_records "
    "WHERE sender = :sender AND record_id IN (SELECT value FROM json_each(:ids)) "
    "AND digest IS NOT NULL"
)
_EXISTING_SQLITE = text(
    "SELECT sender_record_id FROM trainings "
    "WHERE sender = :sender AND sender_record_id IN (SELECT value FROM json_each(:ids))"
)
_CREATED_SQLITE = text(
    "SELECT sender_record_id, id FROM trainings "
    "WHERE sender = :sender AND sender_record_id IN (SELECT value FROM json_each(:ids))"
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
    digest: str | None = None
    """An accepted record's fingerprint: stored with its result, the record id is applied."""


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


@dataclass(slots=True)
class _Create:
    record: Record
    person_id: int
    acting: Acting
    number: str
    source: Source
    content: Any  # the version's content columns, bound: text (PostgreSQL) or a tuple


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
    _stored: dict[tuple[TrainingData, int], Any] = field(default_factory=dict)
    _stored_by_id: dict[int, tuple[TrainingData, int, Any]] = field(default_factory=dict)
    _binders: dict[str, list[Callable[[Any], Any]]] = field(default_factory=dict)
    content_columns: tuple[str, ...] = ()  # of a version, in stored_content's order

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
            raise found.with_traceback(None)  # raised again and again: keep no traceback
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
            raise found.with_traceback(None)  # raised again and again: keep no traceback
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

    def bound(self, session: Session, table: Table, columns: Sequence[str]) -> list[Any]:
        """The bind processing of ``columns`` of ``table`` (see :func:`binders`), kept."""
        key = f"{table.name}:{','.join(columns)}"
        found = self._binders.get(key)
        if found is None:
            found = self._binders[key] = binders(session, table, columns)
        return found

    def stored(self, session: Session, data: TrainingData, day_minutes: int) -> Any:
        """The content columns of a first version of ``data`` (:func:`stored_content`, what
        :func:`record_training` stores), bound for the driver: a fragment of a ``COPY`` line on
        PostgreSQL, a tuple on SQLite. Remembered per content and day length: a file repeats
        the same course for many workers."""
        # by identity first: the reader gives one TrainingData per distinct content
        seen = self._stored_by_id.get(id(data))
        if seen is not None and seen[0] is data and seen[1] == day_minutes:
            return seen[2]
        key = (data, day_minutes)
        found = self._stored.get(key)
        if found is None:
            content = stored_content(data, day_minutes)
            if not self.content_columns:
                self.content_columns = tuple(content)
            columns = self.content_columns
            values = [
                bind(content[c])
                for bind, c in zip(self.bound(session, _VERSIONS, columns), columns, strict=True)
            ]
            postgresql = is_postgresql(session)
            found = "\t".join(map(copy_field, values)) if postgresql else tuple(values)
            if len(self._stored) >= _CONTENTS_KEPT:
                self._stored.clear()
            self._stored[key] = found
        if len(self._stored_by_id) >= _CONTENTS_KEPT:
            self._stored_by_id.clear()
        self._stored_by_id[id(data)] = (data, day_minutes, found)  # holds data: its id stays
        return found

    # --- one chunk ---------------------------------------------------------------------------

    def apply(self, session: Session, chunk: Sequence[Record]) -> list[Outcome]:
        """Apply the chunk in ``session`` (the caller commits) and return one outcome per
        record, in order; an accepted one carries its digest (its result, once stored, is
        its applied record id)."""
        run = _Chunk(self, session, chunk)
        run.check()
        return run.write(session)

    def prepare(
        self, session: Session, chunk: Sequence[Record], written: Prepared | None = None
    ) -> Prepared | None:
        """Check a chunk of new trainings with reads only in ``session``, for its writes to
        run later in another transaction (:meth:`Prepared.write`) while the next chunk is
        checked. None when the chunk needs :meth:`apply` instead, in one transaction: a record
        that is not a new training (it may depend on the writes before it), a record id
        recorded through another channel (the one-record use case decides), or one applied
        by ``written``, the chunk whose writes may still be under way (this chunk's look-ups
        could not see them)."""
        if any(r.command is not None and type(r.command) is not TrainingCreate for r in chunk):
            return None
        if written is not None and any(str(r.record_id) in written.applied for r in chunk):
            return None
        run = _Chunk(self, session, chunk)
        run.prefetch()
        if run.existing.difference(run.prior):
            return None
        run.check()
        return run


class _Chunk:
    """The records of one chunk: checked (:meth:`check`), then written (:meth:`write`)."""

    def __init__(self, applier: Applier, session: Session, chunk: Sequence[Record]) -> None:
        self.a = applier
        self.s = session
        self.chunk = chunk
        self.sender = applier.caller.organisation
        self.outcomes: dict[int, Outcome] = {}
        self.pending: list[_Create] = []
        self.applied: dict[str, tuple[str, Outcome | None]] = {}  # record id -> digest, outcome
        self.audit: dict[tuple[str, str, int | None], tuple[Acting, list[str]]] = {}
        self.prefetched = False

    # lookups for the whole chunk, in a few statements

    def prefetch(self) -> None:
        self.prefetched = True
        ids = [r.record_id for r in self.chunk if r.command is not None and r.record_id]
        self.prior: dict[str, tuple[str, int | None, int | None]] = {}
        self.existing: set[str] = set()
        if is_postgresql(self.s):
            # one probe of the unique index (sender, record id) per id, whatever the
            # statistics say: "= ANY(:ids)" under a generic plan filtered every row of the
            # sender against the whole list (seconds per chunk once a sender has 100,000 rows)
            # the ids as one text, one per line (a record id has no line break: its schema
            # type's pattern excludes them): psycopg dumps a list of 10,000 strings slowly
            given = {"sender": self.sender, "ids": "\n".join(ids)}
            for rid, digest, training_id, version in self.s.execute(_PRIOR_PG, given):
                self.prior[rid] = (digest, training_id, version)
            self.existing.update(self.s.scalars(_EXISTING_PG, given))
        else:
            # SQLite: the ids as one JSON array parameter (json_each), not IN lists that
            # SQLAlchemy compiles anew for every 900 values
            given = {"sender": self.sender, "ids": orjson.dumps(ids).decode()}
            for rid, digest, training_id, version in self.s.execute(_PRIOR_SQLITE, given):
                self.prior[rid] = (digest, training_id, version)
            self.existing.update(self.s.scalars(_EXISTING_SQLITE, given))
        numbers: set[str] = set()
        for r in self.chunk:
            if isinstance(r.command, TrainingCreate):
                try:
                    numbers.add(self.a.national_number(r.command.worker))
                except DomainError:
                    continue  # rejected with the record
        self.a.find_persons(self.s, numbers)

    def check(self) -> None:
        """Every record's rules, authorisation and replay check, in file order; new trainings
        wait in ``pending`` for :meth:`write` (other kinds are applied as they come)."""
        if not self.prefetched:
            self.prefetch()
        for record in self.chunk:
            if record.error is not None or record.command is None:
                error = record.error or ValidationError(
                    "unreadable record", code="schema_violation"
                )
                self.outcomes[record.seq] = rejected(record, error)
                continue
            rid = str(record.record_id)
            if rid in self.applied or rid in self.prior:
                replay = self._replay(record)
                if replay is not None:
                    self.outcomes[record.seq] = replay
                    continue
            command = record.command
            try:
                if type(command) is TrainingCreate:
                    outcome = self._create(record, command)
                else:
                    outcome = self._one(record)
            except DomainError as exc:
                self.outcomes[record.seq] = rejected(record, exc)
                continue
            if outcome is not None:
                self._done(record, outcome)

    def write(self, session: Session) -> list[Outcome]:
        """Write what :meth:`check` left pending, in ``session`` (the caller commits): new
        trainings, audit entries; the outcomes in file order (the caller stores them, see
        :func:`write_results`)."""
        self.s = session
        self._flush()
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
        """``outcome`` is the record's; an accepted one carries the record's digest, so that
        its result, once stored, is also its applied record id."""
        if outcome.status == "accepted":
            if outcome.digest is None:
                outcome = replace(outcome, digest=record.digest or None)
            self.applied[str(record.record_id)] = (record.digest, outcome)
        self.outcomes[record.seq] = outcome

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
        content = self.a.stored(self.s, c.data, self.a.day_minutes(self.s, acting.employer_id))
        self.pending.append(_Create(record, person_id, acting, number, source, content))
        self.existing.add(rid)
        self.applied[rid] = (record.digest, None)
        return None

    def _flush(self) -> None:
        """Write the pending new trainings: their trainings, first versions and outbox events
        (the same rows as :func:`record_training`), a multi-row write each."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        s, a = self.s, self.a
        now = utcnow()
        sender = self.sender
        if is_postgresql(s):
            ids = next_ids(s, _TRAININGS, len(pending))
            (at,) = (copy_field(bind(now)) for bind in a.bound(s, _TRAININGS, ("created_at",)))
            sender_text = copy_text(sender)
            write_lines(
                s,
                _TRAININGS,
                _T_COLUMNS,
                (
                    f"{i}\t{p.person_id}\t{p.acting.employer_id}\t{p.source.value}\t"
                    f"{sender_text}\t{copy_text(str(p.record.record_id))}\t{at}\n"
                    for i, p in zip(ids, pending, strict=True)
                ),
            )
            head = f"\t1\t{_CREATE}\t{at}\t{NULL}\t{copy_text(a.actor)}\t{NULL}\tf\t"
            write_lines(
                s,
                _VERSIONS,
                _V_HEAD + a.content_columns,
                (f"{i}{head}{p.content}\n" for i, p in zip(ids, pending, strict=True)),
            )
            # the same thin events as record_training, in the chunk's transaction (outbox)
            event = f"\t{_EVENT_TYPE}\t{copy_text(OUTBOX_SOURCE)}\t"
            write_lines(
                s,
                _EVENTS,
                _E_COLUMNS,
                (
                    f"{e}{event}{p.number}\t{at}\t{_event_data(i)}\n"
                    for e, i, p in zip(event_ids(len(pending)), ids, pending, strict=True)
                ),
            )
        else:
            (at,) = (bind(now) for bind in a.bound(s, _TRAININGS, ("created_at",)))
            write_tuples(
                s,
                _TRAININGS,
                _T_COLUMNS[1:],
                [
                    (
                        p.person_id,
                        p.acting.employer_id,
                        p.source.value,
                        sender,
                        p.record.record_id,
                        at,
                    )
                    for p in pending
                ],
            )
            given = {
                "sender": sender,
                "ids": orjson.dumps([p.record.record_id for p in pending]).decode(),
            }
            created: dict[str, int] = dict(s.execute(_CREATED_SQLITE, given).all())
            ids = [created[str(p.record.record_id)] for p in pending]
            (false,) = (bind(False) for bind in a.bound(s, _VERSIONS, ("cancelled",)))
            first = (1, _CREATE, at, None, a.actor, None, false)
            write_tuples(
                s,
                _VERSIONS,
                _V_HEAD + a.content_columns,
                [(i, *first, *p.content) for i, p in zip(ids, pending, strict=True)],
            )
            write_tuples(
                s,
                _EVENTS,
                _E_COLUMNS,
                [
                    (
                        e,
                        _EVENT_TYPE,
                        OUTBOX_SOURCE,
                        p.number,
                        at,
                        f'{{"training_id": {i}, "version": 1}}',
                    )
                    for e, i, p in zip(event_ids(len(pending)), ids, pending, strict=True)
                ],
            )
        for training_id, p in zip(ids, pending, strict=True):
            r = p.record
            self._audited("trainings.create", p.acting, p.number)
            self._done(
                r,
                Outcome(
                    r.seq,
                    r.line,
                    r.record_id,
                    r.kind,
                    "accepted",
                    training_id,
                    1,
                    digest=r.digest or None,
                ),
            )

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


Prepared = _Chunk
"""A chunk checked by :meth:`Applier.prepare`, whose writes are still to run."""


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None


def write_results(
    session: Session, batch_id: int, sender: str, outcomes: Sequence[Outcome]
) -> None:
    """Store the results of a chunk (``batch_records``), a multi-row write. The result of an
    accepted record (one with a digest) also records its id as applied by ``sender``: the
    partial unique index on (sender, record_id) refuses the same id applied twice."""
    if not outcomes:
        return
    if is_postgresql(session):
        sender_text = copy_text(sender)

        def line(o: Outcome) -> str:
            rid = NULL if not o.record_id else copy_text(o.record_id[:100])
            tid = NULL if o.training_id is None else o.training_id
            version = NULL if o.version is None else o.version
            applied = f"{sender_text}\t{o.digest}" if o.digest else f"{NULL}\t{NULL}"
            if o.code is None and o.field is None and o.message is None:
                return (
                    f"{batch_id}\t{o.seq}\t{o.line}\t{rid}\t{o.kind}\t{o.status}\t"
                    f"{NULL}\t{NULL}\t{NULL}\t{tid}\t{version}\t{applied}\n"
                )
            texts = "\t".join(
                NULL if v is None else copy_text(v)
                for v in (_cut(o.code, 60), _cut(o.field, 60), _cut(o.message, 1000))
            )
            return (
                f"{batch_id}\t{o.seq}\t{o.line}\t{rid}\t{copy_text(o.kind)}\t{o.status}\t"
                f"{texts}\t{tid}\t{version}\t{applied}\n"
            )

        write_lines(session, _RESULTS, _R_COLUMNS, map(line, outcomes))
        return
    write_tuples(
        session,
        _RESULTS,
        _R_COLUMNS,
        [
            (
                batch_id,
                o.seq,
                o.line,
                _cut(o.record_id, 100),
                o.kind,
                o.status,
                _cut(o.code, 60),
                _cut(o.field, 60),
                _cut(o.message, 1000),
                o.training_id,
                o.version,
                sender if o.digest else None,
                o.digest,
            )
            for o in outcomes
        ],
    )
