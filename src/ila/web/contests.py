"""A person contests a training record of their account; the employer the record belongs to
sees the open contests and resolves them. A record with an open contest shows "contested"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import Conflict, NotFound, ValidationError
from ila.identity.service import find_person
from ila.trainings.models import Training
from ila.trainings.service import current_version
from ila.web.models import Contest


def _text(value: str, field: str) -> str:
    text = value.strip()
    if not text or len(text) > 1000:
        raise ValidationError(f"{field} must be 1 to 1000 characters", field=field, code="required")
    return text


def open_contest(uow: UnitOfWork, *, national_number: str, training_id: int, reason: str) -> int:
    """Only the person's own records; a record of someone else is as unknown."""
    why = _text(reason, "reason")
    with uow:
        s = uow.session
        person = find_person(s, national_number)
        training = s.get(Training, training_id)
        if training is None or training.person_id != person.id:
            raise NotFound("training not found", field="training_id")
        if open_contests_of(s, [training_id]):
            raise Conflict(
                "this record is already contested", field="training_id", code="already_contested"
            )
        contest = Contest(
            training_id=training_id,
            employer_id=training.employer_id,
            national_number=person.national_number,
            reason=why,
            opened_at=utcnow(),
        )
        s.add(contest)
        s.flush()
        uow.commit()
        return contest.id


def open_contests_of(session: Session, training_ids: list[int]) -> set[int]:
    """Which of these trainings have an open contest."""
    if not training_ids:
        return set()
    return set(
        session.scalars(
            select(Contest.training_id).where(
                Contest.training_id.in_(training_ids), Contest.resolved_at.is_(None)
            )
        )
    )


@dataclass(frozen=True)
class OpenContest:
    id: int
    training_id: int
    title: str
    national_number: str
    reason: str
    opened_at: datetime


def employer_contests(session: Session, employer_id: int) -> list[OpenContest]:
    rows = session.scalars(
        select(Contest)
        .where(Contest.employer_id == employer_id, Contest.resolved_at.is_(None))
        .order_by(Contest.id)
    )
    return [
        OpenContest(
            c.id,
            c.training_id,
            current_version(session, c.training_id).title,
            c.national_number,
            c.reason,
            c.opened_at,
        )
        for c in rows
    ]


def resolve_contest(
    uow: UnitOfWork, contest_id: int, *, employer_id: int, resolution: str, actor: str
) -> None:
    answer = _text(resolution, "resolution")
    with uow:
        contest = uow.session.get(Contest, contest_id)
        if contest is None or contest.employer_id != employer_id or contest.resolved_at:
            raise NotFound(f"no open contest {contest_id}", field="contest_id")
        contest.resolved_at = utcnow()
        contest.resolved_by = actor
        contest.resolution = answer
        uow.commit()
