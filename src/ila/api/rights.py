"""Training rights of an employer's workers: read with derivation; set for one or many."""

from __future__ import annotations

from collections.abc import Callable
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
    OptOut,
    OptOutRequest,
    RevokeRequest,
    RightExplanation,
    RightsReviewSummary,
    SetRightsRequest,
    SetRightsResponse,
    VerifyRightsRequest,
    VerifyRightsResponse,
)
from ila.api.security import container_of, current_caller
from ila.api.transaction import Transaction, request_transaction
from ila.db.base import utcnow
from ila.errors import NotFound, ValidationError
from ila.rights.review import (
    OptOutView,
    list_opt_outs,
    opt_out,
    review_summary,
    verify_rights,
    withdraw_opt_out,
)
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

    guard = _writer(caller, en)

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


# --- the employer's review: verify the computed rights, opt out of the computation ----------

YearPath = Annotated[int, Path(ge=2022, le=2100, description="Year of the rights.")]


def _writer(caller: Caller, en: str) -> Callable[[Transaction], Acting]:
    """The guard of the write routes: may the caller write rights for this employer now?"""

    def guard(tx: Transaction) -> Acting:
        return acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_RIGHTS_WRITE, field="en"
        )

    return guard


def _audit_opt_out(
    request: Request, tx: Transaction, caller: Caller, acting: Acting, view: OptOutView
) -> None:
    subjects: dict[str, object] = {"year": view.year, "opt_out_id": view.id}
    if view.national_number is not None:  # a company-wide opt-out names no person
        subjects["national_number"] = view.national_number
    record_personal_data_access(
        tx.session,
        caller=caller,
        acting=acting,
        action="rights.opt_out",
        subjects=subjects,
        request_id=request_id_of(request),
    )


def _opt_out_out(view: OptOutView) -> OptOut:
    return OptOut.model_validate(view, from_attributes=True)


@router.get(
    "/employers/{en}/rights/{year}/review",
    response_model=RightsReviewSummary,
    summary="Where a year's computed rights stand: verified, to verify, overdue, opted out",
    responses=_READ_ERRORS,
)
def read_review(
    request: Request,
    en: EnterpriseNumberPath,
    year: YearPath,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_READ])],
) -> Any:
    """Counts of the year's current rights by review status, and every opt-out of the year.
    The right of each year is to be verified within 30 days of being recorded."""
    with request_transaction(container_of(request)) as tx:
        acting = acting_for(
            tx.session, caller, en, at=utcnow(), scope=Scope.EMPLOYER_RIGHTS_READ, field="en"
        )
        summary = review_summary(tx.session, acting.employer_id, year)
        opt_outs = list_opt_outs(tx.session, acting.employer_id, year)
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=acting,
            action="rights.review",
            subjects={
                "national_numbers": [o.national_number for o in opt_outs if o.national_number],
                "year": year,
            },
            request_id=request_id_of(request),
        )
    return RightsReviewSummary(
        year=summary.year,
        verified=summary.verified,
        to_verify=summary.to_verify,
        overdue=summary.overdue,
        opted_out=summary.opted_out,
        company_opted_out=summary.company_opted_out,
        opt_outs=[_opt_out_out(o) for o in opt_outs],
    )


@router.post(
    "/employers/{en}/rights/{year}/verifications",
    response_model=VerifyRightsResponse,
    summary="Verify the computed rights of one worker, many, or all",
    responses=_WRITE_ERRORS,
)
def post_verifications(
    request: Request,
    en: EnterpriseNumberPath,
    year: YearPath,
    body: VerifyRightsRequest,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Confirms the *current version* of each right; when the right changes later it is to
    verify again. Per item: ``accepted`` (verified now), ``unchanged`` (already verified) or
    ``rejected`` with its error. Give ``items`` or ``all_workers: true``."""

    guard = _writer(caller, en)

    def work(tx: Transaction, acting: Acting) -> Outcome:
        if (body.items is None) == (not body.all_workers):
            raise ValidationError(
                "give either items or all_workers: true", field="items", code="invalid_request"
            )
        results, verified = verify_rights(
            tx.container,
            enterprise_number=acting.enterprise_number,
            year=year,
            national_numbers=None
            if body.items is None
            else [i.national_number for i in body.items],
            actor=caller.actor,
        )
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=acting,
            action="rights.verify",
            subjects={"national_numbers": verified, "year": year},
            request_id=request_id_of(request),
        )
        answer = VerifyRightsResponse(
            year=year,
            accepted=sum(r.status == "accepted" for r in results),
            unchanged=sum(r.status == "unchanged" for r in results),
            rejected=sum(r.status == "rejected" for r in results),
            items=[
                ItemResult.model_validate(
                    {
                        "index": r.index,
                        "status": r.status,
                        "version": r.version,
                        "error": ItemError.model_validate(r.error) if r.error else None,
                    }
                )
                for r in results
            ],
        )
        return Outcome.of(200, answer)

    return run_post(request, caller, idempotency_key, body, guard, work)


@router.post(
    "/employers/{en}/rights/{year}/opt-outs",
    response_model=OptOut,
    status_code=201,
    summary="Opt out of the yearly computation (the company or one worker), with a reason",
    responses=_WRITE_ERRORS,
)
def post_opt_out(
    request: Request,
    en: EnterpriseNumberPath,
    year: YearPath,
    body: OptOutRequest,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The yearly computation then leaves those rights as they are and the employer registers
    them itself (``POST /employers/{en}/rights``). 409 ``already_opted_out`` when the same
    scope is already opted out."""

    guard = _writer(caller, en)

    def work(tx: Transaction, acting: Acting) -> Outcome:
        view = opt_out(
            tx.container,
            enterprise_number=acting.enterprise_number,
            year=year,
            national_number=body.national_number,
            reason=body.reason,
            actor=caller.actor,
        )
        _audit_opt_out(request, tx, caller, acting, view)
        return Outcome.of(201, _opt_out_out(view))

    return run_post(request, caller, idempotency_key, body, guard, work)


@router.post(
    "/employers/{en}/rights/{year}/opt-outs/{opt_out_id}/withdraw",
    response_model=OptOut,
    summary="Withdraw an opt-out; the next computation covers its scope again",
    responses=_WRITE_ERRORS,
)
def post_opt_out_withdraw(
    request: Request,
    en: EnterpriseNumberPath,
    year: YearPath,
    opt_out_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: RevokeRequest,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The opt-out stays in the history with who withdrew it, when and why."""

    guard = _writer(caller, en)

    def work(tx: Transaction, acting: Acting) -> Outcome:
        found = [
            o for o in list_opt_outs(tx.session, acting.employer_id, year) if o.id == opt_out_id
        ]
        if not found:
            raise NotFound("no such opt-out for this employer", field="opt_out_id")
        view = withdraw_opt_out(
            tx.container,
            enterprise_number=acting.enterprise_number,
            opt_out_id=opt_out_id,
            reason=body.reason,
            actor=caller.actor,
        )
        _audit_opt_out(request, tx, caller, acting, view)
        return Outcome.of(200, _opt_out_out(view))

    return run_post(request, caller, idempotency_key, body, guard, work)
