"""The counsellor's pages (a regional service's guidance counsellor): the service's open
dossiers (its person directory) and a person's learning account under the authorisation
``ila-guidance-consultation``, reduced to the items it allows.

The pages apply exactly the rules of the exchange API (``ila.exchange.service.read_account``:
legal context, party, validity, role, directory entry covering today) and audit the same way:
a read as ``account / exchange_read`` with the legal context, in the read's transaction; a
refused one as ``exchange / refused`` in its own transaction once the read's is over. A
person without an open dossier gets the same neutral answer whether or not they exist."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.requests import Request

from ila.access.domain import Caller, local_date
from ila.audit.service import record_personal_data_access
from ila.bootstrap import Container
from ila.db.base import utcnow
from ila.errors import DomainError, Forbidden, NotFound, ValidationError
from ila.exchange.directory import list_entries
from ila.exchange.domain import Operation
from ila.exchange.service import (
    current_authorisation,
    institution_acting,
    read_account,
    record_refusal,
)
from ila.identity.domain import NationalNumber
from ila.web import auth
from ila.web.pages import Renderer, _user, _year

GUIDANCE = "ila-guidance-consultation"
PAGE_SIZE = 20


def _counsellor(request: Request) -> tuple[auth.WebUser, Caller, str]:
    """The logged-in counsellor, as the exchange records its callers, and their role; any other
    user gets *not found*, as for a page that does not exist."""
    user = _user(request)
    if user.kind != "counsellor" or not user.organisation or not user.function:
        raise NotFound("page not found", field="path")
    caller = Caller(
        client_pk=0, client_id=user.actor, organisation=user.organisation, scopes=frozenset()
    )
    return user, caller, user.function


def _request_id() -> str:
    return f"web-{uuid.uuid4().hex}"


def build_router(container: Container, render: Renderer) -> APIRouter:
    router = APIRouter()

    def home(
        request: Request,
        caller: Caller,
        *,
        cursor: str | None = None,
        status: int = 200,
        **extra: Any,
    ) -> Response:
        with container.uow() as uow:
            page = list_entries(
                uow.session,
                institution=caller.organisation,
                active_on=local_date(utcnow()),
                cursor=cursor,
                limit=PAGE_SIZE,
            )
            # the directory names persons: listed like the exchange API lists it
            record_personal_data_access(
                uow.session,
                caller=caller,
                acting=institution_acting(caller),
                action="exchange.directory.list",
                subjects={"national_numbers": [e.national_number for e in page.items]},
                request_id=_request_id(),
            )
            authorisation = current_authorisation(uow.session, GUIDANCE)
            uow.commit()
        return render(
            request,
            "counsellor_home.html",
            status=status,
            entries=page.items,
            next_cursor=page.next_cursor,
            first_page=cursor is None,
            authorisation=authorisation,
            year=_year(None),
            **extra,
        )

    @router.get("/counsellor", response_class=HTMLResponse)
    def counsellor_home(request: Request, cursor: str | None = None) -> Response:
        _, caller, _ = _counsellor(request)
        return home(request, caller, cursor=cursor)

    @router.post("/counsellor/account", response_class=HTMLResponse)
    async def counsellor_account(request: Request) -> Response:
        # a POST: the national number stays out of addresses, logs and the browser history
        raw = await request.form()
        auth.check_csrf(request, raw.get(auth.CSRF_FIELD))
        _, caller, role = _counsellor(request)
        typed = raw.get("national_number")
        year_field = raw.get("year")
        year = _year(year_field if isinstance(year_field, str) else None)
        try:
            nn = NationalNumber.parse(typed.strip() if isinstance(typed, str) else "").value
        except ValidationError as exc:
            return home(request, caller, status=422, error=exc, typed=typed)
        request_id = _request_id()
        try:
            with container.uow() as uow:
                authorisation, account = read_account(
                    uow.session,
                    container.rules,
                    caller=caller.organisation,
                    legal_context=GUIDANCE,
                    role=role,
                    national_number=nn,
                    year=year,
                    at=utcnow(),
                )
                record_personal_data_access(
                    uow.session,
                    caller=caller,
                    acting=institution_acting(caller),
                    action="exchange.account.read",
                    subjects={"national_number": nn, "year": year, "role": role},
                    request_id=request_id,
                    legal_context=authorisation.id,
                )
                uow.commit()
        except (Forbidden, NotFound) as exc:
            _log_refusal(container, caller, exc, role, nn, request_id)
            # the same answer for a person without a dossier and for an unknown number
            return home(request, caller, no_dossier=True)
        return render(
            request,
            "counsellor_account.html",
            account=account,
            authorisation=authorisation,
            year=year,
        )

    return router


def _log_refusal(
    container: Container,
    caller: Caller,
    error: DomainError,
    role: str,
    national_number: str,
    request_id: str,
) -> None:
    record_refusal(
        container,
        caller=caller,
        error=error,
        operation=Operation.ACCOUNT_READ,
        legal_context=GUIDANCE,
        role=role,
        national_number=national_number,
        request_id=request_id,
    )
