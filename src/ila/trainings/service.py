"""Use cases on training records. Nothing is overwritten: every change is a new version."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import and_, not_, select
from sqlalchemy.orm import Session

from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.db.versioning import Operation, as_recorded_on
from ila.errors import Conflict, DuplicateRecord, NotFound, StaleVersion, ValidationError
from ila.exchange.outbox import emit
from ila.identity.models import Employer, Person
from ila.identity.service import find_employer, find_person
from ila.trainings.domain import (
    DurationUnit,
    Nature,
    NotCountingReason,
    Source,
    Status,
    TrainingData,
    duration_minutes,
)
from ila.trainings.models import Training, TrainingVersion

DEFAULT_DAY_MINUTES = 456

_CONTENT_FIELDS = tuple(f.name for f in fields(TrainingData))


@dataclass(frozen=True)
class Recorded:
    training_id: int
    version: int
    created: bool  # False when the same record was already there (idempotent replay)


def _content(data: TrainingData, day_minutes: int) -> dict[str, object]:
    values = {name: getattr(data, name) for name in _CONTENT_FIELDS}
    for name in ("duration_unit", "nature", "status", "not_counting_reason"):
        if values[name] is not None:
            values[name] = str(values[name])
    values["duration_minutes"] = duration_minutes(
        data.duration_value, data.duration_unit, day_minutes
    )
    return values


def version_data(v: TrainingVersion) -> TrainingData:
    """The content of a stored version as domain data."""
    return TrainingData(
        title=v.title,
        provider=v.provider,
        start_date=v.start_date,
        end_date=v.end_date,
        duration_value=v.duration_value,
        duration_unit=DurationUnit(v.duration_unit),
        nature=Nature(v.nature),
        status=Status(v.status),
        counts_toward_right=v.counts_toward_right,
        not_counting_reason=(
            NotCountingReason(v.not_counting_reason) if v.not_counting_reason else None
        ),
        certificate=v.certificate,
        certificate_valid_until=v.certificate_valid_until,
        financing=v.financing,
    )


def _day_minutes(session: Session, employer_id: int | None) -> int:
    if employer_id is None:
        return DEFAULT_DAY_MINUTES
    minutes = session.scalar(
        select(Employer.full_time_day_minutes).where(Employer.id == employer_id)
    )
    return minutes or DEFAULT_DAY_MINUTES


def current_version(session: Session, training_id: int) -> TrainingVersion:
    version = session.scalar(
        select(TrainingVersion).where(
            TrainingVersion.training_id == training_id, TrainingVersion.superseded_at.is_(None)
        )
    )
    if version is None:
        raise NotFound(f"no training {training_id}", field="training_id")
    return version


def record_training(
    uow: UnitOfWork,
    *,
    actor: str,
    source: Source,
    sender: str,
    sender_record_id: str,
    national_number: str,
    enterprise_number: str | None,
    data: TrainingData,
) -> Recorded:
    """Create a training record. Replaying the same sender record id with the same content
    returns the existing record; with different content it is refused (rectify instead)."""
    data.validate()
    record_id = sender_record_id.strip()
    if not record_id or len(record_id) > 100:
        raise ValidationError(
            "sender record id must be 1 to 100 characters",
            field="sender_record_id",
            code="required",
        )
    with uow:
        s = uow.session
        person = find_person(s, national_number)
        employer_id = find_employer(s, enterprise_number).id if enterprise_number else None
        content = _content(data, _day_minutes(s, employer_id))
        existing = s.scalar(
            select(Training).where(
                Training.sender == sender, Training.sender_record_id == record_id
            )
        )
        if existing is not None:
            current = current_version(s, existing.id)
            same = (
                existing.person_id == person.id
                and existing.employer_id == employer_id
                and all(getattr(current, k) == v for k, v in content.items())
            )
            if same and not current.cancelled:
                return Recorded(existing.id, current.version, created=False)
            raise DuplicateRecord(
                f"record id {record_id!r} was already used by this sender for other content; "
                "rectify the record instead",
                field="sender_record_id",
            )
        training = Training(
            person_id=person.id,
            employer_id=employer_id,
            source=source.value,
            sender=sender,
            sender_record_id=record_id,
        )
        s.add(training)
        s.flush()
        s.add(
            TrainingVersion(
                training_id=training.id,
                version=1,
                operation=Operation.CREATE.value,
                recorded_at=utcnow(),
                recorded_by=actor,
                reason=None,
                cancelled=False,
                **content,
            )
        )
        _notify(s, "training.recorded", training.person_id, training.id, 1)
        uow.commit()
        return Recorded(training.id, 1, created=True)


def _notify(session: Session, kind: str, person_id: int, training_id: int, version: int) -> None:
    """A thin event in the outbox, in the change's transaction: institutions whose directory
    covers the person are told *that* the account changed, and pull the details through the
    authorised API (issue 6)."""
    national_number = session.scalar(select(Person.national_number).where(Person.id == person_id))
    emit(
        session,
        f"ila.account.{kind}",
        national_number,
        {"training_id": training_id, "version": version},
    )


def _supersede(
    uow: UnitOfWork,
    training_id: int,
    expected_version: int | None,
) -> tuple[Training, TrainingVersion, datetime]:
    s = uow.session
    training = s.get(Training, training_id)
    if training is None:
        raise NotFound(f"no training {training_id}", field="training_id")
    current = current_version(s, training_id)
    if expected_version is not None and current.version != expected_version:
        raise StaleVersion(
            f"training {training_id} is at version {current.version}, "
            f"not {expected_version}; reload it and try again",
            field="version",
            current_version=current.version,
        )
    if current.cancelled:
        raise Conflict(
            f"training {training_id} is cancelled", field="training_id", code="already_cancelled"
        )
    now = utcnow()
    current.superseded_at = now
    s.flush()
    return training, current, now


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise ValidationError("a reason is required", field="reason", code="required")
    return text[:500]


def rectify_training(
    uow: UnitOfWork,
    training_id: int,
    *,
    actor: str,
    reason: str,
    data: TrainingData,
    expected_version: int | None,
) -> Recorded:
    """Replace the content by a new version; the earlier version stays in the history."""
    data.validate()
    why = _reason(reason)
    with uow:
        training, current, now = _supersede(uow, training_id, expected_version)
        content = _content(data, _day_minutes(uow.session, training.employer_id))
        uow.session.add(
            TrainingVersion(
                training_id=training_id,
                version=current.version + 1,
                operation=Operation.RECTIFY.value,
                recorded_at=now,
                recorded_by=actor,
                reason=why,
                cancelled=False,
                **content,
            )
        )
        _notify(
            uow.session, "training.rectified", training.person_id, training_id, current.version + 1
        )
        uow.commit()
        return Recorded(training_id, current.version + 1, created=True)


def cancel_training(
    uow: UnitOfWork,
    training_id: int,
    *,
    actor: str,
    reason: str,
    expected_version: int | None = None,
) -> Recorded:
    """Void the record with a reason (a new version marked cancelled; nothing is deleted)."""
    why = _reason(reason)
    with uow:
        training, current, now = _supersede(uow, training_id, expected_version)
        content = _content(version_data(current), _day_minutes(uow.session, training.employer_id))
        uow.session.add(
            TrainingVersion(
                training_id=training_id,
                version=current.version + 1,
                operation=Operation.CANCEL.value,
                recorded_at=now,
                recorded_by=actor,
                reason=why,
                cancelled=True,
                **content,
            )
        )
        _notify(
            uow.session, "training.cancelled", training.person_id, training_id, current.version + 1
        )
        uow.commit()
        return Recorded(training_id, current.version + 1, created=True)


def history(session: Session, training_id: int) -> list[TrainingVersion]:
    versions = list(
        session.scalars(
            select(TrainingVersion)
            .where(TrainingVersion.training_id == training_id)
            .order_by(TrainingVersion.version)
        )
    )
    if not versions:
        raise NotFound(f"no training {training_id}", field="training_id")
    return versions


def trainings_of(
    session: Session,
    person_id: int,
    *,
    employer_id: int | None = None,
    as_of: datetime | None = None,
    include_cancelled: bool = False,
) -> list[tuple[Training, TrainingVersion]]:
    """A person's trainings as recorded at ``as_of`` (now when None), newest first."""
    query = (
        select(Training, TrainingVersion)
        .join(TrainingVersion, TrainingVersion.training_id == Training.id)
        .where(Training.person_id == person_id, as_recorded_on(TrainingVersion, as_of))
        .order_by(TrainingVersion.start_date.desc(), Training.id.desc())
    )
    if employer_id is not None:
        query = query.where(Training.employer_id == employer_id)
    if not include_cancelled:
        query = query.where(TrainingVersion.cancelled.is_(False))
    return [(t, v) for t, v in session.execute(query)]


def used_minutes_by_year(
    session: Session, person_id: int, employer_id: int, *, as_of: datetime | None = None
) -> dict[int, int]:
    """Minutes of followed, counting, non-cancelled trainings per year.

    Decision: a training counts toward the right of the year in which it ends."""
    rows = session.execute(
        select(TrainingVersion.end_date, TrainingVersion.duration_minutes)
        .join(Training, Training.id == TrainingVersion.training_id)
        .where(
            Training.person_id == person_id,
            Training.employer_id == employer_id,
            as_recorded_on(TrainingVersion, as_of),
            TrainingVersion.cancelled.is_(False),
            TrainingVersion.counts_toward_right.is_(True),
            TrainingVersion.status == Status.FOLLOWED.value,
        )
    )
    used: dict[int, int] = {}
    for end, minutes in rows:
        used[end.year] = used.get(end.year, 0) + minutes
    return used


# --- per employer (API) --------------------------------------------------------------------


def owned_training(session: Session, training_id: int, employer_id: int) -> Training:
    """The training if it belongs to this employer; another employer's training is as unknown."""
    training = session.get(Training, training_id)
    if training is None or training.employer_id != employer_id:
        raise NotFound("training not found", field="training_id")
    return training


def to_verify(training: Training) -> bool:
    """A training provider's record the employer has not verified yet."""
    return training.source == Source.PROVIDER.value and training.verified_at is None


def verify_training(uow: UnitOfWork, training_id: int, *, employer_id: int, actor: str) -> Training:
    """The employer confirms a record a training provider sent; verifying it again changes
    nothing. Records the employer's side sent need no verification."""
    with uow:
        training = owned_training(uow.session, training_id, employer_id)
        if training.source != Source.PROVIDER.value:
            raise Conflict(
                f"training {training_id} was not sent by a training provider; "
                "there is nothing to verify",
                field="training_id",
                code="nothing_to_verify",
            )
        if training.verified_at is None:
            training.verified_at = utcnow()
            training.verified_by = actor
            uow.session.flush()
        uow.commit()
        return training


@dataclass(frozen=True)
class TrainingFilter:
    person_id: int | None = None
    start: date | None = None  # trainings ending on or after this day
    end: date | None = None  # trainings starting on or before this day
    nature: Nature | None = None
    status: Status | None = None
    counts_toward_right: bool | None = None
    to_verify: bool | None = None
    include_cancelled: bool = False


def employer_trainings(
    session: Session,
    employer_id: int,
    where: TrainingFilter,
    *,
    after_id: int | None,
    limit: int,
) -> list[tuple[Training, TrainingVersion, str]]:
    """Current versions of the employer's trainings with the worker's national number, by id,
    after ``after_id`` (keyset pagination)."""
    query = (
        select(Training, TrainingVersion, Person.national_number)
        .join(TrainingVersion, TrainingVersion.training_id == Training.id)
        .join(Person, Person.id == Training.person_id)
        .where(Training.employer_id == employer_id, TrainingVersion.superseded_at.is_(None))
        .order_by(Training.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(Training.id > after_id)
    if where.person_id is not None:
        query = query.where(Training.person_id == where.person_id)
    if where.start is not None:
        query = query.where(TrainingVersion.end_date >= where.start)
    if where.end is not None:
        query = query.where(TrainingVersion.start_date <= where.end)
    if where.nature is not None:
        query = query.where(TrainingVersion.nature == where.nature.value)
    if where.status is not None:
        query = query.where(TrainingVersion.status == where.status.value)
    if where.counts_toward_right is not None:
        query = query.where(TrainingVersion.counts_toward_right.is_(where.counts_toward_right))
    if where.to_verify is not None:
        pending = and_(Training.source == Source.PROVIDER.value, Training.verified_at.is_(None))
        query = query.where(pending if where.to_verify else not_(pending))
    if not where.include_cancelled:
        query = query.where(TrainingVersion.cancelled.is_(False))
    return [(t, v, n) for t, v, n in session.execute(query)]


# --- bulk writers (XML batch channel) ------------------------------------------------------


def stored_content(data: TrainingData, day_minutes: int) -> dict[str, object]:
    """The version columns :func:`record_training` stores for ``data`` (validate it first):
    bulk writers insert exactly what the one-record use case would."""
    return _content(data, day_minutes)
