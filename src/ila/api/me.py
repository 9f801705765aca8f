"""A person's own learning account through the API, with the access token the person got from
the OpenID provider (RFC 9068 JWT access token, ADR 0018).

The person never names themself: the national number comes from the verified token. Machine
clients' tokens are refused here (``person_token_required``), and person tokens are refused on
every other route (they are not tokens of this platform's token endpoint)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.responses import Response

from ila.access.person_tokens import (
    ORGANISATION,
    InsufficientAssurance,
    Person,
    PersonTokenRequired,
    PersonTokenVerifier,
)
from ila.access.tokens import authenticate
from ila.accounts.service import person_account
from ila.api.employers import YearQuery
from ila.api.problems import REALM, domain_error_response, problem_responses, request_id_of
from ila.api.read_schemas import Account
from ila.api.security import client_address, container_of, limiter_of
from ila.api.transaction import request_transaction
from ila.audit.service import MAX_PAGE, consultations_of, record_event
from ila.db.base import utcnow
from ila.errors import InvalidToken, Unauthenticated

router = APIRouter(prefix="/me", tags=["my account"])

person_scheme = HTTPBearer(
    scheme_name="personToken",
    bearerFormat="JWT",
    description="A person's own access token: an RFC 9068 JWT access token (`typ` at+jwt) "
    "issued by the platform's OpenID provider (the federal authentication service) for this "
    "API's resource identifier (`aud`), from a login at an accepted assurance level (`acr`). "
    "Client-credentials tokens of this platform are refused here. See docs/api.md.",
    auto_error=False,
)

_VERIFIER_LOCK = threading.Lock()


def _verifier(request: Request) -> PersonTokenVerifier | None:
    state = request.app.state
    with _VERIFIER_LOCK:
        if not hasattr(state, "person_tokens"):
            state.person_tokens = PersonTokenVerifier.from_settings(container_of(request).settings)
    verifier: PersonTokenVerifier | None = state.person_tokens
    return verifier


def _machine_token(request: Request, token: str) -> bool:
    """Whether ``token`` is a valid access token of a machine client of this platform."""
    try:
        with container_of(request).uow() as uow:
            authenticate(uow.session, f"Bearer {token}", now=utcnow())
    except Unauthenticated:
        return False
    return True


def _person_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Person:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("an access token is required: Authorization: Bearer <token>")
    token = credentials.credentials.strip()
    if token.count(".") != 2:  # not a JWT: perhaps a machine client's opaque token
        if _machine_token(request, token):
            raise PersonTokenRequired(
                "this route serves a person's own account: call it with the access token "
                "the person got from the OpenID provider, not a client-credentials token"
            )
        raise InvalidToken("the access token is invalid, expired or not for this API")
    verifier = _verifier(request)
    if verifier is None:
        raise InvalidToken("person access tokens are not accepted: no OpenID provider is set")
    return verifier.verify(token)


def current_person(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(person_scheme)],
) -> Person:
    """The person the request's bearer token speaks for: 401 without a valid person token,
    403 for a machine client's token or a too-low assurance level; then the rate limit."""
    limiter = limiter_of(request)
    try:
        person = _person_of(request, credentials)
    except Unauthenticated:
        limiter.hit(f"ip:{client_address(request)}")  # slows down token guessing
        raise
    limiter.hit(f"person:{person.subject}")
    return person


def on_insufficient_assurance(request: Request, exc: Exception) -> Response:
    """403 with the RFC 9470 step-up challenge: which ``acr_values`` to log in again with."""
    assert isinstance(exc, InsufficientAssurance)  # noqa: S101 - registered for this type
    response = domain_error_response(request, exc)
    levels = " ".join(exc.details.get("accepted_acr", []))
    response.headers["WWW-Authenticate"] = (
        f'{REALM}, error="insufficient_user_authentication", '
        f'error_description="a higher assurance level is required", acr_values="{levels}"'
    )
    return response


CurrentPerson = Annotated[Person, Depends(current_person)]


@router.get(
    "/account",
    response_model=Account,
    summary="Read my own learning account",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def read_my_account(request: Request, year: YearQuery, person: CurrentPerson) -> Any:
    """The calling person's whole learning account for the year, across all employers: each
    employer's ledger year (entitlement, carried in, used, balance, expiring days, expiry
    date), the consolidated totals, and every training with its certificate, from every
    source. The person comes from the access token (never from the request); a person the
    platform knows nothing about is *not found*. The read is recorded in the audit trail with
    the person as actor."""
    with request_transaction(container_of(request)) as tx:
        account = person_account(tx.session, person.national_number, year, rules=tx.container.rules)
        record_event(
            tx.session,
            actor=person.actor,
            organisation=ORGANISATION,
            action="read",
            resource="account",
            request_id=request_id_of(request),
            subject_national_number=person.national_number,
            details={"year": year, "channel": "api", "acr": person.acr},
        )
    return account


class MyConsultation(BaseModel):
    """One read or change of my data: who, for whom, what, when."""

    occurred_at: datetime
    actor: str = Field(description="The API client, web user or person who acted.")
    organisation: str = Field(
        description="Enterprise number of the actor's organisation, or `person`/`platform`."
    )
    on_behalf_of: str | None = Field(description="The employer acted for, if any.")
    action: str = Field(examples=["read"])
    resource: str = Field(examples=["account"])
    request_id: str


class MyConsultationPage(BaseModel):
    items: list[MyConsultation] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Send as `cursor` for the next page; null on the last page."
    )


@router.get(
    "/consultations",
    response_model=MyConsultationPage,
    summary="Who consulted or changed my data",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def read_my_consultations(
    request: Request,
    person: CurrentPerson,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 50,
) -> Any:
    """Every recorded read or change of the calling person's data (by employers, service
    providers, institutions, the platform and the person themself), newest first, a page at a
    time. Reading this list is not itself recorded (it would add a line at each look)."""
    with container_of(request).uow() as uow:
        page = consultations_of(uow.session, person.national_number, limit=limit, cursor=cursor)
    return MyConsultationPage(
        items=[
            MyConsultation(
                occurred_at=c.occurred_at,
                actor=c.actor,
                organisation=c.organisation,
                on_behalf_of=c.on_behalf_of,
                action=c.action,
                resource=c.resource,
                request_id=c.request_id,
            )
            for c in page.items
        ],
        next_cursor=page.next_cursor,
    )
