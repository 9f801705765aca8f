"""A worker's learning account as the employer may see it: its own part only."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Path, Request, Response, Security
from fastapi.security import SecurityScopes
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, Route
from starlette.types import Scope as Scope_

from ila.access.domain import Acting, Caller, Scope
from ila.access.service import acting_for
from ila.accounts.aio import EmployerAccountRead
from ila.accounts.service import person_account
from ila.api.employers import AsOfQuery, YearQuery, utc
from ila.api.problems import problem_responses, request_id_of
from ila.api.read_schemas import Account
from ila.api.rights import EnterpriseNumberPath
from ila.api.security import (
    BearerToken,
    admit,
    aio_of,
    aio_of_scope,
    audit_appender_of,
    authenticated,
    bearer_token,
    container_of,
    refused,
)
from ila.api.transaction import request_transaction
from ila.audit.chain import append_or_defer
from ila.audit.service import access_entries
from ila.db.base import utcnow
from ila.errors import DomainError, Unauthenticated

JSON = "application/json"

router = APIRouter(tags=["accounts"])


PREFIX_PATH = "/employers/{en}/workers/{niss}/account"


@router.get(
    PREFIX_PATH,
    response_model=Account,
    summary="Read a worker's learning account with this employer",
    responses=problem_responses(401, 403, 404, 422, 429),
)
async def read_account(
    request: Request,
    en: EnterpriseNumberPath,
    niss: Annotated[str, Path(description="NISS or BIS number of the worker.", max_length=20)],
    year: YearQuery,
    token: Annotated[BearerToken, Security(bearer_token, scopes=[Scope.EMPLOYER_RIGHTS_READ])],
    as_of: AsOfQuery = None,
) -> Any:
    """The employer's part of the worker's account only: its ledger year (entitlement,
    carried in, used, balance, expiring, expiry date, departure) and the trainings recorded
    for it, by itself or its providers. Other employers' rights and trainings are never
    shown; a person with no account with this employer is *not found*, like an unknown one.
    Scope `employer:rights:read` (a social secretariat or software vendor may use it under a
    mandate)."""
    if not aio_of(request).available:
        caller = await authenticated(request, token)
        return await run_in_threadpool(_read_account, request, en, niss, year, caller, as_of)
    return await _read_account_async(request, token, en, niss, year, utc(as_of))


async def _read_account_async(
    request: Request,
    token: BearerToken,
    en: str,
    niss: str,
    year: int,
    as_of: datetime | None,
) -> Response:
    """On the event loop (ADR 0021): one statement checks the token and the mandate and reads
    the account; the audit entry is committed with those of concurrent reads, before the
    answer leaves."""
    container = container_of(request)
    try:
        read = EmployerAccountRead.prepare(container.rules, en, niss, year, as_of)
    except DomainError:
        await authenticated(request, token)  # a wrong token is a 401 before a wrong input
        raise
    # announced before the read: the audit group being formed waits for this request's
    # entry rather than leaving without it (ila.audit.aio)
    with audit_appender_of(request).expect() as audit:
        try:
            async with aio_of(request).reading() as connection:
                caller, acting, account = await read.run(
                    connection,
                    digest=token.digest,
                    now=utcnow(),
                    scope=Scope.EMPLOYER_RIGHTS_READ,
                    admit=lambda caller: admit(request, token, caller),
                )
        except Unauthenticated:
            refused(request)
            raise
        await audit.append(_audit(request, caller, acting, account, year))
    # the response model's JSON (the same keys and encodings: tests/api/
    # test_account_read_paths.py) by pydantic's serializer, straight from the document:
    # building the model from it first cost about a fifth of the route's own CPU
    return Response(pydantic_core.to_json(account), media_type=JSON)


_READ_SCOPES = SecurityScopes([Scope.EMPLOYER_RIGHTS_READ.value])
_PLAIN_YEAR = re.compile(rb"year=(202[2-9]|20[3-9][0-9]|2100)")  # YearQuery's range


class AccountReadRoute(Route):
    """The same read for its everyday request — ``GET …/account?year=YYYY``, nothing else in
    the query, the asynchronous database open — without FastAPI's per-request machinery
    (dependency solving, parameter models, response serialisation: about a third of the
    request's CPU). It is placed before the FastAPI route and declines (no match) anything
    else: another query parameter, a year out of range, an over-long path parameter, or
    the synchronous path; FastAPI then answers, with its own validation and errors. Errors
    of the read itself go through the API's exception handlers, as for every route."""

    def __init__(self) -> None:
        super().__init__(PREFIX_PATH, self.endpoint, methods=["GET"], include_in_schema=False)

    def matches(self, scope: Scope_) -> tuple[Match, Scope_]:
        match, child = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        params = child["path_params"]
        if (
            not _PLAIN_YEAR.fullmatch(scope.get("query_string", b""))
            or len(params["en"]) > 20
            or len(params["niss"]) > 20
            or not aio_of_scope(scope).available
        ):
            return Match.NONE, {}
        return match, child

    @staticmethod
    async def endpoint(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        token = await bearer_token(_READ_SCOPES, request, authorization)
        year = int(request.query_params["year"])
        params = request.path_params
        return await _read_account_async(request, token, params["en"], params["niss"], year, None)


def _audit(
    request: Request, caller: Caller, acting: Acting, account: dict[str, Any], year: int
) -> list[dict[str, object]]:
    return access_entries(
        caller=caller,
        acting=acting,
        action="account.read",
        subjects={"national_number": account["person"]["national_number"], "year": year},
        request_id=request_id_of(request),
    )


def _read_account(
    request: Request,
    en: str,
    niss: str,
    year: int,
    caller: Caller,
    as_of: datetime | None,
) -> Any:
    """The same read through the synchronous engine (SQLite; PostgreSQL without lifespan)."""
    with request_transaction(container_of(request)) as tx:
        acting = acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_RIGHTS_READ, field="en"
        )
        account = person_account(
            tx.session,
            niss,
            year,
            utc(as_of),
            rules=tx.container.rules,
            employer_id=acting.employer_id,
        )
        append_or_defer(tx.session, _audit(request, caller, acting, account, year))
    return account
