"""The operator's page: name (and remove) a company's access administrators.

A user who logs in with OpenID Connect holds no employer role until someone grants one; the
access administrator grants the others (``/employer/{en}/access``), and the operator names
the first. The grant follows the rule of ``web_roles``: one active role per person and
company, a new grant replaces the previous one (kept, revoked). Every grant and revocation is
written to the audit trail with the person concerned."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from ila.audit.service import record_event
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.db.uow import UnitOfWork
from ila.errors import DomainError, NotFound
from ila.identity.domain import EnterpriseNumber, NationalNumber
from ila.identity.models import Employer
from ila.identity.service import find_employer
from ila.web import auth
from ila.web.auth import Role
from ila.web.models import WebRole
from ila.web.pages import Renderer, _user

LIST_LIMIT = 500


@dataclass(frozen=True)
class AccessAdministrator:
    id: int
    enterprise_number: str
    employer: str
    national_number: str
    granted_at: datetime
    granted_by: str


def access_administrators(session: Session) -> list[AccessAdministrator]:
    """The active access administrators of every company, by company."""
    rows = session.execute(
        select(WebRole, Employer.enterprise_number, Employer.name)
        .join(Employer, Employer.id == WebRole.employer_id)
        .where(WebRole.role == Role.ACCESS_ADMIN.value, WebRole.revoked_at.is_(None))
        .order_by(Employer.enterprise_number, WebRole.id)
        .limit(LIST_LIMIT)
    ).all()
    return [
        AccessAdministrator(r.id, en, name, r.national_number, r.granted_at, r.granted_by)
        for r, en, name in rows
    ]


def _audit(
    uow: UnitOfWork, *, actor: str, organisation: str, action: str, row: WebRole, en: str
) -> None:
    record_event(
        uow.session,
        actor=actor,
        action=action,
        resource="web_role",
        request_id=f"web-{uuid.uuid4().hex}",
        details={"role": row.role, "role_id": row.id},
        organisation=organisation,
        on_behalf_of=en,
        subject_national_number=row.national_number,
    )


def grant_access_admin(
    uow: UnitOfWork, *, enterprise_number: str, national_number: str, actor: str, organisation: str
) -> int:
    """Make the person the company's access administrator (replacing any role they held
    there); audited."""
    en = EnterpriseNumber.parse(enterprise_number.strip(), field="enterprise_number").value
    nn = NationalNumber.parse(national_number.strip()).value
    with uow:
        s = uow.session
        employer = find_employer(s, en)
        now = utcnow()
        for previous in s.scalars(
            select(WebRole).where(
                WebRole.employer_id == employer.id,
                WebRole.national_number == nn,
                WebRole.revoked_at.is_(None),
            )
        ):
            previous.revoked_at = now
            previous.revoked_by = actor
        row = WebRole(
            employer_id=employer.id,
            national_number=nn,
            role=Role.ACCESS_ADMIN.value,
            granted_at=now,
            granted_by=actor,
        )
        s.add(row)
        s.flush()
        _audit(uow, actor=actor, organisation=organisation, action="grant", row=row, en=en)
        uow.commit()
        return row.id


def revoke_access_admin(uow: UnitOfWork, role_id: int, *, actor: str, organisation: str) -> None:
    """End an access administrator's role (any other role is not the operator's: not found);
    audited."""
    with uow:
        s = uow.session
        row = s.get(WebRole, role_id)
        if row is None or row.revoked_at is not None or row.role != Role.ACCESS_ADMIN.value:
            raise NotFound(f"no active access administrator {role_id}", field="role_id")
        row.revoked_at = utcnow()
        row.revoked_by = actor
        en = s.scalar(select(Employer.enterprise_number).where(Employer.id == row.employer_id))
        _audit(uow, actor=actor, organisation=organisation, action="revoke", row=row, en=en or "")
        uow.commit()


def _operator(request: Request) -> tuple[auth.WebUser, str]:
    user = _user(request)
    if user.kind != "operator" or not user.organisation:
        raise NotFound("page not found", field="path")
    return user, user.organisation


def build_router(container: Container, render: Renderer) -> APIRouter:
    router = APIRouter()

    def page(request: Request, status: int = 200, **extra: Any) -> Response:
        with container.uow() as uow:
            admins = access_administrators(uow.session)
        return render(request, "operator_access.html", status=status, admins=admins, **extra)

    @router.get("/operator/access", response_class=HTMLResponse)
    def operator_access(request: Request) -> Response:
        _operator(request)
        return page(request)

    @router.post("/operator/access")
    async def operator_grant(request: Request) -> Response:
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        user, organisation = _operator(request)
        form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
        try:
            grant_access_admin(
                container.uow(),
                enterprise_number=form.get("enterprise_number", ""),
                national_number=form.get("national_number", ""),
                actor=user.actor,
                organisation=organisation,
            )
        except DomainError as exc:
            return page(request, status=422, error=exc, form=form)
        return RedirectResponse("/operator/access", status_code=303)

    @router.post("/operator/access/{role_id}/revoke")
    async def operator_revoke(request: Request, role_id: int) -> Response:
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        user, organisation = _operator(request)
        revoke_access_admin(container.uow(), role_id, actor=user.actor, organisation=organisation)
        return RedirectResponse("/operator/access", status_code=303)

    return router
