"""Training rights of an employer's workers: read with derivation; set for one or many."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Security
from starlette.responses import Response

from ila.access.audit import record_personal_data_access
from ila.access.domain import Acting, Caller, Scope
from ila.access.service import acting_for
from ila.api.idempotency import Outcome, run_post
from ila.api.problems import problem_responses, request_id_of
from ila.api.schemas import (
    ItemError,
    ItemResult,
    RightExplanation,
    SetRightsRequest,
    SetRightsResponse,
)
from ila.api.security import container_of, current_caller
from ila.api.transaction import Transaction, request_transaction
from ila.db.base import utcnow
from ila.errors import NotFound
from ila.rights.service import SetRight, explain, set_rights

router = APIRouter(tags=["training rights"])

EnterpriseNumberPath = Annotated[
    str,
    Path(
        description="Enterprise number of the employer (10 digits, dots allowed).",
        examples=["0403019261"],
        max_length=20,
    ),
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        description="Any unique string (e.g. a UUID): sending the same request with the same "
        "key again returns the first answer and changes nothing.",
        min_length=1,
        max_length=200,
    ),
]
_READ_ERRORS = problem_responses(401, 403, 404, 422, 429)
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422, 429)


def _no_right(year: int) -> NotFound:
    # one message whether the person is unknown or works elsewhere: nothing leaks across tenants
    return NotFound(
        f"no employment of this worker with this employer in {year}", field="national_number"
    )


@router.get(
    "/employers/{en}/workers/{niss}/rights/{year}",
    response_model=RightExplanation,
    summary="Read a worker's training right, with its derivation",
    responses=_READ_ERRORS,
)
def read_right(
    request: Request,
    en: EnterpriseNumberPath,
    niss: Annotated[str, Path(description="NISS or BIS number of the worker.", max_length=20)],
    year: Annotated[int, Path(ge=2022, le=2100)],
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_READ])],
    as_of: Annotated[
        datetime | None,
        Query(description="The right as recorded at this moment (default: now)."),
    ] = None,
) -> Any:
    """Everything behind the right: headcount and its reference quarters, band, regime and its
    source, each factor, carry-over and expiry, per year of the window."""
    moment = as_of.replace(tzinfo=UTC) if as_of and as_of.tzinfo is None else as_of
    with request_transaction(container_of(request)) as tx:
        acting = acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_RIGHTS_READ, field="en"
        )
        try:
            result = explain(tx.container, niss, acting.enterprise_number, year, moment)
        except NotFound:
            raise _no_right(year) from None
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=acting,
            action="rights.read",
            subjects={"national_number": result["person"]["national_number"], "year": year},
            request_id=request_id_of(request),
        )
    return result


def _item_result(index: int, status: str, version: int | None, error: Any, year: int) -> ItemResult:
    if error is not None and error.get("code") == "not_found":
        error = {**error, "message": _no_right(year).message}
    return ItemResult.model_validate(
        {
            "index": index,
            "status": status,
            "version": version,
            "error": ItemError.model_validate(error) if error is not None else None,
        }
    )


@router.post(
    "/employers/{en}/rights",
    response_model=SetRightsResponse,
    summary="Register or change training rights for one worker or many",
    responses=_WRITE_ERRORS,
)
def post_rights(
    request: Request,
    en: EnterpriseNumberPath,
    body: SetRightsRequest,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Valid items are applied and invalid ones rejected, each with a stable code, a message
    and the JSON path of the offending field; ``days: null`` goes back to the computed value.
    Always 200 when the request itself is valid: look at each item's ``status``."""

    def guard(tx: Transaction) -> Acting:
        return acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_RIGHTS_WRITE, field="en"
        )

    def work(tx: Transaction, acting: Acting) -> Outcome:
        items = [
            SetRight(item.national_number, body.year, item.days, item.reason) for item in body.items
        ]
        results = set_rights(
            tx.container,
            enterprise_number=acting.enterprise_number,
            items=items,
            actor=caller.actor,
        )
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=acting,
            action="rights.write",
            subjects={
                # the persons whose right was changed (not the unchanged or rejected items)
                "national_numbers": [
                    body.items[r.index].national_number for r in results if r.status == "accepted"
                ],
                "year": body.year,
            },
            request_id=request_id_of(request),
        )
        answer = SetRightsResponse(
            year=body.year,
            accepted=sum(r.status == "accepted" for r in results),
            unchanged=sum(r.status == "unchanged" for r in results),
            rejected=sum(r.status == "rejected" for r in results),
            items=[_item_result(r.index, r.status, r.version, r.error, body.year) for r in results],
        )
        return Outcome.of(200, answer)

    return run_post(
        request,
        caller,
        idempotency_key,
        body,
        guard,
        work,
    )
