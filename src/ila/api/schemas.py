"""Request and response bodies of the API (Pydantic): the public contract, in the OpenAPI
document. Channels parse and map only; rules live in the use cases."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ila.access.domain import ProviderKind


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- OAuth ---------------------------------------------------------------------------------


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type
    expires_in: int = Field(description="Seconds the token stays valid.", examples=[300])
    scope: str = Field(
        description="Granted scopes, space-separated.", examples=["employer:rights:read"]
    )


class OAuthErrorBody(BaseModel):
    """Token endpoint errors follow RFC 6749 §5.2, not problem details."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str


# --- rights --------------------------------------------------------------------------------


class Days(BaseModel):
    exact: str = Field(description="Exact value as a fraction.", examples=["10/3"])
    days: str = Field(description="Rounded to two decimals.", examples=["3.33"])
    text: str = Field(description="Days, hours and minutes.", examples=["3 days 2 h 32 min"])


class PersonRef(BaseModel):
    national_number: str
    name: str


class EmployerRef(BaseModel):
    enterprise_number: str
    name: str
    full_time_day_minutes: int


class Entitlement(BaseModel):
    status: Literal["preview", "recorded"] = Field(
        description="recorded: stored by the yearly computation or set by the employer; "
        "preview: computed now, not yet recorded."
    )
    version: int | None = None
    recorded_at: str | None = None
    recorded_by: str | None = None
    computed: Days | None = None
    set: Days | None = Field(default=None, description="The employer's own value, if any.")
    set_reason: str | None = None
    effective: Days | None = None


class LedgerYear(BaseModel):
    year: int
    window: list[int] = Field(description="First and last year of the carry-over window.")
    expires_on: date
    departure: str | None = None
    entitlement: Days | None = None
    carried_in: Days | None = None
    used: Days | None = None
    balance: Days | None = None
    carried_out: Days | None = None
    expiring: Days | None = None
    derivation: dict[str, Any]


class RightReview(BaseModel):
    """Where the current right stands in the employer's review (verify within 30 days)."""

    status: Literal["verified", "to_verify", "overdue", "opted_out"]
    version: int | None = Field(description="The version of the right this status is about.")
    due: datetime | None = Field(description="When the verification is due (30 days).")
    verified_at: datetime | None = None
    verified_by: str | None = None
    opt_out_id: int | None = None


class RightExplanation(BaseModel):
    """A worker's training right with one employer for one year, with everything behind it."""

    person: PersonRef
    employer: EmployerRef
    year: int
    as_of: str | None = None
    rule_version: str
    headcount: dict[str, Any] = Field(description="Headcount, reference quarters and band.")
    collective_pool: Days | None = None
    entitlement: Entitlement
    review: RightReview | None = Field(
        default=None, description="The employer's review (absent for past views and previews)."
    )
    derivation: dict[str, Any] = Field(description="Regime, its source and each factor.")
    ledger: list[LedgerYear]


class RightItem(Strict):
    national_number: str = Field(max_length=20, examples=["90010190123"])
    days: Decimal | None = Field(
        description="Days of right for the year; null goes back to the computed value.",
        examples=["4.5"],
    )
    reason: str = Field(max_length=500, examples=["company training policy"])


class SetRightsRequest(Strict):
    year: int = Field(ge=2022, le=2100, examples=[2024])
    items: list[RightItem] = Field(min_length=1, max_length=1000)


class ItemError(BaseModel):
    code: str = Field(examples=["invalid_national_number"])
    message: str
    path: str = Field(examples=["items[0].national_number"])
    field: str | None = None
    details: dict[str, Any] | None = None


class ItemResult(BaseModel):
    index: int
    status: Literal["accepted", "unchanged", "rejected"]
    version: int | None = Field(default=None, description="Version of the right now current.")
    error: ItemError | None = None


class SetRightsResponse(BaseModel):
    year: int
    accepted: int
    unchanged: int
    rejected: int
    items: list[ItemResult]


class WorkerRef(Strict):
    national_number: str = Field(max_length=20, examples=["90010190123"])


class VerifyRightsRequest(Strict):
    items: list[WorkerRef] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="The workers whose current right is verified; omit with all_workers.",
    )
    all_workers: bool = Field(
        default=False, description="Verify every worker with a recorded right this year."
    )


class VerifyRightsResponse(BaseModel):
    year: int
    accepted: int = Field(description="Verified now.")
    unchanged: int = Field(description="That version was already verified.")
    rejected: int
    items: list[ItemResult]


class OptOutRequest(Strict):
    national_number: str | None = Field(
        default=None,
        max_length=20,
        description="One worker; omit (or null) to opt the whole company out for the year.",
    )
    reason: str = Field(min_length=1, max_length=500, examples=["sector fund keeps the accounts"])


class OptOut(BaseModel):
    id: int
    year: int
    scope: Literal["company", "worker"]
    national_number: str | None
    reason: str
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdraw_reason: str | None


class RightsReviewSummary(BaseModel):
    """The employer's review of a year's computed rights."""

    year: int
    verified: int
    to_verify: int
    overdue: int = Field(description="Not verified 30 days after the version was recorded.")
    opted_out: int
    company_opted_out: bool
    opt_outs: list[OptOut] = Field(description="Every opt-out of the year, withdrawn included.")


# --- mandates ------------------------------------------------------------------------------


class MandateRequest(Strict):
    provider: str = Field(
        max_length=20, description="Enterprise number of the provider.", examples=["0403019261"]
    )
    kind: ProviderKind
    valid_from: date
    valid_to: date | None = Field(default=None, description="Last day; none: open-ended.")


class RevokeRequest(Strict):
    reason: str = Field(min_length=1, max_length=500)


class MandateOut(BaseModel):
    id: int
    employer: str
    provider: str
    kind: str
    valid_from: date
    valid_to: date | None
    granted_at: datetime
    granted_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    active: bool = Field(description="Whether the provider may act for the employer now.")
