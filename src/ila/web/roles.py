"""Roles people hold with an employer in the web interface, granted and revoked by the
employer's access administrator. A person holds at most one active role per employer: a new
grant replaces the previous one (which stays, revoked, in the history)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import NotFound, UnknownCode
from ila.identity.domain import NationalNumber
from ila.identity.models import Employer
from ila.web.auth import Role
from ila.web.models import WebRole

GRANTABLE = (Role.ADMINISTRATOR, Role.EDITOR, Role.VIEWER)


def active_roles(session: Session, national_number: str) -> dict[str, Role]:
    """Enterprise number → the person's active role there."""
    rows = session.execute(
        select(Employer.enterprise_number, WebRole.role)
        .join(Employer, Employer.id == WebRole.employer_id)
        .where(WebRole.national_number == national_number, WebRole.revoked_at.is_(None))
    )
    return {en: Role(role) for en, role in rows}


def employer_roles(session: Session, employer_id: int) -> list[WebRole]:
    return list(
        session.scalars(
            select(WebRole)
            .where(WebRole.employer_id == employer_id, WebRole.revoked_at.is_(None))
            .order_by(WebRole.id)
        )
    )


def grant_role(
    uow: UnitOfWork, *, employer_id: int, national_number: str, role: str, actor: str
) -> int:
    number = NationalNumber.parse(national_number.strip()).value
    try:
        granted = Role(role)
    except ValueError:
        granted = None
    if granted not in GRANTABLE:
        allowed = ", ".join(r.value for r in GRANTABLE)
        raise UnknownCode(f"unknown role {role!r}; expected one of {allowed}", field="role")
    with uow:
        s = uow.session
        now = utcnow()
        for previous in s.scalars(
            select(WebRole).where(
                WebRole.employer_id == employer_id,
                WebRole.national_number == number,
                WebRole.revoked_at.is_(None),
            )
        ):
            previous.revoked_at = now
            previous.revoked_by = actor
        row = WebRole(
            employer_id=employer_id,
            national_number=number,
            role=granted.value,
            granted_at=now,
            granted_by=actor,
        )
        s.add(row)
        s.flush()
        uow.commit()
        return row.id


def revoke_role(uow: UnitOfWork, role_id: int, *, employer_id: int, actor: str) -> None:
    with uow:
        row = uow.session.get(WebRole, role_id)
        if row is None or row.employer_id != employer_id or row.revoked_at is not None:
            raise NotFound(f"no active role {role_id}", field="role_id")
        row.revoked_at = utcnow()
        row.revoked_by = actor
        uow.commit()
