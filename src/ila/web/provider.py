"""The service provider's pages: the employers that granted it a mandate valid today, and for
each what the mandate allows — registering trainings for the employer's workers (a training
provider: planned or followed ones, "to verify" for the employer) and, for a social
secretariat or a software vendor, the company's worker list.

Every check is the API's: ``ila.access.service.acting_for`` with the scopes a mandate of each
kind gives (an expired or revoked mandate, another employer, an unknown one: the same *not
found*), the worker must be employed by the employer, and what is read or created is audited
with the mandate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from ila.access.domain import (
    MANDATE_SCOPES,
    Acting,
    Caller,
    ProviderKind,
    Scope,
    local_date,
    mandate_active,
)
from ila.access.models import Mandate
from ila.access.service import acting_for, grant_mandate
from ila.accounts.service import employer_workers
from ila.audit.service import record_personal_data_access
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.demo.generator import DEMO_EMPLOYER_CONSULTING, DEMO_EMPLOYER_PC200
from ila.employment.models import Employment
from ila.errors import DomainError, NotFound, ValidationError
from ila.identity.domain import NationalNumber
from ila.identity.models import Employer, Person
from ila.trainings.domain import Source, Status
from ila.trainings.service import record_training
from ila.web import auth
from ila.web.pages import MAX_BATCH, Renderer, _training_data, _user, _year

PROVIDER_SCOPES = frozenset().union(*MANDATE_SCOPES.values())
"""What a provider's web user may ask for; the mandate's kind narrows it (``acting_for``)."""
PROVIDER_STATUSES = frozenset({Status.PLANNED, Status.FOLLOWED})
PAGE_SIZE = 50


@dataclass(frozen=True)
class MandateLine:
    id: int
    enterprise_number: str
    name: str
    kind: str
    valid_from: date
    valid_to: date | None


def mandates_held(session: Session, provider: str, at: datetime) -> list[MandateLine]:
    """The mandates granted to ``provider`` that are in force at ``at``, by company."""
    day = local_date(at)
    rows = session.execute(
        select(Mandate, Employer.enterprise_number, Employer.name)
        .join(Employer, Employer.id == Mandate.employer_id)
        .where(
            Mandate.provider == provider,
            Mandate.revoked_at.is_(None),
            Mandate.valid_from <= day,
            or_(Mandate.valid_to.is_(None), Mandate.valid_to >= day),
        )
        .order_by(Employer.name, Mandate.id)
    ).all()
    return [
        MandateLine(m.id, en, name, m.kind, m.valid_from, m.valid_to)
        for m, en, name in rows
        if mandate_active(m.valid_from, m.valid_to, m.revoked_at, at)
    ]


def _provider(request: Request) -> tuple[auth.WebUser, Caller]:
    user = _user(request)
    if user.kind != "provider" or not user.organisation:
        raise NotFound("page not found", field="path")
    return user, Caller(
        client_pk=0, client_id=user.actor, organisation=user.organisation, scopes=PROVIDER_SCOPES
    )


def _acting(session: Session, caller: Caller, en: str, scope: Scope) -> tuple[Acting, MandateLine]:
    """The mandate the provider acts under for ``en`` (the API's ``acting_for``) and its kind;
    the provider's own company is not a mandate: as unknown."""
    acting = acting_for(session, caller, en, at=utcnow(), scope=scope)
    row = session.execute(
        select(Mandate, Employer.name)
        .join(Employer, Employer.id == Mandate.employer_id)
        .where(Mandate.id == acting.mandate_id)
    ).first()
    if acting.mandate_id is None or row is None:
        raise NotFound("employer not found", field="enterprise_number")
    m, name = row
    return acting, MandateLine(
        m.id, acting.enterprise_number, name, m.kind, m.valid_from, m.valid_to
    )


def _employed(session: Session, national_number: str, employer_id: int) -> None:
    """The API's check: the worker has an employment with the employer (an unknown person and
    a worker of another employer get the same answer)."""
    nn = NationalNumber.parse(national_number).value
    found = session.scalar(
        select(Employment.id)
        .join(Person, Person.id == Employment.person_id)
        .where(Person.national_number == nn, Employment.employer_id == employer_id)
        .limit(1)
    )
    if found is None:
        raise NotFound("no employment of this worker with this employer", field="national_number")


def build_router(container: Container, render: Renderer) -> APIRouter:  # noqa: PLR0915
    router = APIRouter()

    @router.get("/provider", response_class=HTMLResponse)
    def provider_home(request: Request) -> Response:
        _, caller = _provider(request)
        with container.uow() as uow:
            mandates = mandates_held(uow.session, caller.organisation, utcnow())
        return render(request, "provider_home.html", mandates=mandates)

    @router.get("/provider/{en}", response_class=HTMLResponse)
    def provider_employer(
        request: Request, en: str, year: str | None = None, cursor: str | None = None
    ) -> Response:
        _, caller = _provider(request)
        y = _year(year)
        with container.uow() as uow:
            acting, mandate = _acting(uow.session, caller, en, Scope.EMPLOYER_TRAININGS_WRITE)
            workers: dict[str, Any] | None = None
            if Scope.EMPLOYER_WORKERS_READ in acting.scopes:
                workers = employer_workers(
                    uow.session, acting.employer_id, y, cursor=cursor, limit=PAGE_SIZE
                )
                record_personal_data_access(
                    uow.session,
                    caller=caller,
                    acting=acting,
                    action="workers.list",
                    subjects={
                        "national_numbers": [w["national_number"] for w in workers["items"]],
                        "year": y,
                    },
                    request_id=f"web-{uuid.uuid4().hex}",
                )
            uow.commit()
        return render(
            request,
            "provider_employer.html",
            en=acting.enterprise_number,
            kind=mandate.kind,
            mandate=mandate,
            workers=workers,
            year=y,
            first_page=cursor is None,
        )

    def form_page(
        request: Request, en: str, kind: str, status: int = 200, **extra: Any
    ) -> Response:
        context: dict[str, Any] = {"form": {}, "results": None, **extra}
        return render(
            request,
            "provider_training_form.html",
            status=status,
            en=en,
            kind=kind,
            statuses=_statuses(kind),
            **context,
        )

    @router.get("/provider/{en}/trainings/new", response_class=HTMLResponse)
    def provider_new_training(request: Request, en: str) -> Response:
        _, caller = _provider(request)
        with container.uow() as uow:
            acting, mandate = _acting(uow.session, caller, en, Scope.EMPLOYER_TRAININGS_WRITE)
        return form_page(request, acting.enterprise_number, mandate.kind)

    @router.post("/provider/{en}/trainings", response_class=HTMLResponse)
    async def provider_create_trainings(request: Request, en: str) -> Response:
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        user, caller = _provider(request)
        with container.uow() as uow:
            acting, mandate = _acting(uow.session, caller, en, Scope.EMPLOYER_TRAININGS_WRITE)
            kind = mandate.kind
        form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
        numbers = list(
            dict.fromkeys(n.strip() for n in form.get("workers", "").split() if n.strip())
        )
        try:
            data = _training_data(form)
            if kind == ProviderKind.TRAINING_PROVIDER and data.status not in PROVIDER_STATUSES:
                raise ValidationError(
                    "a training provider registers planned or followed trainings only",
                    field="status",
                    code="status_not_allowed",
                )
            if not numbers or len(numbers) > MAX_BATCH:
                raise ValidationError(
                    f"1 to {MAX_BATCH} national numbers", field="workers", code="workers_required"
                )
        except DomainError as exc:
            return form_page(
                request, acting.enterprise_number, kind, status=422, form=form, error=exc
            )
        # the API's rule: records under a training provider's mandate are the provider's, "to
        # verify" by the employer; a secretariat or vendor records on the employer's behalf
        source = Source.PROVIDER if kind == ProviderKind.TRAINING_PROVIDER else Source.EMPLOYER
        batch = uuid.uuid4().hex[:12]
        results: list[dict[str, Any]] = []
        for i, number in enumerate(numbers):
            try:
                with container.uow() as uow:
                    _employed(uow.session, number, acting.employer_id)
                recorded = record_training(
                    container.uow(),
                    actor=user.actor,
                    source=source,
                    sender=caller.organisation,
                    sender_record_id=f"web-{batch}-{i}",
                    national_number=number,
                    enterprise_number=acting.enterprise_number,
                    data=data,
                )
                results.append({"national_number": number, "training_id": recorded.training_id})
            except DomainError as exc:
                results.append({"national_number": number, "error": exc})
        created = [r["national_number"] for r in results if "training_id" in r]
        with container.uow() as uow:
            record_personal_data_access(
                uow.session,
                caller=caller,
                acting=acting,
                action="trainings.create",
                subjects={"national_numbers": created},
                request_id=f"web-{batch}",
            )
            uow.commit()
        return form_page(
            request,
            acting.enterprise_number,
            kind,
            status=201 if created else 422,
            results=results,
            ok=len(created),
        )

    return router


def _statuses(kind: str) -> list[str]:
    if kind == ProviderKind.TRAINING_PROVIDER:
        return [Status.FOLLOWED.value, Status.PLANNED.value]
    return [Status.FOLLOWED.value, Status.PLANNED.value, Status.NOT_FOLLOWED.value]


DEMO_MANDATES = (
    (DEMO_EMPLOYER_PC200, ProviderKind.SOCIAL_SECRETARIAT),
    (DEMO_EMPLOYER_CONSULTING, ProviderKind.TRAINING_PROVIDER),
)


def load_demo_mandates(container: Container, *, since: date = date(2024, 1, 1)) -> int:
    """The demo provider persona's mandates (a social secretariat's for the software company,
    a training provider's for the consultancy), granted unless one is already in force.
    Idempotent; returns how many were granted."""
    granted = 0
    for employer, kind in DEMO_MANDATES:
        with container.uow() as uow:
            held = {
                m.enterprise_number
                for m in mandates_held(uow.session, auth.DEMO_PROVIDER, utcnow())
            }
        if employer in held:
            continue
        grant_mandate(
            container.uow(),
            employer=employer,
            provider=auth.DEMO_PROVIDER,
            kind=kind.value,
            valid_from=since,
            valid_to=None,
            actor="demo",
        )
        granted += 1
    return granted
