"""Mandates an employer grants to service providers, managed by the employer's own clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Security
from starlette.responses import Response

from ila.access.domain import Acting, Caller, Scope
from ila.access.service import acting_for, grant_mandate, list_mandates, revoke_mandate
from ila.api.idempotency import Outcome, run_post
from ila.api.problems import problem_responses
from ila.api.rights import EnterpriseNumberPath, IdempotencyKeyHeader
from ila.api.schemas import MandateOut, MandateRequest, RevokeRequest
from ila.api.security import container_of, current_caller
from ila.api.transaction import Transaction, request_transaction
from ila.db.base import utcnow

router = APIRouter(tags=["mandates"])


def _guard(caller: Caller, en: str, scope: Scope) -> Callable[[Transaction], Acting]:
    def guard(tx: Transaction) -> Acting:
        return acting_for(tx.session, caller, en, at=utcnow(), scope=scope, field="en")

    return guard


@router.get(
    "/employers/{en}/mandates",
    response_model=list[MandateOut],
    summary="List the mandates the employer granted",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def get_mandates(
    request: Request,
    en: EnterpriseNumberPath,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_MANDATES_READ])],
) -> Any:
    """All mandates, revoked and expired ones included (nothing is deleted)."""
    with request_transaction(container_of(request)) as tx:
        acting = _guard(caller, en, Scope.EMPLOYER_MANDATES_READ)(tx)
        return [asdict(m) for m in list_mandates(tx.session, acting.enterprise_number)]


@router.post(
    "/employers/{en}/mandates",
    response_model=MandateOut,
    status_code=201,
    summary="Grant a mandate to a service provider",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
)
def post_mandate(
    request: Request,
    en: EnterpriseNumberPath,
    body: MandateRequest,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_MANDATES_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The provider's clients may then act for the employer within the mandate's kind: a
    social secretariat or software vendor on all employer data, a training provider only to
    register trainings. Overlapping unrevoked mandates for one provider are refused (409)."""

    def work(tx: Transaction, acting: Acting) -> Outcome:
        view = grant_mandate(
            tx.container.uow(),
            employer=acting.enterprise_number,
            provider=body.provider,
            kind=body.kind.value,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            actor=caller.actor,
        )
        return Outcome.of(201, MandateOut.model_validate(asdict(view)))

    return run_post(
        request,
        caller,
        idempotency_key,
        body,
        _guard(caller, en, Scope.EMPLOYER_MANDATES_WRITE),
        work,
    )


@router.post(
    "/employers/{en}/mandates/{mandate_id}/revoke",
    response_model=MandateOut,
    summary="Revoke a mandate",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
)
def post_revoke(
    request: Request,
    en: EnterpriseNumberPath,
    mandate_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: RevokeRequest,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_MANDATES_WRITE])],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Ends the mandate now; it stays listed with who revoked it, when and why."""

    def work(tx: Transaction, acting: Acting) -> Outcome:
        view = revoke_mandate(
            tx.container.uow(),
            mandate_id,
            actor=caller.actor,
            reason=body.reason,
            employer=acting.enterprise_number,
        )
        return Outcome.of(200, MandateOut.model_validate(asdict(view)))

    return run_post(
        request,
        caller,
        idempotency_key,
        body,
        _guard(caller, en, Scope.EMPLOYER_MANDATES_WRITE),
        work,
    )
