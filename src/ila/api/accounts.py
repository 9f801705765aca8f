"""A worker's learning account as the employer may see it: its own part only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Security

from ila.access.audit import record_personal_data_access
from ila.access.domain import Caller, Scope
from ila.access.service import acting_for
from ila.accounts.service import person_account
from ila.api.employers import AsOfQuery, YearQuery, utc
from ila.api.problems import problem_responses, request_id_of
from ila.api.read_schemas import Account
from ila.api.rights import EnterpriseNumberPath
from ila.api.security import container_of, current_caller
from ila.api.transaction import request_transaction
from ila.db.base import utcnow

router = APIRouter(tags=["accounts"])


@router.get(
    "/employers/{en}/workers/{niss}/account",
    response_model=Account,
    summary="Read a worker's learning account with this employer",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def read_account(
    request: Request,
    en: EnterpriseNumberPath,
    niss: Annotated[str, Path(description="NISS or BIS number of the worker.", max_length=20)],
    year: YearQuery,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.EMPLOYER_RIGHTS_READ])],
    as_of: AsOfQuery = None,
) -> Any:
    """The employer's part of the worker's account only: its ledger year (entitlement,
    carried in, used, balance, expiring, expiry date, departure) and the trainings recorded
    for it, by itself or its providers. Other employers' rights and trainings are never
    shown; a person with no account with this employer is *not found*, like an unknown one.
    Scope `employer:rights:read` (a social secretariat or software vendor may use it under a
    mandate)."""
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
        record_personal_data_access(
            tx.session,
            caller=caller,
            acting=acting,
            action="account.read",
            subjects={"national_number": account["person"]["national_number"], "year": year},
            request_id=request_id_of(request),
        )
    return account
