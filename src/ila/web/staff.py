"""The staff of regional services, service providers and the operator in the web interface.

A demo persona carries its organisation (``auth.PERSONAS``); anyone logging in with OpenID
Connect is a person until the operator records what they work as: ``ila staff grant``
(counsellor of a regional service with the function its authorisation names, employee of a
service provider, or operator). The assignment is looked up on every request by the login's
national number, so a revocation takes effect on the next page. One active assignment per
person: a new grant replaces the previous one, which stays, revoked. Every grant and
revocation is written to the audit trail (the person sees it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ila.audit.service import record_event
from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import NotFound, UnknownCode, ValidationError
from ila.identity.domain import EnterpriseNumber, NationalNumber
from ila.web.models import WebStaff

KINDS = ("counsellor", "provider", "operator")


@dataclass(frozen=True, slots=True)
class Staff:
    kind: str
    organisation: str
    function: str | None


def active_staff(session: Session, national_number: str) -> Staff | None:
    row = session.execute(
        select(WebStaff.kind, WebStaff.organisation, WebStaff.function)
        .where(WebStaff.national_number == national_number, WebStaff.revoked_at.is_(None))
        .order_by(WebStaff.id.desc())
        .limit(1)
    ).first()
    return Staff(row.kind, row.organisation, row.function) if row else None


def list_staff(session: Session, *, with_revoked: bool = False) -> list[WebStaff]:
    query = select(WebStaff).order_by(WebStaff.id)
    if not with_revoked:
        query = query.where(WebStaff.revoked_at.is_(None))
    return list(session.scalars(query))


def _audit(session: Session, row: WebStaff, *, actor: str, action: str) -> None:
    record_event(
        session,
        actor=actor,
        action=action,
        resource="web_staff",
        request_id=f"staff-{uuid.uuid4().hex}",
        details={"staff_id": row.id, "kind": row.kind, "function": row.function},
        on_behalf_of=row.organisation,
        subject_national_number=row.national_number,
    )


def grant_staff(
    uow: UnitOfWork,
    *,
    national_number: str,
    kind: str,
    organisation: str,
    function: str | None,
    actor: str,
) -> int:
    """Record that the person works as ``kind`` for ``organisation`` (replacing any earlier
    assignment); a counsellor needs the function their authorisation names. Audited."""
    number = NationalNumber.parse(national_number.strip()).value
    if kind not in KINDS:
        expected = ", ".join(KINDS)
        raise UnknownCode(f"unknown kind {kind!r}; expected one of {expected}", field="kind")
    en = EnterpriseNumber.parse(organisation.strip(), field="organisation").value
    role = (function or "").strip() or None
    if kind == "counsellor" and role is None:
        raise ValidationError(
            "a counsellor acts in a function an authorisation names (e.g. guidance_counsellor)",
            field="function",
            code="required",
        )
    if role is not None and len(role) > 60:
        raise ValidationError("at most 60 characters", field="function", code="too_long")
    with uow:
        s = uow.session
        now = utcnow()
        for previous in s.scalars(
            select(WebStaff).where(
                WebStaff.national_number == number, WebStaff.revoked_at.is_(None)
            )
        ):
            previous.revoked_at, previous.revoked_by = now, actor
        row = WebStaff(
            national_number=number,
            kind=kind,
            organisation=en,
            function=role,
            granted_at=now,
            granted_by=actor,
        )
        s.add(row)
        s.flush()
        _audit(s, row, actor=actor, action="grant")
        uow.commit()
        return row.id


def revoke_staff(uow: UnitOfWork, staff_id: int, *, actor: str) -> None:
    with uow:
        row = uow.session.get(WebStaff, staff_id)
        if row is None or row.revoked_at is not None:
            raise NotFound(f"no active staff assignment {staff_id}", field="staff_id")
        row.revoked_at, row.revoked_by = utcnow(), actor
        _audit(uow.session, row, actor=actor, action="revoke")
        uow.commit()
