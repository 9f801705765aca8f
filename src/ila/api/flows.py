"""The seed flows in the API: the FPIE training allowance for Bruxelles Formation's
pedagogical advisers (deliberation 22/086).

Like every institution call (``ila.api.exchange``), the path names the institution — the
caller's own organisation, any other is *not found* — and the call carries
``ILA-Legal-Context`` (the authorisation id) and ``ILA-Role`` (the role of the institution's
user). The exchange's full check (``ila.exchange.service.fpie_authorisation``: legal context,
purpose, party, validity, role, and a person-directory entry ``fpie_candidate`` covering the
trainee) runs before ONEM is asked; a refusal is 403 with its own code and is logged in its own
transaction. The computation, its inputs and the audit
entry are written in the request's transaction. The person-facing career-break route comes
with the web login (the service is ``ila.flows.service.career_break_possibilities``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Security
from pydantic import BaseModel, Field

from ila.access.domain import Caller, Scope
from ila.api.problems import problem_responses, request_id_of
from ila.api.schemas import Strict
from ila.api.security import container_of, current_caller
from ila.api.transaction import request_transaction
from ila.errors import Forbidden, NotFound
from ila.exchange.domain import Operation
from ila.exchange.service import fpie_authorisation, record_refusal
from ila.flows.fpie import FpieRequest
from ila.flows.rules import fpie_rules
from ila.flows.service import audit_fpie, compute_fpie
from ila.identity.domain import EnterpriseNumber

router = APIRouter(tags=["flows"])

_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class FpieIn(Strict):
    national_number: str = Field(max_length=20, description="NISS or BIS number of the trainee.")
    first_month: str = Field(pattern=_MONTH, examples=["2026-01"], description="YYYY-MM")
    last_month: str = Field(pattern=_MONTH, examples=["2026-06"], description="YYYY-MM")
    gross_monthly_salary: Decimal = Field(
        description="Gross monthly salary of the function, euros, two decimals at most.",
        examples=["2500.00"],
    )
    other_social_income: Decimal = Field(
        default=Decimal(0),
        description="Monthly social income ONEM does not know (social integration income), "
        "established by the adviser.",
        examples=["0"],
    )
    situation_date: date | None = Field(
        default=None, description="ONEM's situation on this day (default: the last known)."
    )


class FpieRequestOut(BaseModel):
    national_number: str
    first_month: str
    last_month: str
    gross_monthly_salary: str
    other_social_income: str
    situation_date: date | None


class PaymentOut(BaseModel):
    month: str
    amount_paid: str | None
    amount_approved: str | None
    progress: str = Field(examples=["paid", "approved", "in_verification"])


class FpieMonthOut(BaseModel):
    month: str
    gross_salary: str
    onss: str
    social_income: str
    social_income_basis: str = Field(
        examples=["paid", "approved", "theoretical_full", "theoretical_half", "none"]
    )
    other_social_income: str
    allowance: str


class FpieResultOut(BaseModel):
    rule_version: str
    case: str = Field(
        examples=[
            "full_time_unemployed",
            "part_time_unemployed",
            "sanction",
            "exclusion",
            "insertion_ended",
            "unknown_person",
        ]
    )
    onss_rate: str = Field(examples=["0.1307"])
    months: list[FpieMonthOut]
    total_allowance: str
    total_social_income: str
    review_from: date | None = Field(
        description="The situation may change on this day (end of a sanction): compute again."
    )


class FpieOut(BaseModel):
    """The allowance per month with how each figure was found, and ONEM's data as received.
    Stored for ten years (deliberation 22/086 §22) under ``id``."""

    id: int
    computed_at: datetime
    retain_until: date
    request: FpieRequestOut
    situation: dict[str, Any] = Field(
        description="ONEM's situation: `kind` (right, no_right, unknown_person) and, with a "
        "right, `right` (start_date, nature, allowance_type, daily_amount, "
        "half_allowances_per_month, insertion_end); without, `no_right` (reason, sanction, "
        "exclusion_start, insertion_end)."
    )
    payments: list[PaymentOut]
    result: FpieResultOut


@router.post(
    "/institutions/{en}/flows/fpie",
    response_model=FpieOut,
    summary="Compute an FPIE training allowance (Bruxelles Formation, deliberation 22/086)",
    responses=problem_responses(400, 401, 403, 404, 413, 422, 429),
)
def post_fpie(
    request: Request,
    en: Annotated[
        str,
        Path(
            description="Enterprise number of the institution: the caller's own organisation.",
            max_length=20,
        ),
    ],
    body: FpieIn,
    caller: Annotated[Caller, Security(current_caller, scopes=[Scope.INSTITUTION_FPIE_COMPUTE])],
    legal_context: Annotated[
        str | None,
        Header(
            alias="ILA-Legal-Context",
            description="The authorisation id of deliberation 22/086 (`csi-22-086-fpie`).",
            max_length=64,
        ),
    ] = None,
    role: Annotated[
        str | None,
        Header(
            alias="ILA-Role",
            description="The role of the institution's user: `fpie_pedagogical_adviser`.",
            max_length=40,
        ),
    ] = None,
) -> Any:
    """gross salary − 13.07 % ONSS − the trainee's social income, per month of the training
    contract, from ONEM's data (amounts paid or approved; for months not paid yet, the
    situation: a right projects the allowances, a part-time unemployed counts the theoretical
    half-allowances of their regime, a sanction, an exclusion, the end of insertion
    allowances or a person ONEM does not know count none). Only Bruxelles Formation, in the
    role `fpie_pedagogical_adviser`, under the legal context `csi-22-086-fpie` while it is in
    force, for a trainee its person directory holds as `fpie_candidate` on the day of the call;
    else 403 with the refusal's code (`role_not_allowed`, `legal_context_required`,
    `unknown_legal_context`, `purpose_not_authorised`, `party_not_authorised`,
    `authorisation_expired`, `no_directory_entry`), logged."""
    institution = EnterpriseNumber.parse(en, field="en").value
    if institution != caller.organisation:
        raise NotFound("institution not found", field="en")
    request_id = request_id_of(request)
    fpie_request = FpieRequest.parse(
        fpie_rules(),
        national_number=body.national_number,
        first_month=body.first_month,
        last_month=body.last_month,
        gross_monthly_salary=body.gross_monthly_salary,
        other_social_income=body.other_social_income,
        situation_date=body.situation_date,
    )
    try:
        with request_transaction(container_of(request)) as tx:
            outcome = compute_fpie(
                tx.container,
                request=fpie_request,
                actor=caller.actor,
                role=role or "",
                legal_context=legal_context or "",
                request_id=request_id,
                organisation=institution,
                authorise=fpie_authorisation,
            )
            audit_fpie(
                tx.session,
                caller=caller,
                outcome=outcome,
                role=role or "",
                legal_context=legal_context or "",
                request_id=request_id,
            )
    except Forbidden as exc:
        record_refusal(
            container_of(request),
            caller=caller,
            error=exc,
            operation=Operation.FPIE_ALLOWANCE,
            legal_context=legal_context,
            role=role,
            national_number=fpie_request.national_number,
            request_id=request_id,
        )
        raise
    return outcome.as_dict()
